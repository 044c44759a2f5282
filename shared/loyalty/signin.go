package loyalty

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Signing in on the card page: a member proves they hold the phone with a
// one-time code, through the same challenges, code hashing, attempt limit and
// sending limits as enrollment. The page keeps the member id in a signed
// session of its own; the domain only says whose phone answered.

// SignInStore marks a sign-in challenge used, conditioned on the attempts
// read and on it being unused, so one code signs in once.
type SignInStore interface {
	UseChallenge(ctx context.Context, tenantID, challengeID string, attemptsRead int) error
}

// StartSignIn sends a sign-in code to a member's phone. Like the public
// enrollment route it never tells whether the phone is a member: a number
// that is not gets the same answer and no message, and its code can never
// match. The code counts against the public route's sending limits of the
// phone, its number range and the tenant, before anything is sent.
func (s *Enrollment) StartSignIn(ctx context.Context, tenantID, e164 string) (EnrollResult, error) {
	t, err := s.Store.GetTenant(ctx, tenantID)
	if err != nil {
		return EnrollResult{}, err
	}
	if err := s.checkSMSRecipient(t, e164); err != nil {
		return EnrollResult{}, err
	}
	if err := s.Store.Hit(ctx, tenantID, s.now(), s.sendLimits(t, EnrollRequest{Phone: e164}, true)...); err != nil {
		return EnrollResult{}, err
	}
	length, attempts, ttl := s.otpSettings()
	now := s.now()
	res := EnrollResult{ChallengeID: ChallengeID(tenantID), ExpiresAt: now.Add(ttl), CodeLength: length}
	memberID, err := s.Store.ResolveMember(ctx, tenantID, MemberRef{Phone: e164})
	if err != nil || memberID == "" {
		return res, err // not a member: nothing stored, nothing sent
	}
	secret, err := s.Codes.New(length)
	if err != nil {
		return EnrollResult{}, err
	}
	ch := &Challenge{ID: res.ChallengeID, TenantID: tenantID, Purpose: PurposeSignIn, Phone: e164, Channel: "sms",
		CodeLength: length, AttemptsLeft: attempts, ExpiresAt: res.ExpiresAt, CreatedAt: now}
	ch.CodeHash = s.Codes.Hash(ch.ID, secret)
	if err := s.Store.PutChallenge(ctx, ch, nil, MeterFor(t, UseSignIn, now)); err != nil {
		return EnrollResult{}, err
	}
	msg := Message{To: e164, Channel: "sms", SentAt: now,
		Body: fmt.Sprintf("%s is your code to open your %s card. It is valid for %d minutes.", secret, t.Name, int(ttl.Minutes()))}
	if err := s.Sender.Send(ctx, msg); err != nil {
		return EnrollResult{}, fmt.Errorf("send code: %w", err)
	}
	return res, nil
}

// VerifySignIn checks a sign-in code and returns the member whose phone it
// went to. Wrong codes spend attempts as in enrollment; a right one is
// marked used, so it signs in once.
func (s *Enrollment) VerifySignIn(ctx context.Context, tenantID, challengeID, code string) (string, error) {
	ss, ok := s.Store.(SignInStore)
	if !ok {
		return "", errors.New("store does not support sign-in")
	}
	ch, err := s.Store.GetChallenge(ctx, tenantID, challengeID)
	if errors.Is(err, ErrChallengeNotFound) {
		// The phone was not a member's (or the challenge is gone): the same
		// answer as a wrong code, so the page tells nothing more.
		return "", &Error{Code: CodeOTPInvalid, Message: "wrong code"}
	}
	if err != nil {
		return "", err
	}
	if ch.Purpose != PurposeSignIn {
		return "", &Error{Code: CodeOTPInvalid, Message: "wrong code"}
	}
	now := s.now()
	switch {
	case ch.Used:
		return "", Errorf(CodeOTPUsed, "this code was already used")
	case !now.Before(ch.ExpiresAt):
		return "", Errorf(CodeOTPExpired, "the code has expired; ask for a new one")
	case ch.AttemptsLeft <= 0:
		return "", Errorf(CodeOTPLocked, "too many wrong codes; ask for a new one")
	}
	if !s.Codes.Match(ch.CodeHash, ch.ID, code) {
		if err := s.Store.FailAttempt(ctx, tenantID, ch.ID, ch.AttemptsLeft); err != nil {
			return "", err
		}
		return "", &Error{Code: CodeOTPInvalid, Message: "wrong code", Details: Details{AttemptsLeft: ref(ch.AttemptsLeft - 1)}}
	}
	if err := ss.UseChallenge(ctx, tenantID, ch.ID, ch.AttemptsLeft); err != nil {
		if errors.Is(err, ErrConflict) {
			return "", Errorf(CodeOTPUsed, "this code was already used")
		}
		return "", err
	}
	memberID, err := s.Store.ResolveMember(ctx, tenantID, MemberRef{Phone: ch.Phone})
	if err != nil {
		return "", err
	}
	if memberID == "" {
		return "", ErrMemberNotFound
	}
	return memberID, nil
}

