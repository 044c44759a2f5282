package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Problem is an RFC 9457 problem+json body with our stable machine code.
// Optional fields carry the details a client acts on.
type Problem struct {
	Type     string `json:"type" doc:"URI naming the problem type" example:"https://loyalty.example/problems/insufficient_points"`
	Title    string `json:"title" doc:"Short summary of the status"`
	Status   int    `json:"status" doc:"HTTP status"`
	Detail   string `json:"detail,omitempty" doc:"What went wrong, for a human"`
	Code     string `json:"code" doc:"Stable machine-readable code (snake_case)" example:"insufficient_points"`
	Field    string `json:"field,omitempty" doc:"The input field at fault, when there is one"`
	Instance string `json:"instance,omitempty"`

	AttemptsLeft     *int           `json:"attemptsLeft,omitempty" doc:"Wrong one-time code: tries left"`
	MaxRedeemable    *int64         `json:"maxRedeemable,omitempty" doc:"Most points usable on this order"`
	MaxRedeemPercent string         `json:"maxRedeemPercent,omitempty"`
	Available        *int64         `json:"available,omitempty" doc:"Points available"`
	Held             *int64         `json:"held,omitempty"`
	Refundable       *int64         `json:"refundable,omitempty" doc:"Money still refundable on the order"`
	ActiveProgramID  string         `json:"activeProgramId,omitempty"`
	Limit            string         `json:"limit,omitempty" doc:"plan_limit: which limit of the plan was hit; too_many_requests: which sending limit (the plan's, named as in the usage report's limits.sending, or phone, prefix, ip)" enum:"pointsOfSale,staff,members,monthlyOperations,phone,prefix,ip,keyPerMinute,keyPerDay,tenantPerMinute,tenantPerDay,publicPerMinute,publicPerDay"`
	Errors           []*ErrorDetail `json:"errors,omitempty" doc:"Validation errors"`

	// RetryAfter (too_many_requests, service_unavailable) is sent as the Retry-After header, in
	// seconds, not in the body.
	RetryAfter int `json:"-"`
}

// ErrorDetail locates one validation error. Unlike huma's, it never echoes
// the value sent, which could be a phone number or a code.
type ErrorDetail struct {
	Location string `json:"location,omitempty" doc:"Where the error is, e.g. body.items[3].amount"`
	Message  string `json:"message" doc:"What is wrong"`
}

func (p *Problem) Error() string  { return p.Code + ": " + p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// GetHeaders gives huma the headers of a problem: Retry-After on a refusal
// by a rate limit (every 429 carries one; see documentErrors).
func (p *Problem) GetHeaders() http.Header {
	h := http.Header{}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	return h
}

// ContentType makes problems application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" || ct == "" {
		return "application/problem+json"
	}
	return ct
}

