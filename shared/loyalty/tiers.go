package loyalty

import (
	"sort"
	"strconv"
	"time"
)

// Tier is a level of a program (seed 001): priority 1 is the lowest; a member
// holds the highest tier whose qualification is met within its trailing
// period, and falls back when no longer met.
type Tier struct {
	Name             string                 `json:"name"`
	Priority         int                    `json:"priority"`
	CashbackPercent  *BasisPoints           `json:"cashbackBp,omitempty"`
	CategoryCashback map[string]BasisPoints `json:"categoryCashbackBp,omitempty"`
	MaxRedeemPercent *BasisPoints           `json:"maxRedeemBp,omitempty"`
	DiscountPercent  *BasisPoints           `json:"discountBp,omitempty"` // discount programs
	Group            string                 `json:"group,omitempty"`      // only members of this group
	Qualify          Qualify                `json:"qualify"`
}

// Qualify is what a member must do within Period to hold a tier. Zero
// thresholds are met by everyone (the base tier).
type Qualify struct {
	Period        string           `json:"period"` // ISO 8601, e.g. P30D
	Spend         Money            `json:"spend,omitempty"`
	CategorySpend map[string]Money `json:"categorySpend,omitempty"`
	Visits        int              `json:"visits,omitempty"`
}

// CategoryRates override the program's rates for order items of a category.
type CategoryRates struct {
	CashbackPercent  *BasisPoints `json:"cashbackBp,omitempty"`
	MaxRedeemPercent *BasisPoints `json:"maxRedeemBp,omitempty"`
}

// PointsPerMoney accrues Points for every whole Money spent (1 point per 100 ₽)
// instead of a percentage.
type PointsPerMoney struct {
	Money  Money  `json:"money"`
	Points Points `json:"points"`
}

// TierSpan: the member holds Tier until Until (zero: open-ended).
type TierSpan struct {
	Tier  string    `json:"tier"`
	Until time.Time `json:"until,omitempty"`
}

// Bucket counts one day of a member's activity.
type Bucket struct {
	Spend      Money            `json:"spend,omitempty"`
	Visits     int              `json:"visits,omitempty"`
	Categories map[string]Money `json:"categories,omitempty"`
}

// Stats are a member's rolling activity counters, one bucket per day, kept
// only as far back as the longest tier period: tiers are evaluated from them
// without reading any history. Groups are the member's customer groups.
type Stats struct {
	Version int64             `json:"version"`
	Groups  []string          `json:"groups,omitempty"`
	Days    map[string]Bucket `json:"days,omitempty"`
}

// StatsRetention is how far back activity is kept without tiers.
const StatsRetention = 92 * 24 * time.Hour

// SpendWithin is the money spent in the trailing period ending at now.
func (s *Stats) SpendWithin(period Duration, now time.Time) Money {
	return s.window(period, now).Spend
}

// dayIndex numbers UTC days since 1970-01-01.
func dayIndex(t time.Time) int64 { return t.UTC().Unix() / 86400 }

func dayStart(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// subFrom moves t back by d.
func (d Duration) subFrom(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-d.Clock)
}

// longestPeriod is how far back tier evaluation looks.
func (p *Program) longestPeriod(ref time.Time) time.Time {
	// Activity is kept at least StatsRetention back, for selections such as
	// a bulk accrual to members who spent between two amounts.
	oldest := ref.Add(-StatsRetention)
	for _, t := range p.Tiers {
		if start := optionalDuration(t.Qualify.Period).subFrom(ref); start.Before(oldest) {
			oldest = start
		}
	}
	return oldest
}

// Record adds an order's activity to today's bucket and drops buckets older
// than any tier looks at. It does nothing for programs without tiers.
func (s *Stats) Record(p *Program, now time.Time, spend Money, visits int, categories map[string]Money) {
	if p == nil {
		return
	}
	if s.Days == nil {
		s.Days = map[string]Bucket{}
	}
	key := strconv.FormatInt(dayIndex(now), 10)
	b := s.Days[key]
	b.Spend += spend
	b.Visits += visits
	for c, m := range categories {
		if b.Categories == nil {
			b.Categories = map[string]Money{}
		}
		b.Categories[c] += m
	}
	s.Days[key] = b
	oldest := dayIndex(p.longestPeriod(now))
	for k := range s.Days {
		if d, _ := strconv.ParseInt(k, 10, 64); d < oldest {
			delete(s.Days, k)
		}
	}
}

// Unspend takes a refund off the spend of the day the order closed, if that
// day is still counted.
func (s *Stats) Unspend(day int64, amount Money) {
	key := strconv.FormatInt(day, 10)
	if b, ok := s.Days[key]; ok {
		b.Spend = max(0, b.Spend-amount)
		s.Days[key] = b
	}
}

// window sums the buckets from the day period before at up to at.
func (s *Stats) window(period Duration, at time.Time) Bucket {
	from, to := dayIndex(period.subFrom(at)), dayIndex(at)
	var sum Bucket
	for k, b := range s.Days {
		d, _ := strconv.ParseInt(k, 10, 64)
		if d < from || d > to {
			continue
		}
		sum.Spend += b.Spend
		sum.Visits += b.Visits
		for c, m := range b.Categories {
			if sum.Categories == nil {
				sum.Categories = map[string]Money{}
			}
			sum.Categories[c] += m
		}
	}
	return sum
}

func (s *Stats) inGroup(g string) bool {
	for _, x := range s.Groups {
		if x == g {
			return true
		}
	}
	return false
}

