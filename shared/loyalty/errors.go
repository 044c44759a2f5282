package loyalty

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable machine-readable error code (snake_case). Callers match on
// it, so a code, once published, never changes meaning. The HTTP layer owns the
// one table that turns codes into statuses.
type Code string

const (
	CodeInvalidRequest       Code = "invalid_request"
	CodeValidationFailed     Code = "validation_failed"
	CodeInvalidPhone         Code = "invalid_phone"
	CodeConsentRequired      Code = "consent_required"
	CodeAlreadyEnrolled      Code = "already_enrolled"
	CodeTooManyRequests      Code = "too_many_requests"
	CodeUnavailable          Code = "service_unavailable"
	CodePhoneNotAllowed      Code = "phone_not_allowed"         // a type of number codes are not sent to by SMS
	CodeCountryNotAllowed    Code = "phone_country_not_allowed" // a number outside the tenant's SMS countries
	CodeChallengeNotFound    Code = "challenge_not_found"
	CodeOTPInvalid           Code = "otp_invalid"
	CodeOTPLocked            Code = "otp_locked"
	CodeOTPExpired           Code = "otp_expired"
	CodeOTPUsed              Code = "otp_used"
	CodeMemberNotFound       Code = "member_not_found"
	CodeMemberBlocked        Code = "member_blocked"
	CodeOrderNotFound        Code = "order_not_found"
	CodeOrderClosed          Code = "order_closed"
	CodeOrderNotClosed       Code = "order_not_closed"
	CodeOrderMemberMismatch  Code = "order_member_mismatch"
	CodeInsufficientPoints   Code = "insufficient_points"
	CodeRedeemLimitExceeded  Code = "redeem_limit_exceeded"
	CodeRefundExceedsOrder   Code = "refund_exceeds_order"
	CodeRefundIDReused       Code = "refund_id_reused"
	CodeProgramNotFound      Code = "program_not_found"
	CodeNoActiveProgram      Code = "no_active_program"
	CodeProgramStatus        Code = "program_status_conflict"
	CodeActiveProgramExists  Code = "active_program_exists"
	CodeEnrollmentClosed     Code = "enrollment_closed"
	CodeNotBonusProgram      Code = "not_a_bonus_program"
	CodeProgramTypeLocked    Code = "program_type_locked"
	CodePlanLimit            Code = "plan_limit"
	CodeCodeWordMismatch     Code = "code_word_mismatch"
	CodeStaffNotFound        Code = "staff_not_found"
	CodePointOfSaleNotFound  Code = "point_of_sale_not_found"
	CodeIdempotencyKeyNeeded Code = "idempotency_key_required"
	CodeIdempotencyKeyReused Code = "idempotency_key_reused"
	CodeConflict             Code = "concurrent_update"
	CodeUnauthorized         Code = "unauthorized"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not_found"
	CodeTenantNotFound       Code = "tenant_not_found"
	CodeInternal             Code = "internal_error"

	// Referrals (referrals.go).
	CodeReferralCodeUnknown Code = "referral_code_unknown" // no member of this tenant has the code
	CodeReferralSelf        Code = "referral_self"         // the code is the enrolling customer's own
	CodeReferralPhoneUsed   Code = "referral_phone_used"   // the phone was a member (or referred) before

	// Webhooks (shared/webhooks).
	CodeWebhookNotFound     Code = "webhook_not_found"
	CodeDeadLetterNotFound  Code = "dead_letter_not_found"
	CodeWebhookLimit        Code = "webhook_limit"
	CodeWebhookDisabled     Code = "webhook_disabled"
	CodeCouponNotFound      Code = "coupon_not_found"
	CodeCouponExpired       Code = "coupon_expired"
	CodeCouponNotYetValid   Code = "coupon_not_yet_valid"
	CodeCouponExhausted     Code = "coupon_exhausted"
	CodeCouponGroupConflict Code = "coupon_group_conflict"
	CodeCouponNotApplicable Code = "coupon_not_applicable"
	CodeCouponCodeTaken     Code = "coupon_code_taken"

	// Reports (shared/reports).
	CodeReportRangeInvalid Code = "report_range_invalid"
	// Card numbers (cards.go).
	CodeCardNotInPool Code = "card_not_in_pool"
	CodeCardTaken     Code = "card_taken"
	// Campaigns and marketing consent (shared/campaigns).
	CodeCampaignNotFound        Code = "campaign_not_found"
	CodeSegmentEmpty            Code = "segment_empty"
	CodeTemplateUnknownVariable Code = "template_unknown_variable"
	CodeTemplateInvalid         Code = "template_invalid"
	CodeSendTimeInPast          Code = "send_time_in_past"
	CodeUnsubscribeTokenInvalid Code = "unsubscribe_token_invalid"
	CodeInboundSignatureInvalid Code = "inbound_signature_invalid"
)

