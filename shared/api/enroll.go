package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

type EnrollBody struct {
	Phone   string `json:"phone" minLength:"1" maxLength:"32" doc:"Phone in national or international form; stored as E.164"`
	Email   string `json:"email,omitempty" maxLength:"254" format:"email"`
	Channel string `json:"channel,omitempty" enum:"sms,email" doc:"Where to send the code (default sms)"`
	Card    string `json:"card,omitempty" maxLength:"19" pattern:"^[0-9]*$" doc:"Staff route only: the physical card handed to the customer, bound at verify (checked against the program's card rule)"`
	Profile *struct {
		Name      string `json:"name,omitempty" maxLength:"200"`
		BirthDate string `json:"birthDate,omitempty" format:"date"`
	} `json:"profile,omitempty"`
	ReferralCode string `json:"referralCode,omitempty" maxLength:"32" doc:"Referral code of the member who brought the customer (optional; case and dashes ignored). Unknown or of another tenant: 422 referral_code_unknown, nothing sent"`
	Consent      struct {
		Terms     bool `json:"terms" doc:"The customer accepts the program terms (required)"`
		Marketing bool `json:"marketing,omitempty" doc:"The customer agrees to marketing messages"`
	} `json:"consent"`
}

func (b *EnrollBody) domain(normalize PhoneNormalizer) (loyalty.EnrollRequest, error) {
	e164, err := normalizePhone(normalize, "phone", b.Phone)
	if err != nil {
		return loyalty.EnrollRequest{}, err
	}
	req := loyalty.EnrollRequest{Phone: e164, Email: trimmed(b.Email), Channel: b.Channel, Card: b.Card, Terms: b.Consent.Terms, Marketing: b.Consent.Marketing,
		ReferralCode: trimmed(b.ReferralCode)}
	if b.Profile != nil {
		req.Name, req.BirthDate = trimmed(b.Profile.Name), b.Profile.BirthDate
	}
	return req, nil
}

type EnrollInput struct {
	IdemOptional
	RawBody []byte
	Body    EnrollBody
}

func (s *server) registerEnroll(r routes.Route) {
	o := op(r, "Start enrolling a customer: send a one-time code", "enrollment")
	o.DefaultStatus = http.StatusCreated
	registerWrite(s, o, func(ctx context.Context, in *EnrollInput) (res loyalty.EnrollResult, replayed bool, err error) {
		req, err := in.Body.domain(s.deps.Phones)
		if err != nil {
			return res, false, err
		}
		c := callerOf(ctx)
		req.KeyID = c.KeyID
		return s.deps.Enrollment.StartEnrollment(ctx, c.TenantID, idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody), req, false)
	})
}

type PublicEnrollInput struct {
	TenantSlug string `path:"tenantSlug" pattern:"^[a-z0-9-]{1,64}$"`
	IdemOptional
	RawBody []byte
	Body    EnrollBody
}

// Public enrollment limits per source address (besides the sending limits
// of the domain), over a sliding window.
const (
	PublicLimit  = 20
	PublicWindow = 10 * time.Minute
)

func (s *server) registerPublicEnroll(r routes.Route) {
	o := op(r, "Start enrolling from a partner site or the enrollment page (no key)", "enrollment")
	o.DefaultStatus = http.StatusCreated
	o.Description = "Same as POST /v1/enrollments without an API key, rate limited per source address. It never reveals whether a phone is a member."
	registerWrite(s, o, func(ctx context.Context, in *PublicEnrollInput) (res loyalty.EnrollResult, replayed bool, err error) {
		t, err := s.deps.Tenancy.TenantBySlug(ctx, in.TenantSlug)
		if err != nil {
			return res, false, err
		}
		if s.deps.RateLimit != nil {
			if err := s.deps.RateLimit(ctx, t.ID+"|ip:"+sourceFromContext(ctx)); err != nil {
				return res, false, err
			}
		}
		req, err := in.Body.domain(s.deps.Phones)
		if err != nil {
			return res, false, err
		}
		return s.deps.Enrollment.StartEnrollment(ctx, t.ID, idemOf(in.IdempotencyKey, r.OperationID, []string{in.TenantSlug}, in.RawBody), req, true)
	})
}

type VerifyInput struct {
	ChallengeID   string `path:"challengeId" pattern:"^ch_[a-z0-9]{1,64}\\.t_[a-z0-9]{1,64}$" maxLength:"140"`
	Authorization string `header:"Authorization" maxLength:"200" doc:"Optional: a staff key of the tenant (a till verifying for its customers) is not limited per source address"`
	IdemOptional
	RawBody []byte
	Body    struct {
		Code string `json:"code" minLength:"1" maxLength:"16" pattern:"^[0-9]+$" doc:"The code sent to the customer"`
	}
}

// staffOf reports whether an optional bearer key belongs to the tenant.
func (s *server) staffOf(ctx context.Context, auth, tenantID string) bool {
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" {
		return false
	}
	c, err := s.deps.Tenancy.Authenticate(ctx, loyalty.HashAPIKey(strings.TrimSpace(key)))
	return err == nil && c.TenantID == tenantID
}

func (s *server) registerVerify(r routes.Route) {
	o := op(r, "Check the one-time code and create the member", "enrollment")
	o.DefaultStatus = http.StatusCreated
	o.Description = "Works with or without an API key: the challenge id identifies the enrollment. Five wrong codes lock it; it expires after ten minutes and verifies once."
	registerWrite(s, o, func(ctx context.Context, in *VerifyInput) (res loyalty.VerifyResult, replayed bool, err error) {
		tenantID, ok := loyalty.TenantOfChallenge(in.ChallengeID)
		if !ok {
			return res, false, loyalty.ErrChallengeNotFound
		}
		if s.deps.RateLimit != nil && !s.staffOf(ctx, in.Authorization, tenantID) {
			// Guessing codes across many challenges is slowed per source too.
			if err := s.deps.RateLimit(ctx, tenantID+"|verify-ip:"+sourceFromContext(ctx)); err != nil {
				return res, false, err
			}
		}
		return s.deps.Enrollment.VerifyEnrollment(ctx, tenantID, idemOf(in.IdempotencyKey, r.OperationID, []string{in.ChallengeID}, in.RawBody), in.ChallengeID, in.Body.Code)
	})
}