// Statement is what the card page shows: the account (tier as of now) and
// the soonest expiry of its points.
type Statement struct {
	Account Account
	// Stats are the member's activity counters (tier progress).
	Stats Stats
	// NextExpiry is the soonest day points expire and how many; nil when
	// none will.
	NextExpiry *Expiry
}

// Expiry is an amount of points expiring at a time.
type Expiry struct {
	At     time.Time
	Points Points
}

// Statement reads a member's account and lots in one query.
func (s *Members) Statement(ctx context.Context, c Caller, memberID string) (Statement, error) {
	st, err := s.Store.LoadMember(ctx, c.TenantID, memberID)
	if err != nil {
		return Statement{}, err
	}
	out := Statement{Account: st.Account, Stats: st.Stats}
	if err := s.ensureReferralCode(ctx, c.TenantID, &out.Account); err != nil {
		return Statement{}, err
	}
	out.Account.Tier = st.Account.TierNow(s.now())
	out.NextExpiry = soonestExpiry(st.Lots)
	return out, nil
}

// soonestExpiry sums the points of the lots expiring on the first day any
// lot with points left expires.
func soonestExpiry(lots []Lot) *Expiry {
	var first time.Time
	for _, l := range lots {
		if l.Remaining > 0 && l.Expires() && (first.IsZero() || l.ExpiresAt.Before(first)) {
			first = l.ExpiresAt
		}
	}
	if first.IsZero() {
		return nil
	}
	day := first.UTC().Truncate(24 * time.Hour)
	e := &Expiry{At: first}
	for _, l := range lots {
		if l.Remaining > 0 && l.Expires() && l.ExpiresAt.UTC().Truncate(24*time.Hour).Equal(day) {
			e.Points += l.Remaining
		}
	}
	return e
}

// SendEnrollmentLink texts a customer the enrollment page's link, for the
// till's offline issue (seed 002): the customer fills the form later, on
// their own phone. It goes only to a number a code could go to, not to a
// member's, and counts against the key's and the tenant's sending limits
// like a code. base is the service's address (scheme://host).
func (s *Enrollment) SendEnrollmentLink(ctx context.Context, c Caller, e164, base string) error {
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return err
	}
	if !t.CurrentProgram.Running(s.now()) {
		return Errorf(CodeEnrollmentClosed, "the loyalty program is not taking new members")
	}
	if err := s.checkSMSRecipient(t, e164); err != nil {
		return err
	}
	if id, err := s.Store.ResolveMember(ctx, c.TenantID, MemberRef{Phone: e164}); err != nil {
		return err
	} else if id != "" {
		return ErrAlreadyEnrolled
	}
	if err := s.Store.Hit(ctx, c.TenantID, s.now(), s.sendLimits(t, EnrollRequest{Phone: e164, KeyID: c.KeyID}, false)...); err != nil {
		return err
	}
	name := t.Name
	if p := t.CurrentProgram; p != nil && p.Name != "" {
		name = p.Name
	}
	return s.Sender.Send(ctx, Message{To: e164, Channel: "sms", SentAt: s.now(),
		Body: fmt.Sprintf("%s: get your card here %s/j/%s", name, base, t.Slug)})
}
