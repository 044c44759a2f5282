package loyalty

import (
	"context"
	"errors"
	"strings"
	"time"
)

// MemberSummary is a member's entry in the tenant's directory.
type MemberSummary struct {
	MemberID  string    `json:"memberId"`
	Card      string    `json:"cardNumber"`
	Phone     string    `json:"phone"`
	Name      string    `json:"name,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// ImportRow is one member to import (phone already E.164). Card and points
// are optional: a card number is drawn when absent; points open the balance
// with a compensating "adjust" entry noted "import". Blocked carries a
// blocked card over from an export, so a migration does not unblock it.
type ImportRow struct {
	Phone   string
	Card    string
	Name    string
	Email   string
	Points  Points
	Blocked bool
	// BirthDate (2006-01-02), optional: puts the member in the birthday index.
	BirthDate string
}

// Import outcomes.
var (
	ErrImportExists = errors.New("already a member")
)

// ImportMember creates one member without a one-time code, in one
// transaction with the phone and card claims, the directory entry and the
// opening balance. A phone that is already a member is reported as
// ErrImportExists, so running the same file again imports nothing twice.
func (s *Members) ImportMember(ctx context.Context, c Caller, row ImportRow) (string, error) {
	if err := requireAdmin(c); err != nil {
		return "", err
	}
	if row.Card != "" && !ValidCardNumber(row.Card) {
		return "", Invalid("card", "card number fails its check digit")
	}
	if row.Points < 0 || row.Points > MaxPoints {
		return "", Invalid("points", "points must be between 0 and %d", MaxPoints)
	}
	var id string
	err := retry(ctx, func() error {
		t, err := s.Store.GetTenant(ctx, c.TenantID)
		if err != nil {
			return err
		}
		now := s.now()
		acct := Account{TenantID: c.TenantID, MemberID: NewID("m_"), Phone: row.Phone, Email: row.Email,
			Name: strings.TrimSpace(row.Name), Card: row.Card, Status: MemberActive, CreatedAt: now}
		if _, ok := ParseBirthDate(row.BirthDate); ok {
			acct.BirthDate = row.BirthDate
		}
		if acct.Card == "" {
			acct.Card = NewCardNumber()
		}
		if row.Blocked {
			acct.Status = MemberBlocked
		}
		p := t.CurrentProgram
		if p != nil {
			acct.ProgramID = p.ID
		}
		d := newMemberDraft(acct, now, c)
		if row.Points > 0 {
			var expires time.Time
			if p != nil && !p.Lifetime().IsZero() {
				expires = p.Lifetime().AddTo(now)
			}
			l := d.addLot(row.Points, time.Time{}, expires, "")
			d.record(Entry{Kind: KindAdjust, Available: row.Points, Note: "import", Lots: map[string]Points{l.ID: row.Points}})
		}
		if p != nil && len(p.Tiers) > 0 {
			d.refreshTier(p)
		}
		commit := d.Commit(c.TenantID)
		commit.Enrollment = &EnrollmentWrite{Phone: acct.Phone, Card: acct.Card, MemberLimit: t.Limits().Members}
		if err := s.Store.Commit(ctx, commit); err != nil {
			if errors.Is(err, ErrCardTaken) {
				if row.Card == "" {
					return ErrConflict // drew a taken number: draw again
				}
				return Invalid("card", "card number belongs to another member")
			}
			return err
		}
		id = acct.MemberID
		return nil
	})
	if errors.Is(err, ErrAlreadyEnrolled) {
		return "", ErrImportExists
	}
	return id, err
}

// SearchMembers finds members by a part of their name, phone or card.
func (s *Members) SearchMembers(ctx context.Context, c Caller, q string, limit int) ([]MemberSummary, error) {
	ds, ok := s.Store.(interface {
		SearchMembers(ctx context.Context, tenantID, q string, limit int) ([]MemberSummary, error)
	})
	if !ok {
		return nil, errors.New("store cannot search members")
	}
	if len(strings.TrimSpace(q)) < 2 {
		return nil, Invalid("q", "search for at least 2 characters")
	}
	return ds.SearchMembers(ctx, c.TenantID, strings.TrimSpace(q), limit)
}

// ListMembers pages through the tenant's member directory.
func (s *Members) ListMembers(ctx context.Context, c Caller, after string, limit int) ([]MemberSummary, error) {
	ds, ok := s.Store.(interface {
		ListMembers(ctx context.Context, tenantID, after string, limit int) ([]MemberSummary, error)
	})
	if !ok {
		return nil, errors.New("store cannot list members")
	}
	return ds.ListMembers(ctx, c.TenantID, after, limit)
}
