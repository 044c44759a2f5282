package reports

import (
	"context"
	"sort"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Row is one activity aggregate as read back.
type Row struct {
	Key      Key
	Counters Counters
}

// Store is what the reports read: the aggregates the store's
// AggregateReports keeps, and the tenant (its program's point value).
type Store interface {
	GetTenant(ctx context.Context, tenantID string) (*loyalty.Tenant, error)
	GetLiability(ctx context.Context, tenantID string) (Liability, error)
	ListActivity(ctx context.Context, tenantID string, scope Scope, from, to string) ([]Row, error)
}

// Service answers the reports (owner and admin keys only).
type Service struct {
	Store Store
	Now   func() time.Time
}

// CodeRangeInvalid: a report's period is not dates, reversed or too long.
const CodeRangeInvalid = loyalty.CodeReportRangeInvalid

// MaxDays is the longest period an activity report covers (a leap year):
// it bounds what one report reads to about a year of daily items.
const MaxDays = 366

// MonthPoints is the available points expiring in one month.
type MonthPoints struct {
	Month  string         `json:"month" doc:"YYYY-MM (UTC) the points expire in; \"never\" for points that do not expire"`
	Points loyalty.Points `json:"points"`
}

// LiabilityReport is what the tenant owes in points.
type LiabilityReport struct {
	// Outstanding is the members' available points, Pending not yet
	// spendable, Held on open orders; the three sum to every balance.
	Outstanding loyalty.Points `json:"outstanding"`
	Pending     loyalty.Points `json:"pending"`
	Held        loyalty.Points `json:"held"`
	// ByExpiryMonth sums to Outstanding; months already past hold points
	// the sweep has not expired yet.
	ByExpiryMonth []MonthPoints `json:"byExpiryMonth"`
	// Money is Outstanding at the current program's point value.
	OutstandingMoney loyalty.Money `json:"outstandingMoney"`
	AsOf             time.Time     `json:"asOf"`
}

func requireAdmin(c loyalty.Caller) error {
	if !c.Role.AtLeast(loyalty.RoleAdmin) {
		return loyalty.Errorf(loyalty.CodeForbidden, "reports need an owner or admin key")
	}
	return nil
}

// Liability reads the liability (one item) and the tenant (its current
// program's point value prices the outstanding points).
func (s *Service) Liability(ctx context.Context, c loyalty.Caller) (LiabilityReport, error) {
	if err := requireAdmin(c); err != nil {
		return LiabilityReport{}, err
	}
	t, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return LiabilityReport{}, err
	}
	l, err := s.Store.GetLiability(ctx, c.TenantID)
	if err != nil {
		return LiabilityReport{}, err
	}
	pointValue := loyalty.DefaultPointValue
	if t.CurrentProgram != nil {
		pointValue = t.CurrentProgram.Value()
	}
	r := LiabilityReport{Outstanding: l.Available, Pending: l.Pending, Held: l.Held, ByExpiryMonth: []MonthPoints{},
		OutstandingMoney: loyalty.PointsToMoney(l.Available, pointValue), AsOf: s.Now().UTC()}
	for _, m := range Months(l.ByMonth) {
		r.ByExpiryMonth = append(r.ByExpiryMonth, MonthPoints{Month: m, Points: l.ByMonth[m]})
	}
	return r, nil
}

// GroupBy is how activity is broken down.
type GroupBy string

// Groupings.
const (
	ByDay         GroupBy = "day"
	ByPointOfSale GroupBy = "pointOfSale"
	ByStaff       GroupBy = "staff"
)

// ActivityRequest asks for the activity of days From..To (inclusive, UTC,
// 2006-01-02).
type ActivityRequest struct {
	From, To string
	GroupBy  GroupBy
}

// ActivityGroup is the activity of one day, point of sale or staff member.
type ActivityGroup struct {
	Day           string `json:"day,omitempty"`
	PointOfSaleID string `json:"pointOfSaleId,omitempty" doc:"\"-\": activity of no point of sale (owner's key, sweep, public page)"`
	StaffID       string `json:"staffId,omitempty" doc:"\"-\": activity of no staff member (owner's key, sweep, public page)"`
	Counters
}

// ActivityReport is the activity of a period.
type ActivityReport struct {
	From    string          `json:"from"`
	To      string          `json:"to"`
	GroupBy GroupBy         `json:"groupBy"`
	Groups  []ActivityGroup `json:"groups"`
	Total   Counters        `json:"total"`
	// RedemptionRate is redeemed / accrued and Breakage expired / accrued,
	// in basis points.
	RedemptionRate loyalty.BasisPoints `json:"-"`
	Breakage       loyalty.BasisPoints `json:"-"`
}