// AllCodes lists every code the domain uses (the HTTP layer maps each to a status).
var AllCodes = []Code{
	CodeCardNotInPool,
	CodeCardTaken,
	CodeInvalidRequest,
	CodeValidationFailed,
	CodeInvalidPhone,
	CodeConsentRequired,
	CodeAlreadyEnrolled,
	CodeTooManyRequests,
	CodeChallengeNotFound,
	CodeOTPInvalid,
	CodeOTPLocked,
	CodeOTPExpired,
	CodeOTPUsed,
	CodeMemberNotFound,
	CodeMemberBlocked,
	CodeOrderNotFound,
	CodeOrderClosed,
	CodeOrderNotClosed,
	CodeOrderMemberMismatch,
	CodeInsufficientPoints,
	CodeRedeemLimitExceeded,
	CodeRefundExceedsOrder,
	CodeRefundIDReused,
	CodeProgramNotFound,
	CodeNoActiveProgram,
	CodeProgramStatus,
	CodeActiveProgramExists,
	CodeEnrollmentClosed,
	CodeNotBonusProgram,
	CodeProgramTypeLocked,
	CodeIdempotencyKeyNeeded,
	CodeIdempotencyKeyReused,
	CodeConflict,
	CodeUnauthorized,
	CodeForbidden,
	CodeNotFound,
	CodeTenantNotFound,
	CodeInternal,
	CodePlanLimit,
	CodeCodeWordMismatch,
	CodeStaffNotFound,
	CodePointOfSaleNotFound,
	CodeUnavailable,
	CodePhoneNotAllowed,
	CodeCountryNotAllowed,
	CodeReferralCodeUnknown,
	CodeReferralSelf,
	CodeReferralPhoneUsed,
	CodeWebhookNotFound,
	CodeDeadLetterNotFound,
	CodeWebhookLimit,
	CodeWebhookDisabled,
	CodeCouponNotFound,
	CodeCouponExpired,
	CodeCouponNotYetValid,
	CodeCouponExhausted,
	CodeCouponGroupConflict,
	CodeCouponNotApplicable,
	CodeCouponCodeTaken,
	CodeReportRangeInvalid,
	CodeGiftCardNotFound,
	CodeGiftCardExpired,
	CodeGiftCardInsufficient,
	CodeGiftCardExceedsOrder,
	CodeCampaignNotFound,
	CodeSegmentEmpty,
	CodeTemplateUnknownVariable,
	CodeTemplateInvalid,
	CodeSendTimeInPast,
	CodeUnsubscribeTokenInvalid,
	CodeInboundSignatureInvalid,
}

// Error is a domain error with a stable code. Field names the offending input
// field when there is one; Details carry the facts a caller acts on (for
// example attemptsLeft on a wrong one-time code).
type Error struct {
	Code    Code
	Message string
	Field   string
	Details Details
}

