package loyalty

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// NewID returns a random identifier with a prefix ("m_", "ch_", "p_").
func NewID(prefix string) string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// NewCardNumber draws a 16-digit card number with a Luhn check digit, so a
// mistyped number is caught at the till before any lookup.
func NewCardNumber() string {
	digits := make([]byte, 15)
	digits[0], digits[1] = '7', '7'
	for i := 2; i < 15; i++ {
		n, _ := rand.Int(rand.Reader, big.NewInt(10))
		digits[i] = byte('0' + n.Int64())
	}
	return string(digits) + string(byte('0'+luhnDigit(string(digits))))
}

func luhnDigit(payload string) int {
	sum := 0
	double := true
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

// ValidCardNumber checks the shape and check digit of a card number.
func ValidCardNumber(s string) bool {
	if len(s) < 8 || len(s) > 19 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return luhnDigit(s[:len(s)-1]) == int(s[len(s)-1]-'0')
}

// ChallengeID makes a challenge id that names its tenant, so the public verify
// route finds the challenge without an API key and without a global lookup.
func ChallengeID(tenantID string) string { return NewID("ch_") + "." + tenantID }

// TenantOfChallenge returns the tenant a challenge id names.
func TenantOfChallenge(id string) (string, bool) {
	_, t, ok := strings.Cut(id, ".")
	return t, ok && t != ""
}

// EnrollRequest starts an enrollment. Phone is already E.164.
type EnrollRequest struct {
	Phone     string
	Email     string
	Channel   string // "sms" (default) or "email"
	Name      string
	BirthDate string
	Terms     bool
	Marketing bool
	Card      string // a physical card handed out at the till (staff route only)
	KeyID     string // the staff key asking (its sending limits); "" on the public route
	// ReferralCode is the code of the member who referred the customer
	// (optional).
	ReferralCode string
}

// EnrollResult tells the caller where to send the code.
type EnrollResult struct {
	ChallengeID string    `json:"challengeId"`
	ExpiresAt   time.Time `json:"expiresAt"`
	CodeLength  int       `json:"codeLength"`
}

func (s *Enrollment) otpSettings() (length, attempts int, ttl time.Duration) {
	length, attempts, ttl = s.CodeLength, s.CodeAttempts, s.CodeTTL
	if length <= 0 {
		length = DefaultCodeLength
	}
	if attempts <= 0 {
		attempts = DefaultCodeAttempts
	}
	if ttl <= 0 {
		ttl = DefaultCodeTTL
	}
	return
}

// StartEnrollment sends a one-time code to the phone (or email). On the
// public route (public = true) it never tells whether the phone is a member:
// a member gets a code too, and verify answers already_enrolled to whoever
// proves they own the phone. Before anything is written or sent, it refuses
// numbers a code must not go to by SMS and counts the code against the
// sending limits (see sending.go).
func (s *Enrollment) StartEnrollment(ctx context.Context, tenantID string, idem Idem, req EnrollRequest, public bool) (EnrollResult, bool, error) {
	if !req.Terms {
		return EnrollResult{}, false, &Error{Code: CodeConsentRequired, Field: "consent.terms", Message: "the customer must accept the program terms"}
	}
	channel := req.Channel
	if channel == "" {
		channel = "sms"
	}
	if channel == "email" && req.Email == "" {
		return EnrollResult{}, false, Invalid("email", "email is required when the channel is email")
	}
	if public && req.Card != "" {
		// A pre-printed number claimed from a web page would let anyone
		// take a card off the pool: cards are handed out at the till.
		return EnrollResult{}, false, Invalid("card", "a card number is given by the cashier, not on the public route")
	}
	// The code goes out once the challenge is committed, and only by the
	// request that committed it: a replay sends nothing.
	var code Message
	res, replayed, err := idempotent(ctx, s.Core, tenantID, idem, lookingUp(ctx, s.Core, tenantID, idem, func() (EnrollResult, error) {
		t, err := s.Store.GetTenant(ctx, tenantID)
		if err != nil {
			return EnrollResult{}, err
		}
		if !t.CurrentProgram.Running(s.now()) {
			return EnrollResult{}, Errorf(CodeEnrollmentClosed, "the loyalty program is not taking new members")
		}
		if req.Card != "" {
			if _, err := s.chooseCard(ctx, tenantID, t.CurrentProgram, req.Card); err != nil {
				return EnrollResult{}, err
			}
		}
		if channel == "sms" {
			if err := s.checkSMSRecipient(t, req.Phone); err != nil {
				return EnrollResult{}, err
			}
		}
		if !public {
			if id, err := s.Store.ResolveMember(ctx, tenantID, MemberRef{Phone: req.Phone}); err != nil {
				return EnrollResult{}, err
			} else if id != "" {
				return EnrollResult{}, ErrAlreadyEnrolled
			}
		}
		var referrerID string
		if req.ReferralCode != "" {
			// Refused before any code is sent; the public route checks the
			// phone's own history only once the phone is proven (verify).
			if referrerID, err = s.referrerFor(ctx, tenantID, req, !public); err != nil {
				return EnrollResult{}, err
			}
		}
		if err := s.Store.Hit(ctx, tenantID, s.now(), s.sendLimits(t, req, public)...); err != nil {
			return EnrollResult{}, err
		}
		length, attempts, ttl := s.otpSettings()
		secret, err := s.Codes.New(length)
		if err != nil {
			return EnrollResult{}, err
		}
		now := s.now()
		ch := &Challenge{
			ID: ChallengeID(tenantID), TenantID: tenantID, Purpose: PurposeEnroll, Phone: req.Phone, Email: req.Email,
			Channel: channel, Name: req.Name, BirthDate: req.BirthDate, Marketing: req.Marketing, Card: req.Card,
			CodeLength: length, AttemptsLeft: attempts, ExpiresAt: now.Add(ttl), CreatedAt: now, ReferrerID: referrerID,
		}
		ch.CodeHash = s.Codes.Hash(ch.ID, secret)
		res := EnrollResult{ChallengeID: ch.ID, ExpiresAt: ch.ExpiresAt, CodeLength: length}
		rec, err := s.idemRecord(idem, res)
		if err != nil {
			return EnrollResult{}, err
		}
		if err := s.Store.PutChallenge(ctx, ch, rec, MeterFor(t, UseEnroll, now)); err != nil {
			return EnrollResult{}, err
		}
		to := req.Phone
		if channel == "email" {
			to = req.Email
		}
		code = Message{To: to, Channel: channel, SentAt: now,
			Body: fmt.Sprintf("%s is your code to join %s. It is valid for %d minutes.", secret, t.Name, int(ttl.Minutes()))}
		return res, nil
	}))
	if err != nil || replayed {
		return res, replayed, err
	}
	if err := s.Sender.Send(ctx, code); err != nil {
		return EnrollResult{}, false, fmt.Errorf("send code: %w", err)
	}
	return res, false, nil
}

// VerifyResult is the new member.
type VerifyResult struct {
	MemberID   string  `json:"memberId"`
	CardNumber string  `json:"cardNumber"`
	Balance    Balance `json:"balance"`
	// ReferralCode is the new member's own code to bring friends.
	ReferralCode string `json:"referralCode"`
	// Referral says what became of a referral code given at enrollment:
	// "pending" (rewarded after the first closed order) or the code of
	// the reason it was dropped (referral_self, referral_phone_used,
	// referral_code_unknown); absent without a code.
	Referral string `json:"referral,omitempty"`
}

// VerifyEnrollment checks the code and, when right, creates the member, the
// card and the welcome bonus in one transaction that also marks the challenge
// used, so a challenge verifies once.
//
// A referral the challenge carries is checked again with the phone proven:
// the customer's own code or a phone that was a member before drops the
// referral (the result says why) but not the enrollment, since the
// customer has done everything asked of them; the phone's history claim in
// the same transaction makes the check exact under concurrency.
func (s *Enrollment) VerifyEnrollment(ctx context.Context, tenantID string, idem Idem, challengeID, code string) (VerifyResult, bool, error) {
	var dropped Code // why the referral was dropped, once known
	return idempotent(ctx, s.Core, tenantID, idem, lookingUp(ctx, s.Core, tenantID, idem, func() (VerifyResult, error) {
		ch, err := s.Store.GetChallenge(ctx, tenantID, challengeID)
		if err != nil {
			return VerifyResult{}, err
		}
		if ch.Purpose != "" && ch.Purpose != PurposeEnroll {
			return VerifyResult{}, ErrChallengeNotFound // a sign-in code creates no member
		}
		now := s.now()
		switch {
		case ch.Used:
			return VerifyResult{}, Errorf(CodeOTPUsed, "this code was already used")
		case !now.Before(ch.ExpiresAt):
			return VerifyResult{}, Errorf(CodeOTPExpired, "the code has expired; ask for a new one")
		case ch.AttemptsLeft <= 0:
			return VerifyResult{}, Errorf(CodeOTPLocked, "too many wrong codes; ask for a new one")
		}
		if !s.Codes.Match(ch.CodeHash, ch.ID, code) {
			if err := s.Store.FailAttempt(ctx, tenantID, ch.ID, ch.AttemptsLeft); err != nil {
				return VerifyResult{}, err
			}
			left := ch.AttemptsLeft - 1
			return VerifyResult{}, &Error{Code: CodeOTPInvalid, Message: "wrong code", Details: Details{AttemptsLeft: ref(left)}}
		}
		t, err := s.Store.GetTenant(ctx, tenantID)
		if err != nil {
			return VerifyResult{}, err
		}
		p := t.CurrentProgram
		if !p.Running(now) {
			return VerifyResult{}, Errorf(CodeEnrollmentClosed, "the loyalty program is not taking new members")
		}
		card := CardChoice{Number: drawCard(p)}
		if ch.Card != "" {
			// Checked again: the pool may have changed since the code was sent.
			if card, err = s.chooseCard(ctx, tenantID, p, ch.Card); err != nil {
				return VerifyResult{}, err
			}
		}
		acct := Account{
			TenantID: tenantID, MemberID: NewID("m_"), ProgramID: p.ID, Phone: ch.Phone, Email: ch.Email,
			Name: ch.Name, BirthDate: ch.BirthDate, Marketing: ch.Marketing, Card: card.Number,
			Status: MemberActive, CreatedAt: now, ReferralCode: NewReferralCode(),
		}
		referral := ""
		if ch.ReferrerID != "" {
			if dropped == "" {
				if err := s.verifyReferral(ctx, tenantID, ch.ReferrerID, ch.Phone, ch.Email); err != nil {
					if CodeOf(err) == CodeInternal {
						return VerifyResult{}, err
					}
					dropped = CodeOf(err)
				}
			}
			referral = string(dropped)
			if dropped == "" {
				acct.Referral = &ReferralState{ReferrerID: ch.ReferrerID, Status: ReferralPending}
				referral = ReferralPending
			}
		}
		// The customer verifies, on the enrollment page or at the till.
		d := newMemberDraft(acct, now, Caller{TenantID: tenantID})
		if len(p.Tiers) > 0 {
			d.refreshTier(p) // the base tier from the first day
		}
		if wb := p.WelcomeBonus; wb != nil && wb.Points > 0 {
			lifetime := p.Lifetime()
			if wb.Lifetime != "" {
				lifetime = optionalDuration(wb.Lifetime)
			}
			var expires time.Time
			if !lifetime.IsZero() {
				expires = lifetime.AddTo(now)
			}
			lot := d.addLot(wb.Points, time.Time{}, expires, "")
			d.record(Entry{Kind: KindWelcome, Available: wb.Points, Lots: map[string]Points{lot.ID: wb.Points}})
		}
		c := d.Commit(tenantID)
		c.Enrollment = &EnrollmentWrite{ChallengeID: ch.ID, ChallengeAttempt: ch.AttemptsLeft, Phone: ch.Phone, Card: acct.Card, CardFromPool: card.FromPool, MemberLimit: t.Limits().Members,
			Referred: acct.Referral != nil}
		c.ReferralCode = acct.ReferralCode
		c.Meter = MeterFor(t, UseVerify, now)
		if t.ProgramType == "" {
			c.Enrollment.LockType, c.Enrollment.ProgramID = p.Type, p.ID
		}
		res := VerifyResult{MemberID: acct.MemberID, CardNumber: acct.Card, Balance: c.Account.Balance(), ReferralCode: acct.ReferralCode, Referral: referral}
		if c.Idem, err = s.idemRecord(idem, res); err != nil {
			return VerifyResult{}, err
		}
		if err := s.Store.Commit(ctx, c); err != nil {
			switch {
			case errors.Is(err, ErrCardTaken) && ch.Card != "":
				return VerifyResult{}, Errorf(CodeCardTaken, "this card is already bound to a member")
			case errors.Is(err, ErrCardTaken), errors.Is(err, ErrReferralCodeTaken):
				return VerifyResult{}, ErrConflict // draw another card number and code
			case errors.Is(err, ErrReferralPhoneUsed) && acct.Referral != nil:
				dropped = CodeReferralPhoneUsed // enroll without the referral
				return VerifyResult{}, ErrConflict
			}
			return VerifyResult{}, err
		}
		return res, nil
	}))
}