// statusOf is the one table from domain codes to HTTP statuses.
var statusOf = map[loyalty.Code]int{
	loyalty.CodeInvalidRequest:       http.StatusBadRequest,
	loyalty.CodeValidationFailed:     http.StatusUnprocessableEntity,
	loyalty.CodeInvalidPhone:         http.StatusBadRequest,
	loyalty.CodeConsentRequired:      http.StatusUnprocessableEntity,
	loyalty.CodeAlreadyEnrolled:      http.StatusConflict,
	loyalty.CodeTooManyRequests:      http.StatusTooManyRequests,
	loyalty.CodePhoneNotAllowed:      http.StatusUnprocessableEntity,
	loyalty.CodeCountryNotAllowed:    http.StatusUnprocessableEntity,
	loyalty.CodeReferralCodeUnknown:  http.StatusUnprocessableEntity,
	loyalty.CodeReferralSelf:         http.StatusUnprocessableEntity,
	loyalty.CodeReferralPhoneUsed:    http.StatusUnprocessableEntity,
	loyalty.CodeChallengeNotFound:    http.StatusNotFound,
	loyalty.CodeOTPInvalid:           http.StatusUnprocessableEntity,
	loyalty.CodeOTPLocked:            http.StatusLocked,
	loyalty.CodeOTPExpired:           http.StatusGone,
	loyalty.CodeOTPUsed:              http.StatusConflict,
	loyalty.CodeMemberNotFound:       http.StatusNotFound,
	loyalty.CodeMemberBlocked:        http.StatusForbidden,
	loyalty.CodeOrderNotFound:        http.StatusNotFound,
	loyalty.CodeOrderClosed:          http.StatusConflict,
	loyalty.CodeOrderNotClosed:       http.StatusConflict,
	loyalty.CodeOrderMemberMismatch:  http.StatusConflict,
	loyalty.CodeInsufficientPoints:   http.StatusConflict,
	loyalty.CodeRedeemLimitExceeded:  http.StatusUnprocessableEntity,
	loyalty.CodeRefundExceedsOrder:   http.StatusUnprocessableEntity,
	loyalty.CodeRefundIDReused:       http.StatusConflict,
	loyalty.CodeProgramNotFound:      http.StatusNotFound,
	loyalty.CodeNoActiveProgram:      http.StatusConflict,
	loyalty.CodeProgramStatus:        http.StatusConflict,
	loyalty.CodeActiveProgramExists:  http.StatusConflict,
	loyalty.CodeEnrollmentClosed:     http.StatusConflict,
	loyalty.CodeNotBonusProgram:      http.StatusConflict,
	loyalty.CodeProgramTypeLocked:    http.StatusConflict,
	loyalty.CodePlanLimit:            http.StatusPaymentRequired,
	loyalty.CodeCodeWordMismatch:     http.StatusUnprocessableEntity,
	loyalty.CodeStaffNotFound:        http.StatusNotFound,
	loyalty.CodePointOfSaleNotFound:  http.StatusNotFound,
	loyalty.CodeIdempotencyKeyNeeded: http.StatusBadRequest,
	loyalty.CodeIdempotencyKeyReused: http.StatusConflict,
	loyalty.CodeConflict:             http.StatusConflict,
	loyalty.CodeUnauthorized:         http.StatusUnauthorized,
	loyalty.CodeForbidden:            http.StatusForbidden,
	loyalty.CodeNotFound:             http.StatusNotFound,
	loyalty.CodeTenantNotFound:       http.StatusNotFound,
	loyalty.CodeInternal:             http.StatusInternalServerError,
	loyalty.CodeCouponNotFound:       http.StatusNotFound,
	loyalty.CodeCouponExpired:        http.StatusUnprocessableEntity,
	loyalty.CodeCouponNotYetValid:    http.StatusUnprocessableEntity,
	loyalty.CodeCouponExhausted:      http.StatusConflict,
	loyalty.CodeCardNotInPool:        http.StatusUnprocessableEntity,
	loyalty.CodeCardTaken:            http.StatusConflict,
	loyalty.CodeCouponGroupConflict:  http.StatusUnprocessableEntity,
	loyalty.CodeCouponNotApplicable:  http.StatusUnprocessableEntity,
	loyalty.CodeCouponCodeTaken:      http.StatusConflict,
	// Campaigns and marketing consent.
	loyalty.CodeCampaignNotFound:        http.StatusNotFound,
	loyalty.CodeSegmentEmpty:            http.StatusUnprocessableEntity,
	loyalty.CodeTemplateUnknownVariable: http.StatusUnprocessableEntity,
	loyalty.CodeTemplateInvalid:         http.StatusUnprocessableEntity,
	loyalty.CodeSendTimeInPast:          http.StatusUnprocessableEntity,
	loyalty.CodeUnsubscribeTokenInvalid: http.StatusNotFound,
	loyalty.CodeInboundSignatureInvalid: http.StatusUnauthorized,
	loyalty.CodeReportRangeInvalid:      http.StatusUnprocessableEntity,
	loyalty.CodeGiftCardNotFound:        http.StatusNotFound,
	loyalty.CodeGiftCardExpired:         http.StatusUnprocessableEntity,
	loyalty.CodeGiftCardInsufficient:    http.StatusConflict,
	loyalty.CodeGiftCardExceedsOrder:    http.StatusUnprocessableEntity,
	codeMethodNotAllowed:                http.StatusMethodNotAllowed,
	codeBodyTooLarge:                    http.StatusRequestEntityTooLarge,
	codeUnsupportedMedia:                http.StatusUnsupportedMediaType,
	codeWalletNotConfigured:             http.StatusNotFound,
	codeAppleCertificateNotFound:        http.StatusNotFound,
	codeInvalidCertificate:              http.StatusUnprocessableEntity,
	loyalty.CodeUnavailable:             http.StatusServiceUnavailable,
	loyalty.CodeWebhookNotFound:         http.StatusNotFound,
	loyalty.CodeDeadLetterNotFound:      http.StatusNotFound,
	loyalty.CodeWebhookLimit:            http.StatusUnprocessableEntity,
	loyalty.CodeWebhookDisabled:         http.StatusConflict,
}