func (t *Tier) metBy(s *Stats, at time.Time) bool {
	if t.Group != "" && !s.inGroup(t.Group) {
		return false
	}
	w := s.window(optionalDuration(t.Qualify.Period), at)
	if w.Spend < t.Qualify.Spend || w.Visits < t.Qualify.Visits {
		return false
	}
	for c, m := range t.Qualify.CategorySpend {
		if w.Categories[c] < m {
			return false
		}
	}
	return true
}

// TierAt is the highest tier the member's activity meets at a time; nil when
// the program has no tiers or none is met.
func TierAt(p *Program, s *Stats, at time.Time) *Tier {
	if p == nil {
		return nil
	}
	var best *Tier
	for i := range p.Tiers {
		t := &p.Tiers[i]
		if (best == nil || t.Priority > best.Priority) && t.metBy(s, at) {
			best = t
		}
	}
	return best
}

// TierSchedule is the member's tier from now on if nothing else happens: as
// days fall out of each tier's window, qualifications lapse one by one.
func TierSchedule(p *Program, s *Stats, now time.Time) []TierSpan {
	if p == nil || len(p.Tiers) == 0 {
		return nil
	}
	// The only moments a tier can change without activity: a day's bucket
	// leaving some tier's window.
	var events []time.Time
	for k := range s.Days {
		d, _ := strconv.ParseInt(k, 10, 64)
		for _, t := range p.Tiers {
			at := optionalDuration(t.Qualify.Period).AddTo(dayStart(d + 1))
			if at.After(now) {
				events = append(events, at)
			}
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Before(events[j]) })
	name := func(t *Tier) string {
		if t == nil {
			return ""
		}
		return t.Name
	}
	spans := []TierSpan{{Tier: name(TierAt(p, s, now))}}
	for _, at := range events {
		if n := name(TierAt(p, s, at)); n != spans[len(spans)-1].Tier {
			spans[len(spans)-1].Until = at
			spans = append(spans, TierSpan{Tier: n})
		}
	}
	return spans
}

// memberTier is the tier a member's order is priced at: the one set by hand,
// else the one the activity meets.
func memberTier(p *Program, st MemberState, now time.Time) *Tier {
	if p == nil {
		return nil
	}
	if o := st.Account.TierOverride; o != "" {
		if t := p.tierByName(o); t != nil {
			return t
		}
	}
	return TierAt(p, &st.Stats, now)
}

// TierNow reads the member's tier at now: set by hand, else from the stored
// schedule.
func (a *Account) TierNow(now time.Time) string {
	if a.TierOverride != "" {
		return a.TierOverride
	}
	for _, s := range a.TierSchedule {
		if s.Until.IsZero() || now.Before(s.Until) {
			return s.Tier
		}
	}
	return a.Tier
}

// tierByName finds a tier of the program.
func (p *Program) tierByName(name string) *Tier {
	for i := range p.Tiers {
		if p.Tiers[i].Name == name {
			return &p.Tiers[i]
		}
	}
	return nil
}

// TierProgress is where a member stands on the way to the next tier (the
// card page): the tier held, the next one up the member may reach (none at
// the top), and for each of that tier's qualifications how much is done
// and needed within its trailing period.
type TierProgress struct {
	Current string
	Next    string // "" when the member holds the top tier it may reach
	Period  string // the next tier's qualifying period (ISO 8601)
	Goals   []TierGoal
}

// TierGoal is one qualification of the next tier. Kind is "spend" (Money,
// hundredths), "category" (Money spent in Category) or "visits" (count).
type TierGoal struct {
	Kind     string
	Category string
	Done     int64 // capped at Need
	Need     int64
}

// Left is what is still missing.
func (g TierGoal) Left() int64 { return max(0, g.Need-g.Done) }

// ProgressOf reads a member's progress towards the next tier; ok is false
// when the program has no tiers. The next tier is the lowest one above the
// tier held (a tier set by hand counts as held) that the member's groups
// allow; the goals are measured in the next tier's own window.
func ProgressOf(p *Program, st *Stats, a *Account, now time.Time) (TierProgress, bool) {
	if p == nil || len(p.Tiers) == 0 {
		return TierProgress{}, false
	}
	cur := p.tierByName(a.TierNow(now))
	out := TierProgress{}
	if cur != nil {
		out.Current = cur.Name
	}
	var next *Tier
	for i := range p.Tiers {
		t := &p.Tiers[i]
		if (cur != nil && t.Priority <= cur.Priority) || (t.Group != "" && !st.inGroup(t.Group)) {
			continue
		}
		if next == nil || t.Priority < next.Priority {
			next = t
		}
	}
	if next == nil {
		return out, true
	}
	out.Next, out.Period = next.Name, next.Qualify.Period
	w := st.window(optionalDuration(next.Qualify.Period), now)
	q := next.Qualify
	if q.Spend > 0 {
		out.Goals = append(out.Goals, TierGoal{Kind: "spend", Done: int64(min(w.Spend, q.Spend)), Need: int64(q.Spend)})
	}
	cats := make([]string, 0, len(q.CategorySpend))
	for c := range q.CategorySpend {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		need := q.CategorySpend[c]
		out.Goals = append(out.Goals, TierGoal{Kind: "category", Category: c, Done: int64(min(w.Categories[c], need)), Need: int64(need)})
	}
	if q.Visits > 0 {
		out.Goals = append(out.Goals, TierGoal{Kind: "visits", Done: int64(min(w.Visits, q.Visits)), Need: int64(q.Visits)})
	}
	return out, true
}
