// Package feed is the contract between the table's change stream and what
// consumes it (webhooks, wallet pushes, usage counting, report aggregates).
// The stream reader (a Lambda on DynamoDB Streams in the cloud, a poller over
// DynamoDB Local's stream on a laptop) decodes changed items into Events and
// hands each batch to every Sink. It imports nothing of the service, so
// consumers depend on this package and not on one another.
package feed

import (
	"context"
	"encoding/json"
	"time"
)

// Event types (../shared/API.md "Event feed and webhooks").
const (
	MemberEnrolled    = "member.enrolled"
	PointsAccrued     = "points.accrued"
	PointsRedeemed    = "points.redeemed" // points held on an open order
	PointsCaptured    = "points.captured"
	PointsReleased    = "points.released"
	PointsRefunded    = "points.refunded"
	PointsExpired     = "points.expired"
	PointsMatured     = "points.matured"
	PointsAdjusted    = "points.adjusted"
	MemberTierChanged = "member.tier_changed"
	MemberBlocked     = "member.blocked"
	MemberUnblocked   = "member.unblocked"
	// MemberReferralQualified: a referred member's first order closed; the
	// referral sink rewards both sides from it.
	MemberReferralQualified = "member.referral_qualified"
	// Test is sent by POST /v1/webhooks/{id}/test only; never from the stream.
	Test = "webhook.test"
)

// Types lists the event types a webhook may subscribe to.
var Types = []string{
	MemberEnrolled, PointsAccrued, PointsRedeemed, PointsCaptured, PointsReleased,
	PointsRefunded, PointsExpired, PointsMatured, PointsAdjusted,
	MemberTierChanged, MemberBlocked, MemberUnblocked, MemberReferralQualified,
}

// Event is one change as tenants see it. ID is derived only from the changed
// item's content (tenant, member, ledger seq, type), never drawn at random,
// so a redelivered stream record yields the same ID and receivers can
// deduplicate on it (it is the webhook-id header). Events of one member are
// ordered by Seq.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	TenantID   string          `json:"tenantId"`
	MemberID   string          `json:"memberId,omitempty"`
	Seq        int64           `json:"seq,omitempty"`
	OccurredAt time.Time       `json:"occurredAt"`
	Data       json.RawMessage `json:"data"`
}

// Sink consumes a batch of events decoded from the stream, in stream order
// (per member: in Seq order). A batch may be delivered again after a crash or
// a retry, so a Sink must be idempotent on Event.ID. Returning an error makes
// the reader retry the batch; a Sink must not return an error for one bad
// event it can never handle (log it and go on), or the shard stalls.
type Sink interface {
	Consume(ctx context.Context, events []Event) error
}