// Codes only the HTTP layer produces.
const (
	codeMethodNotAllowed loyalty.Code = "method_not_allowed"
	codeBodyTooLarge     loyalty.Code = "body_too_large"
	codeUnsupportedMedia loyalty.Code = "unsupported_media_type"
)

// AllCodes lists every code the API can answer with (for the docs).
func AllCodes() []string {
	out := make([]string, 0, len(statusOf))
	for c := range statusOf {
		out = append(out, string(c))
	}
	return out
}

// StatusOf returns the HTTP status a code is answered with (500 for a code
// the API does not have).
func StatusOf(code string) int {
	if st, ok := statusOf[loyalty.Code(code)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

func newProblem(code loyalty.Code, detail string) *Problem {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &Problem{
		Type:   "https://loyalty.example/problems/" + string(code),
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   string(code),
	}
}

// problemOf turns any error from the domain into a Problem. Errors without a
// code are internal: their text is not shown to the caller.
func problemOf(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var de *loyalty.Error
	if !errors.As(err, &de) {
		return newProblem(loyalty.CodeInternal, "internal error")
	}
	pr := newProblem(de.Code, de.Message)
	pr.Field = de.Field
	if de.Field != "" {
		pr.Errors = []*ErrorDetail{{Location: "body." + de.Field, Message: de.Message}}
	}
	d := de.Details
	pr.AttemptsLeft = d.AttemptsLeft
	pr.MaxRedeemable = int64Of(d.MaxRedeemable)
	pr.MaxRedeemPercent = d.MaxRedeemPercent
	pr.Available = int64Of(d.Available)
	pr.Held = int64Of(d.Held)
	pr.Refundable = int64Of(d.Refundable)
	pr.ActiveProgramID = d.ActiveProgramID
	pr.Limit = d.Limit
	if d.RetryAfter > 0 {
		pr.RetryAfter = int((d.RetryAfter + time.Second - 1) / time.Second) // whole seconds, rounded up
	}
	return pr
}

// int64Of converts an optional amount to its JSON form.
func int64Of[T ~int64](v *T) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

// newHumaError replaces huma.NewError so that errors huma raises itself
// (malformed JSON, schema violations, body limits) carry our codes too.
func newHumaError(status int, msg string, errs ...error) huma.StatusError {
	code := loyalty.CodeInternal
	switch status {
	case http.StatusBadRequest:
		code = loyalty.CodeInvalidRequest
	case http.StatusUnprocessableEntity:
		code = loyalty.CodeValidationFailed
	case http.StatusNotFound:
		code = loyalty.CodeNotFound
	case http.StatusMethodNotAllowed:
		code = codeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		code = codeBodyTooLarge
	case http.StatusUnsupportedMediaType:
		code = codeUnsupportedMedia
	case http.StatusUnauthorized:
		code = loyalty.CodeUnauthorized
	case http.StatusForbidden:
		code = loyalty.CodeForbidden
	}
	p := newProblem(code, msg)
	p.Status = status
	p.Title = http.StatusText(status)
	for _, e := range errs {
		if e == nil {
			continue
		}
		d := &ErrorDetail{Message: e.Error()}
		var hd huma.ErrorDetailer
		if errors.As(e, &hd) {
			det := hd.ErrorDetail()
			d = &ErrorDetail{Location: det.Location, Message: det.Message}
		}
		if strings.EqualFold(d.Location, "header.Idempotency-Key") && strings.Contains(d.Message, "required") {
			// A missing key on a balance write has its own code.
			p = newProblem(loyalty.CodeIdempotencyKeyNeeded, "this request changes balances and needs an Idempotency-Key header")
		}
		if p.Field == "" && strings.HasPrefix(d.Location, "body.") {
			p.Field = strings.TrimPrefix(d.Location, "body.")
		}
		p.Errors = append(p.Errors, d)
	}
	if status == http.StatusUnprocessableEntity && p.Code == string(loyalty.CodeValidationFailed) {
		for _, d := range p.Errors {
			if field, code, ok := fieldCode(d); ok {
				q := newProblem(code, msg)
				q.Field, q.Errors = field, p.Errors
				p = q
				break
			}
		}
	}
	if status == http.StatusInternalServerError {
		p.Detail, p.Errors = "internal error", nil
	}
	return p
}

func init() {
	huma.NewError = newHumaError
}

// problem turns err into a Problem and logs errors that are ours (5xx)
// with their cause, which the caller never sees.
func (s *server) problem(ctx context.Context, err error) *Problem {
	p := problemOf(err)
	if p.Status >= 500 {
		s.deps.Logger.ErrorContext(ctx, "internal error", "error", err.Error())
	}
	return p
}
