package loyalty

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// BulkFilter selects members for a bulk accrual (seed 003: members whose
// orders in a period total between two amounts). Zero fields select all.
type BulkFilter struct {
	Period    string // ISO 8601 trailing period for the spend, at most 92 days
	SpendFrom Money
	SpendTo   Money // 0: no upper bound
	// Group selects the members of one customer group ("" any).
	Group string
}

// BulkRequest credits points to every selected member, a page at a time.
type BulkRequest struct {
	BatchID string
	Points  Points
	Reason  string
	Filter  BulkFilter
	Cursor  string // member id to continue after ("" from the start)
	Limit   int
}

// BulkResult reports one page of a bulk accrual.
type BulkResult struct {
	BatchID     string `json:"batchId"`
	Scanned     int    `json:"scanned" minimum:"0"`
	Credited    int    `json:"credited" minimum:"0"`
	AlreadyDone int    `json:"alreadyCredited" minimum:"0"`
	NextCursor  string `json:"nextCursor,omitempty"`
	Done        bool   `json:"done"`
	PointsEach  Points `json:"points" minimum:"0"`
}

// BulkAccrue credits a page of selected members. Each credit is its own
// commit carrying an idempotency record keyed by batch and member, so running
// the same batch again, or resuming it after an interruption from any
// cursor, credits every member at most once.
func (s *Members) BulkAccrue(ctx context.Context, c Caller, req BulkRequest) (BulkResult, error) {
	if err := requireAdmin(c); err != nil {
		return BulkResult{}, err
	}
	if strings.TrimSpace(req.BatchID) == "" || len(req.BatchID) > 128 {
		return BulkResult{}, Invalid("batchId", "a batch id of 1-128 characters is required")
	}
	if req.Points <= 0 || req.Points > MaxPoints {
		return BulkResult{}, Invalid("points", "points must be positive")
	}
	period, err := checkFilter(req.Filter)
	if err != nil {
		return BulkResult{}, err
	}
	limit := req.Limit
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	page, err := s.ListMembers(ctx, c, req.Cursor, limit)
	if err != nil {
		return BulkResult{}, err
	}
	res := BulkResult{BatchID: req.BatchID, PointsEach: req.Points, Done: len(page) < limit}
	for _, m := range page {
		res.Scanned++
		idem := Idem{Key: req.BatchID + ":" + m.MemberID, Hash: req.BatchID, Scope: ScopeBulk}
		_, replayed, err := memberOp(ctx, s.Core, c, idem, m.MemberID, UseAdjust, func(t *Tenant, st MemberState, now time.Time) (*Draft, bool, *AuditEntry, error) {
			if !selected(req.Filter, period, st, now) {
				return nil, false, nil, errNotSelected
			}
			d, _, err := Adjust(t.CurrentProgram, st, AdjustRequest{Points: req.Points, Reason: req.Reason}, now, c)
			if err != nil {
				return nil, false, nil, err
			}
			return d, true, nil, nil
		})
		switch {
		case errors.Is(err, errNotSelected):
		case err != nil:
			return res, err
		case replayed:
			res.AlreadyDone++
		default:
			res.Credited++
		}
		res.NextCursor = m.MemberID
	}
	if res.Done {
		res.NextCursor = ""
	}
	return res, nil
}

var errNotSelected = errors.New("member not selected")

// checkFilter validates a bulk filter (the accrual and its preview share
// it) and returns its period.
func checkFilter(f BulkFilter) (Duration, error) {
	var period Duration
	if f.Period != "" {
		p, err := ParseDuration(f.Period)
		ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		if err != nil || p.IsZero() || p.AddTo(ref).Sub(ref) > StatsRetention {
			return period, Invalid("filter.period", "period must be an ISO 8601 duration of at most 92 days")
		}
		period = p
	}
	if f.SpendFrom < 0 || f.SpendTo < 0 {
		return period, Invalid("filter.spendFrom", "spend bounds must not be negative")
	}
	if f.SpendTo != 0 && f.SpendTo < f.SpendFrom {
		return period, Invalid("filter.spendTo", "spendTo must not be below spendFrom")
	}
	if len(f.Group) > 64 {
		return period, Invalid("filter.group", "a group name is at most 64 characters")
	}
	return period, nil
}

// BulkPreview counts, without writing, the members a bulk accrual's
// filter selects on one page of the directory.
type BulkPreview struct {
	Scanned    int    `json:"scanned" minimum:"0"`
	Selected   int    `json:"selected" minimum:"0"`
	NextCursor string `json:"nextCursor,omitempty"`
	Done       bool   `json:"done"`
}

// PreviewBulk counts the members of a page that a bulk accrual with filter
// would credit (the same selection, read only), so the owner sees how
// many members and points before running it.
func (s *Members) PreviewBulk(ctx context.Context, c Caller, f BulkFilter, cursor string, limit int) (BulkPreview, error) {
	if err := requireAdmin(c); err != nil {
		return BulkPreview{}, err
	}
	period, err := checkFilter(f)
	if err != nil {
		return BulkPreview{}, err
	}
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	page, err := s.ListMembers(ctx, c, cursor, limit)
	if err != nil {
		return BulkPreview{}, err
	}
	now := s.now()
	res := BulkPreview{Done: len(page) < limit}
	for _, m := range page {
		st, err := s.Store.LoadMember(ctx, c.TenantID, m.MemberID)
		if err != nil {
			return res, err
		}
		res.Scanned++
		if selected(f, period, *st, now) {
			res.Selected++
		}
		res.NextCursor = m.MemberID
	}
	if res.Done {
		res.NextCursor = ""
	}
	return res, nil
}

func selected(f BulkFilter, period Duration, st MemberState, now time.Time) bool {
	if st.Account.Status == MemberBlocked {
		return false
	}
	if f.Group != "" && !slices.Contains(st.Stats.Groups, f.Group) {
		return false
	}
	if f.Period == "" && f.SpendFrom == 0 && f.SpendTo == 0 {
		return true
	}
	spend := st.Stats.SpendWithin(period, now)
	return spend >= f.SpendFrom && (f.SpendTo == 0 || spend <= f.SpendTo)
}