// Period checks a requested period: dates, from ≤ to, at most MaxDays days.
func Period(from, to string) (time.Time, time.Time, error) {
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return time.Time{}, time.Time{}, &loyalty.Error{Code: CodeRangeInvalid, Field: "from", Message: "from must be a date YYYY-MM-DD"}
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return time.Time{}, time.Time{}, &loyalty.Error{Code: CodeRangeInvalid, Field: "to", Message: "to must be a date YYYY-MM-DD"}
	}
	if t.Before(f) {
		return time.Time{}, time.Time{}, &loyalty.Error{Code: CodeRangeInvalid, Field: "to", Message: "to is before from"}
	}
	if days := int(t.Sub(f).Hours()/24) + 1; days > MaxDays {
		return time.Time{}, time.Time{}, &loyalty.Error{Code: CodeRangeInvalid, Field: "to",
			Message: "a report covers at most 366 days; ask for the period in parts"}
	}
	return f, t, nil
}

// Activity reads a period's activity: one Query of the scope's daily items.
func (s *Service) Activity(ctx context.Context, c loyalty.Caller, req ActivityRequest) (ActivityReport, error) {
	if err := requireAdmin(c); err != nil {
		return ActivityReport{}, err
	}
	if _, _, err := Period(req.From, req.To); err != nil {
		return ActivityReport{}, err
	}
	scope := ScopeDay
	switch req.GroupBy {
	case ByDay:
	case ByPointOfSale:
		scope = ScopePOS
	case ByStaff:
		scope = ScopeStaff
	default:
		return ActivityReport{}, loyalty.Invalid("groupBy", "groupBy is day, pointOfSale or staff")
	}
	var rows []Row
	for _, part := range Parts(req.From, req.To, scope) {
		got, err := s.Store.ListActivity(ctx, c.TenantID, part.Scope, part.From, part.To)
		if err != nil {
			return ActivityReport{}, err
		}
		rows = append(rows, got...)
	}
	return Compose(req, rows), nil
}

// Part is one range of aggregate items a report reads.
type Part struct {
	Scope    Scope
	From, To string // days, or months in a month scope
}

// Parts splits a period into what to read: the tenant's days as they are;
// for a point of sale or staff member, the whole months inside the period
// from the month items and the days of the partial months at its ends from
// the day items — at most three Queries, a few hundred items for a year.
func Parts(from, to string, scope Scope) []Part {
	month := MonthOf(scope)
	f, err1 := time.Parse(time.DateOnly, from)
	t, err2 := time.Parse(time.DateOnly, to)
	if month == "" || err1 != nil || err2 != nil {
		return []Part{{scope, from, to}}
	}
	first := f // the first day of the first whole month
	if f.Day() != 1 {
		first = time.Date(f.Year(), f.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	end := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC) // after the last whole month
	if t.AddDate(0, 0, 1).Month() == t.Month() {
		end = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if !first.Before(end) {
		return []Part{{scope, from, to}} // no whole month inside
	}
	var parts []Part
	if f.Before(first) {
		parts = append(parts, Part{scope, from, Day(first.AddDate(0, 0, -1))})
	}
	parts = append(parts, Part{month, first.Format("2006-01"), end.AddDate(0, -1, 0).Format("2006-01")})
	if end.Before(t) || end.Equal(t) {
		parts = append(parts, Part{scope, Day(end), to})
	}
	return parts
}

// Compose groups the rows of a period and totals them.
func Compose(req ActivityRequest, rows []Row) ActivityReport {
	r := ActivityReport{From: req.From, To: req.To, GroupBy: req.GroupBy, Groups: []ActivityGroup{}}
	by := map[string]*ActivityGroup{}
	var order []string
	for _, row := range rows {
		g := row.Key.Day
		if req.GroupBy != ByDay {
			g = row.Key.ID
		}
		a := by[g]
		if a == nil {
			a = &ActivityGroup{}
			switch req.GroupBy {
			case ByDay:
				a.Day = g
			case ByPointOfSale:
				a.PointOfSaleID = g
			case ByStaff:
				a.StaffID = g
			}
			by[g] = a
			order = append(order, g)
		}
		a.Add(row.Counters)
		r.Total.Add(row.Counters)
	}
	sort.Strings(order)
	for _, g := range order {
		r.Groups = append(r.Groups, *by[g])
	}
	r.RedemptionRate = Rate(int64(r.Total.Redeemed), int64(r.Total.Accrued))
	r.Breakage = Rate(int64(r.Total.Expired), int64(r.Total.Accrued))
	return r
}
