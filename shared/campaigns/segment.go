package campaigns

import (
	"regexp"
	"strconv"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Where the worker finds a segment's candidates. An index lists exactly the
// members having one attribute value and is read in pages of member ids:
// its cost follows the members with that value, not the tenant's members.
// The other criteria (tier, spend, inactivity, last point of sale) change
// on every closed order; indexing them would add writes to the hot path, so
// they are checked on each candidate's state, read once per candidate, and
// a segment made only of them pages through the tenant's member directory.
const (
	SourceGroup      = loyalty.SegmentGroup // T#t#SEGIX#group#<g> / M#m, written with the member's groups
	SourceBirthMonth = "birthMonth"         // T#t#SEGIX#birthMonth#<mm> / M#m, written at enrollment
	SourceDirectory  = "directory"          // T#t / MEMBER#m: every member
)

// Source is the index a segment's candidates are read from, and its value:
// the narrowest one its criteria allow (a group is usually smaller than a
// birth month, which is a twelfth of the members).
func (s Segment) Source() (source, value string) {
	switch {
	case s.Group != "":
		return SourceGroup, s.Group
	case s.BirthMonth != 0:
		return SourceBirthMonth, BirthMonthKey(s.BirthMonth)
	}
	return SourceDirectory, ""
}

// BirthMonthKey is the index value of a month, "01" to "12".
func BirthMonthKey(m int) string { return strconv.Itoa(100 + m)[1:] }

// BirthMonthOf is the month of a birth date YYYY-MM-DD (or --MM-DD), 0 when
// there is none.
func BirthMonthOf(date string) int {
	if len(date) < 7 {
		return 0
	}
	m, err := strconv.Atoi(date[len(date)-5 : len(date)-3])
	if err != nil || m < 1 || m > 12 {
		return 0
	}
	return m
}

var nameRe = regexp.MustCompile(`^[\p{L}\p{N}_.\- ]{1,64}$`)

// maxPeriod bounds spend and inactivity periods: members' daily activity is
// kept this far back.
const maxPeriod = loyalty.StatsRetention

const defaultSpentPeriod = "P30D"

func period(field, s string) (loyalty.Duration, error) {
	d, err := loyalty.ParseDuration(s)
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err != nil || d.IsZero() || d.AddTo(ref).Sub(ref) > maxPeriod {
		return loyalty.Duration{}, loyalty.Invalid(field, "%s must be an ISO 8601 duration of at most 92 days, such as P30D", field)
	}
	return d, nil
}

// Validate checks a segment's fields.
func (s Segment) Validate() error {
	if s.Tier != "" && !nameRe.MatchString(s.Tier) {
		return loyalty.Invalid("segment.tier", "not a tier name")
	}
	if s.Group != "" && !nameRe.MatchString(s.Group) {
		return loyalty.Invalid("segment.group", "not a group name")
	}
	if s.LastPointOfSale != "" && !nameRe.MatchString(s.LastPointOfSale) {
		return loyalty.Invalid("segment.lastPointOfSale", "not a point of sale id")
	}
	if s.BirthMonth < 0 || s.BirthMonth > 12 {
		return loyalty.Invalid("segment.birthMonth", "birthMonth is 1-12")
	}
	if s.SpentFrom < 0 || s.SpentTo < 0 || (s.SpentTo != 0 && s.SpentTo < s.SpentFrom) {
		return loyalty.Invalid("segment.spentTo", "spentTo must not be below spentFrom")
	}
	if s.SpentPeriod != "" {
		if _, err := period("segment.spentPeriod", s.SpentPeriod); err != nil {
			return err
		}
	}
	if s.InactiveFor != "" {
		if _, err := period("segment.inactiveFor", s.InactiveFor); err != nil {
			return err
		}
	}
	return nil
}

func (s Segment) spendSet() bool { return s.SpentFrom != 0 || s.SpentTo != 0 }

// Matches decides whether a member belongs to the segment at now. lastPOS
// reads the point of sale of the member's latest visit; it is called only
// when the segment asks for it.
func (s Segment) Matches(st *loyalty.MemberState, now time.Time, lastPOS func() (string, error)) (bool, error) {
	a := &st.Account
	if a.Status == loyalty.MemberBlocked {
		return false, nil
	}
	if s.Tier != "" && a.TierNow(now) != s.Tier {
		return false, nil
	}
	if s.Group != "" && !contains(st.Stats.Groups, s.Group) {
		return false, nil
	}
	if s.BirthMonth != 0 && BirthMonthOf(a.BirthDate) != s.BirthMonth {
		return false, nil
	}
	if s.spendSet() {
		p := s.SpentPeriod
		if p == "" {
			p = defaultSpentPeriod
		}
		d, err := period("segment.spentPeriod", p)
		if err != nil {
			return false, err
		}
		spend := st.Stats.SpendWithin(d, now)
		if spend < s.SpentFrom || (s.SpentTo != 0 && spend > s.SpentTo) {
			return false, nil
		}
	}
	if s.InactiveFor != "" {
		d, err := period("segment.inactiveFor", s.InactiveFor)
		if err != nil {
			return false, err
		}
		since := now.AddDate(-d.Years, -d.Months, -d.Days).Add(-d.Clock)
		if a.CreatedAt.After(since) || lastVisit(st.Stats).After(since) {
			return false, nil
		}
	}
	if s.LastPointOfSale != "" {
		pos, err := lastPOS()
		if err != nil {
			return false, err
		}
		if pos != s.LastPointOfSale {
			return false, nil
		}
	}
	return true, nil
}

// lastVisit is the start of the latest day with a visit in the member's
// activity counters (zero when none is kept).
func lastVisit(s loyalty.Stats) time.Time {
	var last int64 = -1
	for k, b := range s.Days {
		if b.Visits <= 0 {
			continue
		}
		if d, err := strconv.ParseInt(k, 10, 64); err == nil && d > last {
			last = d
		}
	}
	if last < 0 {
		return time.Time{}
	}
	return time.Unix(last*86400, 0).UTC()
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
