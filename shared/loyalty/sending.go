package loyalty

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Defences against SMS pumping: fraudsters make a business send codes to
// numbers whose traffic pays them (premium-rate and shared-cost ranges, or
// whole ranges of a foreign operator), and the business pays for each SMS.
// Codes go by SMS only to numbers of the tenant's countries that the
// phone-number metadata calls mobile; every code counts against sliding-window
// limits per phone, per API key and per tenant, and on the public route per
// number range; the HTTP layer adds a limit per source address there.

// SendLimits cap the codes a tenant sends, per sliding minute and day. The
// staff limits (an API key's, and the tenant's over all its keys) and the
// public route's are counted apart, so a flood on the public page never uses
// up what the tills may send. A zero field takes pay-as-you-go's value.
type SendLimits struct {
	KeyPerMinute    int64 `json:"keyPerMinute" minimum:"0" doc:"Codes one API key may send per minute"`
	KeyPerDay       int64 `json:"keyPerDay" minimum:"0" doc:"Codes one API key may send per 24 hours"`
	TenantPerMinute int64 `json:"tenantPerMinute" minimum:"0" doc:"Codes all API keys together may send per minute"`
	TenantPerDay    int64 `json:"tenantPerDay" minimum:"0" doc:"Codes all API keys together may send per 24 hours"`
	PublicPerMinute int64 `json:"publicPerMinute" minimum:"0" doc:"Codes the public enrollment route may send per minute"`
	PublicPerDay    int64 `json:"publicPerDay" minimum:"0" doc:"Codes the public enrollment route may send per 24 hours"`
	// Marketing SMS (campaigns, expiry reminders) are counted apart from
	// the codes, so a mailing never stops customers from enrolling.
	MarketingPerMinute int64 `json:"marketingPerMinute,omitempty" minimum:"0" doc:"Campaign and reminder SMS per minute"`
	MarketingPerDay    int64 `json:"marketingPerDay,omitempty" minimum:"0" doc:"Campaign and reminder SMS per 24 hours"`
}

// Sending limits of the plans. A till enrolls a customer or two a minute
// (each waits for a code), so a key's minute limit is far above honest use
// and far below a script's; the day limits bound what a leaked key or a
// scripted public page can cost in a day.
var (
	FreeSending = SendLimits{KeyPerMinute: 5, KeyPerDay: 100, TenantPerMinute: 10, TenantPerDay: 200, PublicPerMinute: 5, PublicPerDay: 100,
		MarketingPerMinute: 60, MarketingPerDay: 1000}
	PAYGSending = SendLimits{KeyPerMinute: 10, KeyPerDay: 300, TenantPerMinute: 30, TenantPerDay: 2000, PublicPerMinute: 20, PublicPerDay: 500,
		MarketingPerMinute: 600, MarketingPerDay: 50000}
)

