package loyalty

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// Back-office work on members (seeds 003 and 004): manual adjustments,
// blocking a card, replacing a lost card. Each is one conditioned commit
// with its ledger entry (for adjustments) and an audit entry.

// AdjustRequest corrects a balance by a compensating entry, never an edit.
type AdjustRequest struct {
	Points Points // positive credits, negative debits
	Reason string
}

// AdjustResult reports the new balance.
type AdjustResult struct {
	Adjusted Points  `json:"adjusted"`
	Balance  Balance `json:"balance"`
}

// Adjust decides a manual adjustment: a credit is a new lot with the
// program's lifetime; a debit takes from available lots, soonest-expiring
// first, and never below zero.
func Adjust(p *Program, st MemberState, req AdjustRequest, now time.Time, by Caller) (*Draft, AdjustResult, error) {
	if req.Points == 0 {
		return nil, AdjustResult{}, Invalid("points", "points must not be zero")
	}
	if strings.TrimSpace(req.Reason) == "" {
		return nil, AdjustResult{}, Invalid("reason", "a reason is required")
	}
	d := NewDraft(st, now, by)
	e := Entry{Kind: KindAdjust, Note: strings.TrimSpace(req.Reason), Lots: map[string]Points{}}
	if req.Points > 0 {
		var expires time.Time
		if p != nil {
			if lt := p.Lifetime(); !lt.IsZero() {
				expires = lt.AddTo(now)
			}
		}
		l := d.addLot(req.Points, time.Time{}, expires, "")
		e.Available, e.Lots[l.ID] = req.Points, req.Points
	} else {
		want := -req.Points
		if want > d.acct.Available {
			return nil, AdjustResult{}, &Error{Code: CodeInsufficientPoints, Message: "the member has fewer points available",
				Details: Details{Available: ref(d.acct.Available)}}
		}
		taken, got := d.takeAvailable(want, "")
		for _, t := range taken {
			e.Lots[t.Lot] -= t.Points
		}
		e.Available = -got
	}
	d.record(e)
	return d, AdjustResult{Adjusted: req.Points, Balance: d.acct.Balance()}, nil
}

// memberOp runs a back-office change of one member: read, decide, commit
// with the audit entry and the meter, retry on conflicts.
func memberOp[T any](ctx context.Context, s *Core, c Caller, idem Idem, memberID, kind string,
	decide func(t *Tenant, st MemberState, now time.Time) (*Draft, T, *AuditEntry, error)) (T, bool, error) {
	return idempotent(ctx, s, c.TenantID, idem, lookingUp(ctx, s, c.TenantID, idem, func() (out T, err error) {
		t, err := s.Store.GetTenant(ctx, c.TenantID)
		if err != nil {
			return out, err
		}
		st, err := s.Store.LoadMember(ctx, c.TenantID, memberID)
		if err != nil {
			return out, err
		}
		now := s.now()
		d, res, a, err := decide(t, *st, now)
		if err != nil {
			return out, err
		}
		commit := d.Commit(c.TenantID)
		commit.Audit = a
		if kind != "" {
			commit.Meter = MeterFor(t, kind, now)
		}
		if commit.Idem, err = s.idemRecord(idem, res); err != nil {
			return out, err
		}
		if err := s.Store.Commit(ctx, commit); err != nil {
			return out, err
		}
		return res, nil
	}))
}

// AdjustPoints credits or debits a member by hand, with a reason.
func (s *Members) AdjustPoints(ctx context.Context, c Caller, idem Idem, memberID string, req AdjustRequest) (AdjustResult, bool, error) {
	if err := requireAdmin(c); err != nil {
		return AdjustResult{}, false, err
	}
	return memberOp(ctx, s.Core, c, idem, memberID, UseAdjust, func(t *Tenant, st MemberState, now time.Time) (*Draft, AdjustResult, *AuditEntry, error) {
		d, res, err := Adjust(t.CurrentProgram, st, req, now, c)
		if err != nil {
			return nil, res, nil, err
		}
		return d, res, audit(c, now, "member.adjust", memberID, req.Reason), nil
	})
}

// SetBlocked blocks or unblocks a member's card: a blocked card neither
// earns nor spends.
func (s *Members) SetBlocked(ctx context.Context, c Caller, memberID string, blocked bool) (*Account, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	status, action := MemberActive, "member.unblock"
	if blocked {
		status, action = MemberBlocked, "member.block"
	}
	out, _, err := memberOp(ctx, s.Core, c, Idem{}, memberID, "", func(_ *Tenant, st MemberState, now time.Time) (*Draft, *Account, *AuditEntry, error) {
		d := NewDraft(st, now, c)
		if d.acct.Status != status {
			d.acct.Status = status
			d.acctChanged = true
		}
		a := d.Account()
		return d, &a, audit(c, now, action, memberID, ""), nil
	})
	return out, err
}