// Details are machine-readable facts of an error; nil and "" are absent
// (pointers, because zero is a meaningful count).
type Details struct {
	AttemptsLeft     *int    // otp_invalid: tries left
	MaxRedeemable    *Points // redeem_limit_exceeded: most points usable on the order
	MaxRedeemPercent string  // redeem_limit_exceeded: the share payable with points
	Available        *Points // insufficient_points
	Held             *Points // redeem_limit_exceeded at close: points held on the order
	Refundable       *Money  // refund_exceeds_order: money still refundable
	ActiveProgramID  string  // active_program_exists
	Limit            string  // plan_limit: which limit of the plan; too_many_requests: which sending limit

	// RetryAfter is how long to wait (header Retry-After): on
	// too_many_requests until the limit admits the request again if nothing
	// else is counted meanwhile; on service_unavailable, a throttled store.
	RetryAfter time.Duration
}

// ref returns a pointer to a copy of v, for Details.
func ref[T any](v T) *T { return &v }

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is makes errors.Is match on the code alone, so sentinel values below match
// any error carrying the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Errorf builds an error with a code and a message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeValidationFailed, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, or CodeInternal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinels for errors.Is.
var (
	ErrConflict           = &Error{Code: CodeConflict, Message: "the member changed concurrently; retry"}
	ErrAlreadyEnrolled    = &Error{Code: CodeAlreadyEnrolled, Message: "this phone is already a member"}
	ErrInsufficientPoints = &Error{Code: CodeInsufficientPoints, Message: "not enough points"}
	ErrMemberNotFound     = &Error{Code: CodeMemberNotFound, Message: "member not found"}
	ErrOrderNotFound      = &Error{Code: CodeOrderNotFound, Message: "order not found"}
	ErrProgramNotFound    = &Error{Code: CodeProgramNotFound, Message: "program not found"}
	ErrChallengeNotFound  = &Error{Code: CodeChallengeNotFound, Message: "enrollment challenge not found"}
	ErrTenantNotFound     = &Error{Code: CodeTenantNotFound, Message: "tenant not found"}
	ErrIdempotencyReused  = &Error{Code: CodeIdempotencyKeyReused, Message: "this Idempotency-Key was used with a different request"}
	ErrTooManyRequests    = &Error{Code: CodeTooManyRequests, Message: "too many requests; try again later"}
	ErrUnavailable        = &Error{Code: CodeUnavailable, Message: "the store is busy; try again shortly with the same Idempotency-Key", Details: Details{RetryAfter: time.Second}}
)

// ErrIdempotencyRace is returned by a store when the idempotency record of a
// commit already exists: a concurrent duplicate of the same request won. The
// service then reads that record and answers with it.
var ErrIdempotencyRace = errors.New("idempotency record written concurrently")

// ErrCardTaken is returned by a store when a generated card number collides;
// the caller draws another number.
var ErrCardTaken = errors.New("card number already issued")

// ErrReferralCodeTaken is returned by a store when a drawn referral code is
// already some member's; the caller draws another.
var ErrReferralCodeTaken = errors.New("referral code already issued")

// ErrReferralPhoneUsed: the phone has been a member of the tenant before,
// so a referral may not bring it in again.
var ErrReferralPhoneUsed = &Error{Code: CodeReferralPhoneUsed, Field: "referralCode", Message: "this phone has been a member before: a referral cannot bring it in again"}

// ErrReferralRewarded is returned by a store when the referee's reward
// record exists: the reward was given already (a redelivered event).
var ErrReferralRewarded = errors.New("referral already rewarded")

// ErrReferralLimit is returned by a store when the referrer's counter for
// the month has reached the program's limit.
var ErrReferralLimit = errors.New("referrer reached the monthly referral limit")

// ErrBirthdayCredited is returned by a store when the member's birthday
// record for the year exists: the bonus was credited already.
var ErrBirthdayCredited = errors.New("birthday bonus already credited this year")