// withDefaults fills zero fields with pay-as-you-go's values, so that no
// plan, and no custom plan written before these limits existed, sends
// without a cap.
func (l SendLimits) withDefaults() SendLimits {
	def := PAYGSending
	for _, f := range []struct{ v, d *int64 }{
		{&l.KeyPerMinute, &def.KeyPerMinute}, {&l.KeyPerDay, &def.KeyPerDay},
		{&l.TenantPerMinute, &def.TenantPerMinute}, {&l.TenantPerDay, &def.TenantPerDay},
		{&l.PublicPerMinute, &def.PublicPerMinute}, {&l.PublicPerDay, &def.PublicPerDay},
		{&l.MarketingPerMinute, &def.MarketingPerMinute}, {&l.MarketingPerDay, &def.MarketingPerDay},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return l
}

// Limits that are not the plan's: per phone on each route (Service.SendLimit
// per Service.SendWindow, default 3 per 10 minutes) and per number range on
// the public route. A range is the number without its last 4 digits: pumping
// walks through the numbers of a range an operator pays it for.
const (
	PrefixSendLimit  = 5
	PrefixSendWindow = time.Hour
)

// Names of sending limits, in too_many_requests problems (details `limit`).
// The plan's are named as the fields of SendLimits.
const (
	LimitPhone           = "phone"  // codes to one phone, per route
	LimitPrefix          = "prefix" // codes to one number range, public route
	LimitIP              = "ip"     // public requests from one source address
	LimitKeyPerMinute    = "keyPerMinute"
	LimitKeyPerDay       = "keyPerDay"
	LimitTenantPerMinute = "tenantPerMinute"
	LimitTenantPerDay    = "tenantPerDay"
	LimitPublicPerMinute = "publicPerMinute"
	LimitPublicPerDay    = "publicPerDay"
)

// SendLimitNames lists every name a too_many_requests problem may carry.
var SendLimitNames = []string{LimitPhone, LimitPrefix, LimitIP, LimitKeyPerMinute, LimitKeyPerDay,
	LimitTenantPerMinute, LimitTenantPerDay, LimitPublicPerMinute, LimitPublicPerDay}

var limitMessages = map[string]string{
	LimitPhone:           "too many codes were sent to this phone",
	LimitPrefix:          "too many codes were sent to numbers of this range",
	LimitIP:              "too many requests from this address",
	LimitKeyPerMinute:    "this key sent too many codes in the last minute",
	LimitKeyPerDay:       "this key sent too many codes in the last 24 hours",
	LimitTenantPerMinute: "the business's keys sent too many codes in the last minute",
	LimitTenantPerDay:    "the business's keys sent too many codes in the last 24 hours",
	LimitPublicPerMinute: "the enrollment page sent too many codes in the last minute",
	LimitPublicPerDay:    "the enrollment page sent too many codes in the last 24 hours",
}

// RateLimit admits at most Max events of Scope in any Window-long interval.
type RateLimit struct {
	Name   string // named in the refusal (details `limit`)
	Scope  string // what is counted, within the tenant; may hold a phone number, so stores hash it
	Max    int64
	Window time.Duration
}

// TooManyRequests refuses a request at the limit name; wait says when to retry.
func TooManyRequests(name string, wait time.Duration) error {
	msg, ok := limitMessages[name]
	if !ok {
		msg = "too many requests"
	}
	return &Error{Code: CodeTooManyRequests, Message: msg + "; try again later", Details: Details{Limit: name, RetryAfter: wait}}
}

// sendLimits are the limits one code counts against. Every code counts, by
// SMS or email; the route decides which limits.
func (s *Enrollment) sendLimits(t *Tenant, req EnrollRequest, public bool) []RateLimit {
	l := t.Limits().Sending
	perPhone, window := int64(s.SendLimit), s.SendWindow
	if perPhone <= 0 {
		perPhone = DefaultSendLimit
	}
	if window <= 0 {
		window = DefaultSendWindow
	}
	const day = 24 * time.Hour
	if public {
		return []RateLimit{
			{Name: LimitPhone, Scope: "otp-public:" + req.Phone, Max: perPhone, Window: window},
			{Name: LimitPrefix, Scope: "otp-prefix:" + numberRange(req.Phone), Max: PrefixSendLimit, Window: PrefixSendWindow},
			{Name: LimitPublicPerMinute, Scope: "otp-public", Max: l.PublicPerMinute, Window: time.Minute},
			{Name: LimitPublicPerDay, Scope: "otp-public", Max: l.PublicPerDay, Window: day},
		}
	}
	return []RateLimit{
		{Name: LimitPhone, Scope: "otp-staff:" + req.Phone, Max: perPhone, Window: window},
		{Name: LimitKeyPerMinute, Scope: "otp-key:" + req.KeyID, Max: l.KeyPerMinute, Window: time.Minute},
		{Name: LimitKeyPerDay, Scope: "otp-key:" + req.KeyID, Max: l.KeyPerDay, Window: day},
		{Name: LimitTenantPerMinute, Scope: "otp-staff", Max: l.TenantPerMinute, Window: time.Minute},
		{Name: LimitTenantPerDay, Scope: "otp-staff", Max: l.TenantPerDay, Window: day},
	}
}

// numberRange is an E.164 number without its last 4 digits.
func numberRange(e164 string) string {
	if len(e164) <= 6 {
		return e164
	}
	return e164[:len(e164)-4]
}

// PhoneInfo is what the phone-number metadata tells about a number.
type PhoneInfo struct {
	Region string // ISO 3166-1 alpha-2 region of the number ("RU", "KZ"); "" when unknown
	Type   string // the metadata's type: "mobile", "fixed_line", "premium_rate", …
	// Texts: a code may go to it by SMS at the price of an SMS (a mobile
	// number, or one the metadata cannot tell from a fixed line).
	Texts bool
}

// checkSMSRecipient refuses, before anything is counted or sent, a number a
// code must not go to by SMS: one outside the tenant's SMS countries, or one
// the metadata says costs more than a text or cannot take one.
func (s *Enrollment) checkSMSRecipient(t *Tenant, e164 string) error {
	if s.ClassifyPhone == nil {
		// Fail closed: without the metadata nothing tells what a number costs.
		return errors.New("no phone-number metadata in this binary: codes cannot go by SMS")
	}
	info, err := s.ClassifyPhone(e164)
	if err != nil {
		return fmt.Errorf("classify phone: %w", err)
	}
	if allowed := t.SMSRegions(); !slices.Contains(allowed, info.Region) {
		return &Error{Code: CodeCountryNotAllowed, Field: "phone",
			Message: fmt.Sprintf("codes are sent by SMS only to numbers of %s", strings.Join(allowed, ", "))}
	}
	if !info.Texts {
		return &Error{Code: CodePhoneNotAllowed, Field: "phone",
			Message: fmt.Sprintf("codes are not sent by SMS to this kind of number (%s)", info.Type)}
	}
	return nil
}

// DefaultCountry is a tenant's country when none was given.
const DefaultCountry = "RU"

// SMSRegions are the regions of the numbers the tenant's codes may go to by
// SMS: its SMS countries, or else its own country.
func (t *Tenant) SMSRegions() []string {
	switch {
	case len(t.SMSCountries) > 0:
		return t.SMSCountries
	case t.Country != "":
		return []string{t.Country}
	}
	return []string{DefaultCountry}
}

var regionCode = regexp.MustCompile(`^[A-Z]{2}$`)

// regionSettings checks and normalises a tenant's country and SMS countries
// (ISO 3166-1 alpha-2, any case); no SMS countries means the country only.
func regionSettings(country string, sms []string) (string, []string, error) {
	country = strings.ToUpper(strings.TrimSpace(country))
	if country == "" {
		country = DefaultCountry
	}
	if !regionCode.MatchString(country) {
		return "", nil, Invalid("country", "country must be an ISO 3166-1 alpha-2 code such as RU")
	}
	var out []string
	for _, c := range sms {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !regionCode.MatchString(c) {
			return "", nil, Invalid("smsCountries", "SMS countries must be ISO 3166-1 alpha-2 codes such as RU, KZ")
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return country, out, nil
}
