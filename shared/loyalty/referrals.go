package loyalty

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Referrals (seed 002: every member has a personal code to bring friends).
//
// A member's code is drawn at enrollment and claimed by a uniqueness item in
// the enrollment's own transaction (members enrolled before codes existed get
// one the first time their record or card page is read, see
// ensureReferralCode). A customer enrolling with a code becomes the
// referee: the account keeps who referred it (ReferralState, pending). The
// referee's first closed order marks it qualified in the close's own write
// of the account item (no extra item, no extra round trip on the hot path);
// the table's stream turns that change into a member.referral_qualified
// event, and the referral sink rewards both sides in one transaction of its
// own (RewardReferral): the two accounts with their ledger entries and lots,
// a reward record per referee (once, ever) and the referrer's counter for the
// month, conditioned on the program's limit.
//
// A refund of the first order does not take the rewards back: the referee
// was brought and bought; the points are ordinary points that expire with
// the program's lifetime, and the monthly limit bounds what a buy-and-refund
// scheme can farm.

// Referrals rewards referrals from the feed.
type Referrals struct{ *Core }

// referralAlphabet has no 0/O, 1/I/L: a code read aloud or typed from a
// screen has one spelling.
const referralAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// ReferralCodeLength gives 31^7 ≈ 2.7·10^10 codes per tenant.
const ReferralCodeLength = 7

// NewReferralCode draws a code; its uniqueness is claimed by the write.
func NewReferralCode() string {
	b := make([]byte, ReferralCodeLength)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(referralAlphabet))))
		b[i] = referralAlphabet[n.Int64()]
	}
	return string(b)
}

// NormalizeReferralCode accepts a code in any case with spaces or dashes and
// returns its stored form, or false when it cannot be a code.
func NormalizeReferralCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s)))
	if len(s) != ReferralCodeLength {
		return "", false
	}
	for _, c := range s {
		if !strings.ContainsRune(referralAlphabet, c) {
			return "", false
		}
	}
	return s, true
}

// ErrReferralUnknown: no member of this tenant has the code. A code of
// another tenant is unknown too: codes are looked up only within the tenant,
// and saying more would tell one tenant about another's members.
var ErrReferralUnknown = &Error{Code: CodeReferralCodeUnknown, Field: "referralCode", Message: "no member has this referral code; check it or leave the field empty"}

// ErrReferralSelf: the code belongs to the customer enrolling (same phone or
// same email).
var ErrReferralSelf = &Error{Code: CodeReferralSelf, Field: "referralCode", Message: "this is the customer's own referral code"}

// ReferralWrite is what a reward writes besides the two accounts: the
// referee's reward record (absent before: once per referee) and, when the
// referrer is rewarded, their counter for the month, below Limit.
type ReferralWrite struct {
	RefereeID     string
	ReferrerID    string
	Month         string // 2006-01
	CountReferrer bool
	Limit         int
}

// referrerFor resolves a code given at enrollment to the referrer's id.
// With checkPhone (a staff enrollment, which may reveal membership) it also
// refuses the customer's own code and a phone that was a member before;
// the public route leaves those to the verification (see verifyReferral).
func (s *Enrollment) referrerFor(ctx context.Context, tenantID string, req EnrollRequest, checkPhone bool) (string, error) {
	code, ok := NormalizeReferralCode(req.ReferralCode)
	if !ok {
		return "", ErrReferralUnknown
	}
	id, err := s.Store.ReferralOwner(ctx, tenantID, code)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", ErrReferralUnknown
	}
	if !checkPhone {
		return id, nil
	}
	if err := s.verifyReferral(ctx, tenantID, id, req.Phone, req.Email); err != nil {
		return "", err
	}
	return id, nil
}

// verifyReferral refuses a referral of the customer by themselves (the
// referrer's phone or email) or of a phone that was a member before.
func (s *Enrollment) verifyReferral(ctx context.Context, tenantID, referrerID, phone, email string) error {
	ref, err := s.Store.GetAccount(ctx, tenantID, referrerID)
	if errors.Is(err, ErrMemberNotFound) {
		return ErrReferralUnknown
	}
	if err != nil {
		return err
	}
	if ref.Phone == phone || (email != "" && strings.EqualFold(ref.Email, email)) {
		return ErrReferralSelf
	}
	seen, err := s.Store.PhoneSeen(ctx, tenantID, phone)
	if err != nil {
		return err
	}
	if seen {
		return ErrReferralPhoneUsed
	}
	return nil
}

// qualifyReferral marks a referee's referral qualified by its first closed
// order, in the close's own write of the account.
func qualifyReferral(d *Draft, o *Order) {
	r := d.acct.Referral
	if r == nil || r.Status != ReferralPending || o == nil || o.State != OrderClosed {
		return
	}
	q := *r
	q.Status, q.OrderID = ReferralQualified, o.ID
	d.acct.Referral = &q
	d.acctChanged = true
}