// ReplaceCard issues a new card number to a member who lost theirs, keeping
// the balance; the old number stops finding the member at once. number, when
// given, is the physical card the cashier hands out (checked against the
// program's card rule; an imported card is bound to the member); otherwise
// one is drawn under the rule.
func (s *Members) ReplaceCard(ctx context.Context, c Caller, memberID, number string) (*Account, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	out, _, err := memberOp(ctx, s.Core, c, Idem{}, memberID, "", func(t *Tenant, st MemberState, now time.Time) (*Draft, *Account, *AuditEntry, error) {
		card := CardChoice{Number: drawCard(t.CurrentProgram)}
		if number != "" {
			var err error
			if card, err = s.chooseCard(ctx, c.TenantID, t.CurrentProgram, number); err != nil {
				return nil, nil, nil, err
			}
		}
		d := NewDraft(st, now, c)
		old := d.acct.Card
		if old == card.Number {
			return nil, nil, nil, Errorf(CodeCardTaken, "the member already has this card")
		}
		d.acct.Card = card.Number
		d.acctChanged = true
		d.cardChange = &CardChange{Old: old, New: d.acct.Card, FromPool: card.FromPool}
		a := d.Account()
		return d, &a, audit(c, now, "member.replace-card", memberID, "…"+last4(old)), nil
	})
	if errors.Is(err, ErrCardTaken) {
		if number != "" {
			return nil, Errorf(CodeCardTaken, "this card is already bound to a member")
		}
		return s.ReplaceCard(ctx, c, memberID, "")
	}
	return out, err
}

// SetTier sets a member's tier by hand ("" returns to the tier the member's
// activity earns).
func (s *Members) SetTier(ctx context.Context, c Caller, memberID, tier string) (*Account, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	out, _, err := memberOp(ctx, s.Core, c, Idem{}, memberID, "", func(t *Tenant, st MemberState, now time.Time) (*Draft, *Account, *AuditEntry, error) {
		if tier != "" && (t.CurrentProgram == nil || t.CurrentProgram.tierByName(tier) == nil) {
			return nil, nil, nil, Invalid("tier", "the current program has no tier %q", tier)
		}
		d := NewDraft(st, now, c)
		d.acct.TierOverride = tier
		d.acctChanged = true
		a := d.Account()
		a.Tier = a.TierNow(now)
		return d, &a, audit(c, now, "member.set-tier", memberID, tier), nil
	})
	return out, err
}

func last4(s string) string {
	if len(s) <= 4 {
		return s
	}
	return s[len(s)-4:]
}

// CardChange moves a member's card claim from one number to another.
type CardChange struct {
	Old, New string
	FromPool bool // New is an imported card: bind it in the same transaction
}

func codeWordHash(memberID, word string) string {
	sum := sha256.Sum256([]byte(memberID + "\x00" + strings.ToLower(strings.TrimSpace(word))))
	return hex.EncodeToString(sum[:])
}

// SetCodeWord sets the word a card holder gives to be identified ("" clears it).
func (s *Members) SetCodeWord(ctx context.Context, c Caller, memberID, word string) (*Account, error) {
	if w := strings.TrimSpace(word); w != "" && (len([]rune(w)) < 3 || len(w) > 64) {
		return nil, Invalid("codeWord", "a code word has 3 to 64 characters")
	}
	out, _, err := memberOp(ctx, s.Core, c, Idem{}, memberID, "", func(_ *Tenant, st MemberState, now time.Time) (*Draft, *Account, *AuditEntry, error) {
		d := NewDraft(st, now, c)
		d.acct.CodeWordHash = ""
		if strings.TrimSpace(word) != "" {
			d.acct.CodeWordHash = codeWordHash(memberID, word)
		}
		d.acctChanged = true
		a := d.Account()
		return d, &a, audit(c, now, "member.code-word", memberID, ""), nil
	})
	return out, err
}

// Identify finds a member by card or phone and checks the code word they give.
func (s *Members) Identify(ctx context.Context, c Caller, ref MemberRef, word string) (*Account, error) {
	a, err := s.FindMember(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	if a.CodeWordHash == "" || subtle.ConstantTimeCompare([]byte(a.CodeWordHash), []byte(codeWordHash(a.MemberID, word))) != 1 {
		return nil, Errorf(CodeCodeWordMismatch, "the code word does not match")
	}
	return a, nil
}
