// Package reports keeps what the owner's reports read (../shared/API.md
// "Reports"): daily activity per tenant, per point of sale and per staff
// member, and the points liability with its expiry schedule by month. The
// aggregates are built off the hot path from the table's change stream (the
// ledger entries the feed's points.* events come from, new accounts, order
// changes), batch by batch: a Batch turns one shard's records into counter
// deltas per aggregate item, which the store adds in one transaction with
// the shard's checkpoint. This package holds the pure part: what each
// change adds where, and the report arithmetic; it imports no AWS.
package reports

import (
	"sort"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Scope of an activity aggregate: the whole tenant, one point of sale, one
// staff member.
type Scope string

// Scopes.
const (
	ScopeDay   Scope = "D" // the tenant's day
	ScopePOS   Scope = "P" // a point of sale's day
	ScopeStaff Scope = "S" // a staff member's day
	// Months of a point of sale and of a staff member: a year's report by
	// point of sale or staff member reads twelve of these per group and
	// the days of the partial months at its ends, not 365 days per group.
	ScopePOSMonth   Scope = "PM"
	ScopeStaffMonth Scope = "SM"
)

// MonthOf is the month scope of a day scope ("" for the tenant's days,
// whose reports read days).
func MonthOf(s Scope) Scope {
	switch s {
	case ScopePOS:
		return ScopePOSMonth
	case ScopeStaff:
		return ScopeStaffMonth
	}
	return ""
}

// None is the group of activity no point of sale (or staff member) made:
// the owner's key, the sweep, the public enrollment page.
const None = "-"

// Key names one activity aggregate: a scope, a day (UTC, 2006-01-02; a
// month 2006-01 in a month scope) and,
// for a point of sale or staff member, its id (None for nobody's).
type Key struct {
	Scope Scope
	Day   string
	ID    string
}

// Counters are the activity of one aggregate item. Points in hundredths,
// money in minor units, like everywhere.
type Counters struct {
	// Accrued: cashback and welcome bonuses credited.
	Accrued loyalty.Points `json:"accrued"`
	// Redeemed: points spent (held points captured when an order closed).
	Redeemed loyalty.Points `json:"redeemed"`
	// Expired: points the sweep expired.
	Expired loyalty.Points `json:"expired"`
	// RefundedAccrual: accrued points reversed by refunds;
	// RefundedPoints: spent points given back by refunds.
	RefundedAccrual loyalty.Points `json:"refundedAccrual"`
	RefundedPoints  loyalty.Points `json:"refundedPoints"`
	// RefundedMoney: money refunded on closed orders.
	RefundedMoney loyalty.Money `json:"refundedMoney"`
	// Adjusted: the net of manual adjustments and imported balances.
	Adjusted loyalty.Points `json:"adjusted"`
	// OrdersClosed and Sales (the money paid on them).
	OrdersClosed int64         `json:"ordersClosed"`
	Sales        loyalty.Money `json:"sales"`
	NewMembers   int64         `json:"newMembers"`
}

// Fields are the counters' attribute names in an aggregate item with
// accessors, in a fixed order (short names: every byte of an item is
// billed on every write).
var Fields = []struct {
	Attr string
	Of   func(*Counters) *int64
}{
	{"ac", func(c *Counters) *int64 { return (*int64)(&c.Accrued) }},
	{"rd", func(c *Counters) *int64 { return (*int64)(&c.Redeemed) }},
	{"ex", func(c *Counters) *int64 { return (*int64)(&c.Expired) }},
	{"ra", func(c *Counters) *int64 { return (*int64)(&c.RefundedAccrual) }},
	{"rp", func(c *Counters) *int64 { return (*int64)(&c.RefundedPoints) }},
	{"rm", func(c *Counters) *int64 { return (*int64)(&c.RefundedMoney) }},
	{"aj", func(c *Counters) *int64 { return (*int64)(&c.Adjusted) }},
	{"oc", func(c *Counters) *int64 { return &c.OrdersClosed }},
	{"sl", func(c *Counters) *int64 { return (*int64)(&c.Sales) }},
	{"nm", func(c *Counters) *int64 { return &c.NewMembers }},
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	for _, f := range Fields {
		*f.Of(c) += *f.Of(&o)
	}
}

// Zero reports whether nothing is counted.
func (c Counters) Zero() bool { return c == Counters{} }

// Liability is what a tenant owes in points: the members' available,
// pending and held points, and the available points by the month their
// lots expire (loyalty.ExpiryMonth; loyalty.NeverExpires for lots that do
// not). As a delta it is what a batch changes.
type Liability struct {
	Available loyalty.Points
	Pending   loyalty.Points
	Held      loyalty.Points
	ByMonth   map[string]loyalty.Points
}

// Zero reports whether the delta changes nothing.
func (l *Liability) Zero() bool {
	if l.Available != 0 || l.Pending != 0 || l.Held != 0 {
		return false
	}
	for _, n := range l.ByMonth {
		if n != 0 {
			return false
		}
	}
	return true
}

// Day is the UTC day a change counts on. Tenants have no time zone of
// their own yet, so reports are in UTC days.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Batch collects the deltas of the records of one stream batch, per tenant.
type Batch struct {
	Activity  map[string]map[Key]*Counters // tenant → aggregate → delta
	Liability map[string]*Liability        // tenant → delta
}

// NewBatch is an empty batch.
func NewBatch() *Batch {
	return &Batch{Activity: map[string]map[Key]*Counters{}, Liability: map[string]*Liability{}}
}

// Items is how many aggregate items the batch writes.
func (b *Batch) Items() int {
	n := 0
	for _, a := range b.Activity {
		n += len(a)
	}
	for _, l := range b.Liability {
		if !l.Zero() {
			n++
		}
	}
	return n
}

// Empty reports whether the batch writes nothing.
func (b *Batch) Empty() bool { return b.Items() == 0 }

func orNone(id string) string {
	if id == "" {
		return None
	}
	return id
}

// count adds c on a day to the tenant's, the point of sale's and the staff
// member's aggregates.
func (b *Batch) count(tenant, day, pos, staff string, c Counters) {
	if c.Zero() {
		return
	}
	month := day[:7]
	for _, k := range []Key{{ScopeDay, day, ""}, {ScopePOS, day, orNone(pos)}, {ScopeStaff, day, orNone(staff)},
		{ScopePOSMonth, month, orNone(pos)}, {ScopeStaffMonth, month, orNone(staff)}} {
		b.count1(tenant, k, c)
	}
}

// AddEntry counts a new ledger entry: its deltas move the liability, and
// its kind says which activity it is.
func (b *Batch) AddEntry(tenant string, e *loyalty.Entry) {
	l := b.Liability[tenant]
	if l == nil {
		l = &Liability{ByMonth: map[string]loyalty.Points{}}
		b.Liability[tenant] = l
	}
	l.Available += e.Available
	l.Pending += e.Pending
	l.Held += e.Held
	for m, n := range ExpiringOf(e) {
		l.ByMonth[m] += n
	}
	var c Counters
	switch e.Kind {
	case loyalty.KindAccrue, loyalty.KindWelcome, loyalty.KindReferral, loyalty.KindBirthday:
		// Cashback and the bonuses: welcome, referral rewards, birthdays.
		c.Accrued = e.Amount
	case loyalty.KindCapture:
		c.Redeemed = -e.Held
	case loyalty.KindExpire:
		c.Expired = -e.Amount
	case loyalty.KindAdjust:
		c.Adjusted = e.Amount
	case loyalty.KindRefund:
		// Lots given back are spent points returned; lots taken from are
		// accrued points reversed.
		for _, n := range e.Lots {
			if n > 0 {
				c.RefundedPoints += n
			} else {
				c.RefundedAccrual -= n
			}
		}
	}
	b.count(tenant, Day(e.At), e.PointOfSale, e.StaffID, c)
}

// UnknownMonth holds available points of entries written before entries
// said which months they touched (none in a table made since).
const UnknownMonth = "unknown"

// ExpiringOf is an entry's change of available points per expiry month;
// what the entry does not place (an entry from before Expiring existed)
// goes to UnknownMonth, so the months always sum to the available points.
func ExpiringOf(e *loyalty.Entry) map[string]loyalty.Points {
	var placed loyalty.Points
	out := make(map[string]loyalty.Points, len(e.Expiring)+1)
	for m, n := range e.Expiring {
		out[m] += n
		placed += n
	}
	if rest := e.Available - placed; rest != 0 {
		out[UnknownMonth] += rest
	}
	return out
}

// AddMember counts a new member on the day the account was created.
func (b *Batch) AddMember(tenant string, createdAt time.Time) {
	b.count(tenant, Day(createdAt), "", "", Counters{NewMembers: 1})
}

// AddOrderChange counts what an order's write did: it closed (an order
// closed, its money paid), or refunds were applied (their money). was is
// the order before the write (nil for a new one).
func (b *Batch) AddOrderChange(tenant string, was, now *loyalty.Order) {
	if now.State == loyalty.OrderClosed && (was == nil || was.State != loyalty.OrderClosed) {
		b.count(tenant, Day(now.ClosedAt), now.PointOfSale, now.ClosedBy, Counters{OrdersClosed: 1, Sales: now.MoneyPaid})
	}
	seen := map[string]bool{}
	if was != nil {
		for _, r := range was.Refunds {
			seen[r.ID] = true
		}
	}
	for _, r := range now.Refunds {
		if !seen[r.ID] {
			pos := r.PointOfSale
			if pos == "" && r.StaffID == "" {
				pos = now.PointOfSale // refunds from before they carried who
			}
			b.count(tenant, Day(r.At), pos, r.StaffID, Counters{RefundedMoney: r.Amount})
		}
	}
}

// ---- report arithmetic ----

// Rate is part/whole in basis points (a percentage with two decimals),
// from integer counts, rounded half up; 0 when there is no base.
func Rate(part, whole int64) loyalty.BasisPoints {
	if whole <= 0 || part <= 0 {
		return 0
	}
	return loyalty.BasisPoints((part*10000*2 + whole) / (2 * whole))
}

// Months lists the months of a schedule in order: calendar months first,
// then NeverExpires and UnknownMonth; months at zero are left out.
func Months(byMonth map[string]loyalty.Points) []string {
	var out []string
	for m, n := range byMonth {
		if n != 0 {
			out = append(out, m)
		}
	}
	rank := func(m string) int {
		switch m {
		case loyalty.NeverExpires:
			return 1
		case UnknownMonth:
			return 2
		}
		return 0
	}
	sort.Slice(out, func(i, j int) bool {
		if rank(out[i]) != rank(out[j]) {
			return rank(out[i]) < rank(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// Merge adds the deltas of o to b.
func (b *Batch) Merge(o *Batch) {
	for tn, a := range o.Activity {
		for k, c := range a {
			b.count1(tn, k, *c)
		}
	}
	for tn, l := range o.Liability {
		m := b.Liability[tn]
		if m == nil {
			m = &Liability{ByMonth: map[string]loyalty.Points{}}
			b.Liability[tn] = m
		}
		m.Available += l.Available
		m.Pending += l.Pending
		m.Held += l.Held
		for mo, n := range l.ByMonth {
			m.ByMonth[mo] += n
		}
	}
}

func (b *Batch) count1(tenant string, k Key, c Counters) {
	a := b.Activity[tenant]
	if a == nil {
		a = map[Key]*Counters{}
		b.Activity[tenant] = a
	}
	if a[k] == nil {
		a[k] = &Counters{}
	}
	a[k].Add(c)
}