// creditBonus adds a lot of points with lifetime (zero: the program's) and
// its ledger entry.
func creditBonus(d *Draft, p *Program, points Points, lifetime string, e Entry) {
	life := p.Lifetime()
	if lifetime != "" {
		life = optionalDuration(lifetime)
	}
	var expires time.Time
	if !life.IsZero() {
		expires = life.AddTo(d.now)
	}
	lot := d.addLot(points, time.Time{}, expires, "")
	e.Available, e.Lots = points, map[string]Points{lot.ID: points}
	d.record(e)
}

// RewardReferral gives a qualified referral its points: the referee's and,
// within the referrer's monthly limit, the referrer's, in one transaction
// with the referee's reward record. Run by the referral sink for every
// member.referral_qualified event; a redelivered event, a second qualified
// order or a concurrent run finds the referral rewarded and does nothing.
func (s *Referrals) RewardReferral(ctx context.Context, tenantID, refereeID string) error {
	limited := false
	return retry(ctx, func() error {
		t, err := s.Store.GetTenant(ctx, tenantID)
		if err != nil {
			return err
		}
		st, err := s.Store.LoadMember(ctx, tenantID, refereeID)
		if err != nil {
			return err
		}
		r := st.Account.Referral
		if r == nil || r.Status != ReferralQualified {
			return nil // not qualified yet, or rewarded already
		}
		now := s.now()
		by := Caller{TenantID: tenantID}
		p := t.CurrentProgram
		d := NewDraft(*st, now, by)
		done := *r
		done.Status = ReferralRewarded
		d.acct.Referral, d.acctChanged = &done, true
		rewards := p.Running(now) && p.Type == TypeBonus && p.Referral != nil
		if rewards && st.Account.Status == MemberActive && p.Referral.RefereePoints > 0 {
			creditBonus(d, p, p.Referral.RefereePoints, "", Entry{Kind: KindReferral, OrderID: r.OrderID, Note: "referee"})
		}
		w := &ReferralWrite{RefereeID: refereeID, ReferrerID: r.ReferrerID, Month: now.Format("2006-01")}
		var referrer *Commit
		if rewards && p.Referral.ReferrerPoints > 0 {
			if limited {
				done.ReferrerLimited = true
			} else if rst, err := s.Store.LoadMember(ctx, tenantID, r.ReferrerID); err == nil && rst.Account.Status == MemberActive {
				rd := NewDraft(*rst, now, by)
				creditBonus(rd, p, p.Referral.ReferrerPoints, "", Entry{Kind: KindReferral, Note: "referrer of " + refereeID})
				referrer = rd.Commit(tenantID)
				w.CountReferrer, w.Limit = true, p.Referral.Limit()
			} else if err != nil && !errors.Is(err, ErrMemberNotFound) {
				return err
			}
		}
		c := d.Commit(tenantID)
		c.Referral = w
		commits := []*Commit{c}
		if referrer != nil {
			commits = append(commits, referrer)
		}
		switch err := s.Store.CommitAll(ctx, commits...); {
		case errors.Is(err, ErrReferralRewarded):
			return nil
		case errors.Is(err, ErrReferralLimit):
			limited = true // the referee is still rewarded, the referrer not
			return ErrConflict
		default:
			return err
		}
	})
}

// ensureReferralCode gives a member enrolled before referral codes existed
// a code, once: the account write is conditioned like any other, the
// code's claim must be new. The same write puts such a member's birth date
// in the birthday index, which did not exist when they enrolled either.
func (s *Core) ensureReferralCode(ctx context.Context, tenantID string, acct *Account) error {
	if acct.ReferralCode != "" {
		return nil
	}
	err := retry(ctx, func() error {
		st, err := s.Store.LoadMember(ctx, tenantID, acct.MemberID)
		if err != nil {
			return err
		}
		if st.Account.ReferralCode != "" {
			acct.ReferralCode = st.Account.ReferralCode
			return nil
		}
		d := NewDraft(*st, s.now(), Caller{TenantID: tenantID})
		d.acct.ReferralCode, d.acctChanged = NewReferralCode(), true
		c := d.Commit(tenantID)
		c.ReferralCode = d.acct.ReferralCode
		c.IndexBirthday = d.acct.BirthDate != ""
		if err := s.Store.Commit(ctx, c); err != nil {
			if errors.Is(err, ErrReferralCodeTaken) {
				return ErrConflict
			}
			return err
		}
		acct.ReferralCode = c.ReferralCode
		return nil
	})
	if err != nil {
		return fmt.Errorf("referral code: %w", err)
	}
	return nil
}
