package loyalty

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// CreateProgram stores a new program in status new.
func (s *Programs) CreateProgram(ctx context.Context, c Caller, idem Idem, p Program) (Program, bool, error) {
	if err := ValidateProgram(&p); err != nil {
		return Program{}, false, err
	}
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (Program, error) {
		now := s.now()
		np := p
		np.ID, np.TenantID, np.Status, np.Version, np.CreatedAt, np.UpdatedAt = NewID("p_"), c.TenantID, ProgramNew, 1, now, now
		if np.PointValue == 0 {
			np.PointValue = DefaultPointValue
		}
		rec, err := s.idemRecord(idem, np)
		if err != nil {
			return Program{}, err
		}
		if err := s.Store.SaveProgram(ctx, &np, 0, false, "", rec, audit(c, now, "program.create", np.ID, np.Name)); err != nil {
			return Program{}, err
		}
		return np, nil
	}))
}

// SetProgramStatus activates or stops a program. Activation makes it the
// tenant's current program; only one program is active at a time.
func (s *Programs) SetProgramStatus(ctx context.Context, c Caller, idem Idem, programID string, to ProgramStatus) (Program, bool, error) {
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (Program, error) {
		p, err := s.Store.GetProgram(ctx, c.TenantID, programID)
		if err != nil {
			return Program{}, err
		}
		t, err := s.Store.GetTenant(ctx, c.TenantID)
		if err != nil {
			return Program{}, err
		}
		currentID := ""
		if t.CurrentProgram != nil {
			currentID = t.CurrentProgram.ID
		}
		if p.Status == to {
			return *p, nil // already there: nothing to do
		}
		switch to {
		case ProgramActive:
			if p.Status == ProgramDeleted {
				return Program{}, Errorf(CodeProgramStatus, "a deleted program cannot be activated")
			}
			if t.ProgramType != "" && t.ProgramType != p.Type {
				return Program{}, typeLocked(t.ProgramType)
			}
			if cur := t.CurrentProgram; cur != nil && cur.ID != p.ID && cur.Status == ProgramActive {
				return Program{}, &Error{Code: CodeActiveProgramExists, Message: "another program is active; stop it first",
					Details: Details{ActiveProgramID: cur.ID}}
			}
		case ProgramStopped:
			if p.Status != ProgramActive {
				return Program{}, Errorf(CodeProgramStatus, "only an active program can be stopped")
			}
		case ProgramDeleted:
			// Seed 004: deleting turns a program off entirely; the ledger and
			// balances stay, but nothing is earned or spent under it.
		default:
			return Program{}, Invalid("status", "unsupported status %q", to)
		}
		prev := p.Version
		np := *p
		np.Status, np.Version, np.UpdatedAt = to, prev+1, s.now()
		rec, err := s.idemRecord(idem, np)
		if err != nil {
			return Program{}, err
		}
		// The tenant's copy follows the program when it is (or becomes) current.
		makeCurrent := to == ProgramActive || currentID == p.ID
		if err := s.Store.SaveProgram(ctx, &np, prev, makeCurrent, currentID, rec, audit(c, np.UpdatedAt, "program."+string(to), np.ID, np.Name)); err != nil {
			return Program{}, err
		}
		return np, nil
	}))
}

func typeLocked(t string) error {
	return Errorf(CodeProgramTypeLocked, "cards were issued under a %s program; the program type can no longer change", t)
}

// UpdateProgram replaces a program's rules. The version goes up and, for the
// current program, the new rules apply to orders closed from now on.
func (s *Programs) UpdateProgram(ctx context.Context, c Caller, idem Idem, programID string, rules Program) (Program, bool, error) {
	if err := ValidateProgram(&rules); err != nil {
		return Program{}, false, err
	}
	return idempotent(ctx, s.Core, c.TenantID, idem, lookingUp(ctx, s.Core, c.TenantID, idem, func() (Program, error) {
		p, err := s.Store.GetProgram(ctx, c.TenantID, programID)
		if err != nil {
			return Program{}, err
		}
		if p.Status == ProgramDeleted {
			return Program{}, Errorf(CodeProgramStatus, "a deleted program cannot be changed")
		}
		t, err := s.Store.GetTenant(ctx, c.TenantID)
		if err != nil {
			return Program{}, err
		}
		if rules.Type != p.Type && t.ProgramType != "" && t.ProgramType != rules.Type {
			return Program{}, typeLocked(t.ProgramType)
		}
		np := rules
		np.ID, np.TenantID, np.Status, np.Version, np.CreatedAt, np.UpdatedAt = p.ID, c.TenantID, p.Status, p.Version+1, p.CreatedAt, s.now()
		if np.PointValue == 0 {
			np.PointValue = DefaultPointValue
		}
		currentID := ""
		if t.CurrentProgram != nil {
			currentID = t.CurrentProgram.ID
		}
		rec, err := s.idemRecord(idem, np)
		if err != nil {
			return Program{}, err
		}
		if err := s.Store.SaveProgram(ctx, &np, p.Version, currentID == p.ID, currentID, rec, audit(c, np.UpdatedAt, "program.update", np.ID, fmt.Sprintf("version %d", np.Version))); err != nil {
			return Program{}, err
		}
		return np, nil
	}))
}

