// Package campaigns sends a tenant's marketing messages (SMS, email, wallet
// push) to the members of a segment who agreed to receive them, in the
// background and at most once per member, and keeps the members' marketing
// consent: the card page, a signed unsubscribe link and a STOP reply change
// it. Expiry reminders go through the same sending path.
//
// It holds the decisions (segments, templates, consent tokens) and the
// worker; the store keeps campaigns and their per-recipient records.
package campaigns

import (
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Channels a campaign can go by.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
	ChannelPush  = "push" // the wallet pass's change message
)

// Campaign statuses. A campaign is scheduled until its send time, sending
// while the worker works through its segment (paused ones wait in it for a
// rate limit), and done when every member of the segment has a record;
// halted when the plan's monthly operations ran out.
const (
	StatusScheduled = "scheduled"
	StatusSending   = "sending"
	StatusDone      = "done"
	StatusHalted    = "halted"
)

// Segment selects members. Every field set must hold; none set selects
// every member. Consent is not a criterion: members of the segment
// without it are counted as skipped.
type Segment struct {
	Tier       string `json:"tier,omitempty" maxLength:"64" doc:"Members holding this tier now"`
	Group      string `json:"group,omitempty" maxLength:"64" doc:"Members of this customer group (PUT /v1/members/{id}/groups)"`
	BirthMonth int    `json:"birthMonth,omitempty" minimum:"0" maximum:"12" doc:"Members born in this month (1-12)"`
	// Spend is the money the member spent within SpentPeriod.
	SpentFrom   loyalty.Money `json:"spentFrom,omitempty" minimum:"0" doc:"Spent at least this much (minor units) within spentPeriod"`
	SpentTo     loyalty.Money `json:"spentTo,omitempty" minimum:"0" doc:"Spent at most this much (minor units) within spentPeriod; 0: no upper bound"`
	SpentPeriod string        `json:"spentPeriod,omitempty" maxLength:"32" doc:"ISO 8601 trailing period of spentFrom/spentTo, at most 92 days; default P30D"`
	InactiveFor string        `json:"inactiveFor,omitempty" maxLength:"32" doc:"ISO 8601: no visit within this trailing period (at most 92 days), e.g. P30D"`
	// LastPointOfSale is where the member's latest visit was.
	LastPointOfSale string `json:"lastPointOfSale,omitempty" maxLength:"64" doc:"Members whose latest visit was at this point of sale"`
}

// Counts are a campaign's delivery counts. Targeted members are those of the
// segment; each ends in exactly one of the other counts (Pending: not yet).
type Counts struct {
	Targeted         int64 `json:"targeted" minimum:"0" doc:"Members of the segment reached so far"`
	Sent             int64 `json:"sent" minimum:"0" doc:"Messages handed to the gateway"`
	SkippedNoConsent int64 `json:"skippedNoConsent" minimum:"0" doc:"Members of the segment without marketing consent: nothing sent"`
	SkippedNoAddress int64 `json:"skippedNoAddress" minimum:"0" doc:"Members with consent but no address for the channel (no email)"`
	Failed           int64 `json:"failed" minimum:"0" doc:"Messages the gateway refused"`
	// Interrupted: the worker stopped between claiming a member and
	// recording the outcome. The message may have gone out; it is never
	// sent again (at most once).
	Interrupted int64 `json:"interrupted" minimum:"0" doc:"Worker stopped between claiming and recording: the message may have gone; never resent"`
}

// Campaign is one mailing.
type Campaign struct {
	ID         string    `json:"campaignId"`
	TenantID   string    `json:"-"`
	Name       string    `json:"name"`
	Channel    string    `json:"channel" enum:"sms,email,push"`
	Segment    Segment   `json:"segment"`
	Text       string    `json:"text"`
	SendAt     time.Time `json:"sendAt"`
	Status     string    `json:"status" enum:"scheduled,sending,done,halted"`
	HaltReason string    `json:"haltReason,omitempty"`
	Counts     Counts    `json:"counts"`
	CreatedAt  time.Time `json:"createdAt"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
}

// Recipient record states. A record is written, conditioned on its absence,
// before anything is sent to the member: it is what makes sending at most
// once per member and campaign.
const (
	RecClaimed     = "claimed" // about to be sent
	RecSent        = "sent"
	RecFailed      = "failed"
	RecInterrupted = "interrupted"
	RecNoConsent   = "skippedNoConsent"
	RecNoAddress   = "skippedNoAddress"
)