// SetGroups assigns a member's customer groups; tiers restricted to a group
// apply from now on.
func (s *Members) SetGroups(ctx context.Context, c Caller, memberID string, groups []string) (*Account, error) {
	var out *Account
	err := retry(ctx, func() error {
		t, err := s.Store.GetTenant(ctx, c.TenantID)
		if err != nil {
			return err
		}
		st, err := s.Store.LoadMember(ctx, c.TenantID, memberID)
		if err != nil {
			return err
		}
		d := NewDraft(*st, s.now(), c)
		d.stats.Groups = append([]string(nil), groups...)
		d.statsChanged = true
		if p := t.CurrentProgram; p != nil && len(p.Tiers) > 0 {
			d.refreshTier(p)
		}
		cm := d.Commit(c.TenantID)
		cm.SegmentIndex = groupIndexChanges(st.Stats.Groups, groups)
		if err := s.Store.Commit(ctx, cm); err != nil {
			return err
		}
		a := d.Account()
		a.Tier = a.TierNow(s.now())
		out = &a
		return nil
	})
	return out, err
}

// groupIndexChanges are the segment index entries of the groups a member
// leaves and joins.
func groupIndexChanges(before, after []string) []SegmentIndexChange {
	var out []SegmentIndexChange
	for _, g := range before {
		if !slices.Contains(after, g) {
			out = append(out, SegmentIndexChange{Name: SegmentGroup, Value: g, Remove: true})
		}
	}
	for _, g := range after {
		if !slices.Contains(before, g) && !slices.Contains(out, SegmentIndexChange{Name: SegmentGroup, Value: g}) {
			out = append(out, SegmentIndexChange{Name: SegmentGroup, Value: g})
		}
	}
	return out
}

// GetProgram reads one program.
func (s *Programs) GetProgram(ctx context.Context, c Caller, id string) (*Program, error) {
	return s.Store.GetProgram(ctx, c.TenantID, id)
}

// ListPrograms lists the tenant's programs.
func (s *Programs) ListPrograms(ctx context.Context, c Caller) ([]Program, error) {
	return s.Store.ListPrograms(ctx, c.TenantID)
}

// GetMember reads a member's account: one read, never a history scan.
func (s *Members) GetMember(ctx context.Context, c Caller, memberID string) (*Account, error) {
	a, err := s.Store.GetAccount(ctx, c.TenantID, memberID)
	if err != nil {
		return nil, err
	}
	if err := s.ensureReferralCode(ctx, c.TenantID, a); err != nil {
		return nil, err
	}
	a.Tier = a.TierNow(s.now())
	return a, nil
}

// FindMember looks a member up by card or phone.
func (s *Members) FindMember(ctx context.Context, c Caller, ref MemberRef) (*Account, error) {
	id, err := s.Store.ResolveMember(ctx, c.TenantID, ref)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, ErrMemberNotFound
	}
	return s.GetMember(ctx, c, id)
}

// Ledger pages through a member's entries, newest first.
func (s *Members) Ledger(ctx context.Context, c Caller, memberID string, limit int, beforeSeq int64) ([]Entry, error) {
	if _, err := s.Store.GetAccount(ctx, c.TenantID, memberID); err != nil {
		return nil, err
	}
	return s.Store.ListLedger(ctx, c.TenantID, memberID, limit, beforeSeq)
}

// GetOrder reads an order.
func (s *Orders) GetOrder(ctx context.Context, c Caller, id string) (*Order, error) {
	o, err := s.Store.GetOrder(ctx, c.TenantID, id)
	if err != nil {
		return nil, err
	}
	if err := c.mayTouch(o); err != nil {
		return nil, err
	}
	return o, nil
}

// Authenticate finds the caller of an API key hash; revoked and unknown keys
// are both unauthorized.
func (s *Tenancy) Authenticate(ctx context.Context, keyHash string) (Caller, error) {
	k, err := s.Store.GetAPIKey(ctx, keyHash)
	if err != nil {
		if errors.Is(err, ErrNotFoundKey) {
			return Caller{}, Errorf(CodeUnauthorized, "unknown or revoked API key")
		}
		return Caller{}, err
	}
	if k.Revoked {
		return Caller{}, Errorf(CodeUnauthorized, "unknown or revoked API key")
	}
	if now := s.now(); now.Sub(k.LastUsedAt) > KeyTouchInterval {
		// Last-used time, kept hourly so it costs one write per key per hour.
		_ = s.Store.TouchKey(ctx, k, now, now.Add(-KeyTouchInterval))
	}
	return Caller{TenantID: k.TenantID, Role: k.Role, KeyID: k.KeyID, StaffID: k.StaffID, PointOfSale: k.PointOfSale}, nil
}

// KeyTouchInterval is how stale a key's last-used time may get.
const KeyTouchInterval = time.Hour

// ErrNotFoundKey is returned by a store for an unknown API key.
var ErrNotFoundKey = errors.New("api key not found")
