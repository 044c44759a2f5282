package loyalty

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ValidateProgram refuses inconsistent rules, naming the field.
func ValidateProgram(p *Program) error {
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 {
		return Invalid("name", "name is required, at most 200 characters")
	}
	if p.Type != TypeBonus && p.Type != TypeDiscount {
		return Invalid("type", "type must be \"bonus\" or \"discount\"")
	}
	if p.DiscountPercent < 0 || p.DiscountPercent > FullPercent {
		return Invalid("discountPercent", "percent must be between 0 and 100")
	}
	if p.CashbackPercent < 0 || p.CashbackPercent > FullPercent {
		return Invalid("cashbackPercent", "percent must be between 0 and 100")
	}
	if p.MaxRedeemPercent < 0 || p.MaxRedeemPercent > FullPercent {
		return Invalid("maxRedeemPercent", "percent must be between 0 and 100")
	}
	if err := validateDiscount(p); err != nil {
		return err
	}
	if err := validateCardRule(p.CardNumbers); err != nil {
		return err
	}
	if p.PointValue < 0 {
		return Invalid("pointValue", "point value must be positive")
	}
	if r := p.ExpiryReminder; r != nil {
		if r.DaysBefore < 1 || r.DaysBefore > MaxReminderDays {
			return Invalid("expiryReminder.daysBefore", "daysBefore must be 1-%d", MaxReminderDays)
		}
		if r.Channel != "sms" && r.Channel != "email" && r.Channel != "push" {
			return Invalid("expiryReminder.channel", "channel is sms, email or push")
		}
	}
	durations := []struct{ field, value string }{
		{"pointsLifetime", p.PointsLifetime}, {"pendingPeriod", p.PendingPeriod}, {"holdTimeout", p.HoldTimeout},
	}
	if p.WelcomeBonus != nil {
		durations = append(durations, struct{ field, value string }{"welcomeBonus.lifetime", p.WelcomeBonus.Lifetime})
		if p.WelcomeBonus.Points < 0 || p.WelcomeBonus.Points > MaxPoints {
			return Invalid("welcomeBonus.points", "points must be between 0 and %d", MaxPoints)
		}
	}
	if r := p.Referral; r != nil {
		if r.ReferrerPoints < 0 || r.ReferrerPoints > MaxPoints {
			return Invalid("referral.referrerPoints", "points must be between 0 and %d", MaxPoints)
		}
		if r.RefereePoints < 0 || r.RefereePoints > MaxPoints {
			return Invalid("referral.refereePoints", "points must be between 0 and %d", MaxPoints)
		}
		if r.ReferrerPoints == 0 && r.RefereePoints == 0 {
			return Invalid("referral", "a referral must reward the referrer, the referee or both")
		}
		if r.MonthlyLimit < 0 || r.MonthlyLimit > 1000 {
			return Invalid("referral.monthlyLimit", "monthly limit must be between 1 and 1000")
		}
		if p.Type != TypeBonus {
			return Invalid("referral", "referral rewards are points: only bonus programs have them")
		}
	}
	if b := p.BirthdayBonus; b != nil {
		durations = append(durations, struct{ field, value string }{"birthdayBonus.lifetime", b.Lifetime})
		if b.Points <= 0 || b.Points > MaxPoints {
			return Invalid("birthdayBonus.points", "points must be between 1 and %d", MaxPoints)
		}
		if p.Type != TypeBonus {
			return Invalid("birthdayBonus", "a birthday bonus is points: only bonus programs have it")
		}
	}
	for _, d := range durations {
		if d.value == "" {
			continue
		}
		parsed, err := ParseDuration(d.value)
		if err != nil {
			return Invalid(d.field, "%v", err)
		}
		if parsed.IsZero() {
			return Invalid(d.field, "duration must be longer than zero")
		}
	}
	if p.PointsLifetime != "" && p.PendingPeriod != "" {
		ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		if !p.Lifetime().AddTo(ref).After(p.Pending().AddTo(ref)) {
			return Invalid("pendingPeriod", "pending period must be shorter than the points lifetime")
		}
	}
	if err := validateRules(p); err != nil {
		return err
	}
	if err := validateProductRules(p.Products); err != nil {
		return err
	}
	if p.TermsURL != "" {
		u, err := url.Parse(p.TermsURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(p.TermsURL) > 2000 {
			return Invalid("termsUrl", "terms URL must be an absolute http(s) URL")
		}
	}
	return nil
}

func checkPercent(field string, bp *BasisPoints) error {
	if bp != nil && (*bp < 0 || *bp > FullPercent) {
		return Invalid(field, "percent must be between 0 and 100")
	}
	return nil
}

var categoryName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// validateRules checks tiers, categories and the accrual options.
func validateRules(p *Program) error {
	if !p.ActiveFrom.IsZero() && !p.ActiveUntil.IsZero() && !p.ActiveUntil.After(p.ActiveFrom) {
		return Invalid("activeUntil", "activeUntil must be after activeFrom")
	}
	if ppm := p.PointsPerMoney; ppm != nil && (ppm.Money <= 0 || ppm.Points <= 0 || ppm.Money > MaxMoney || ppm.Points > MaxPoints) {
		return Invalid("pointsPerMoney", "money and points must both be positive")
	}
	for name, c := range p.Categories {
		f := "categories." + name
		if !categoryName.MatchString(name) {
			return Invalid(f, "category names are 1-64 letters, digits, '_', '.' or '-'")
		}
		if err := checkPercent(f+".cashbackPercent", c.CashbackPercent); err != nil {
			return err
		}
		if err := checkPercent(f+".maxRedeemPercent", c.MaxRedeemPercent); err != nil {
			return err
		}
	}
	if len(p.Tiers) > 20 {
		return Invalid("tiers", "at most 20 tiers")
	}
	names, priorities := map[string]bool{}, map[string]int{}
	for i, t := range p.Tiers {
		f := fmt.Sprintf("tiers[%d]", i)
		if strings.TrimSpace(t.Name) == "" || len(t.Name) > 100 {
			return Invalid(f+".name", "tier name is required, at most 100 characters")
		}
		if names[t.Name] {
			return Invalid(f+".name", "tier names must be unique")
		}
		names[t.Name] = true
		// Tiers of different groups may share a priority; within one group
		// (or among ungrouped tiers) priorities must not overlap.
		pk := t.Group + "|" + strconv.Itoa(t.Priority)
		if _, dup := priorities[pk]; dup {
			return Invalid(f+".priority", "priority %d is used by another tier", t.Priority)
		}
		priorities[pk] = i
		if t.Priority < 1 || t.Priority > 100 {
			return Invalid(f+".priority", "priority is 1 (lowest) to 100")
		}
		for _, pc := range []struct {
			field string
			bp    *BasisPoints
		}{{".cashbackPercent", t.CashbackPercent}, {".maxRedeemPercent", t.MaxRedeemPercent}, {".discountPercent", t.DiscountPercent}} {
			if err := checkPercent(f+pc.field, pc.bp); err != nil {
				return err
			}
		}
		for c, bp := range t.CategoryCashback {
			bp := bp
			if !categoryName.MatchString(c) {
				return Invalid(f+".categoryCashback."+c, "bad category name")
			}
			if err := checkPercent(f+".categoryCashback."+c, &bp); err != nil {
				return err
			}
		}
		q := t.Qualify
		period, err := ParseDuration(q.Period)
		if err != nil || period.IsZero() {
			return Invalid(f+".qualify.period", "period must be an ISO 8601 duration such as P30D")
		}
		ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		if period.AddTo(ref).After(ref.AddDate(2, 0, 1)) {
			return Invalid(f+".qualify.period", "period may not exceed two years")
		}
		if q.Spend < 0 || q.Spend > MaxMoney || q.Visits < 0 || q.Visits > 100000 {
			return Invalid(f+".qualify", "thresholds must be non-negative")
		}
		var sub Money
		for c, m := range q.CategorySpend {
			if m < 0 || m > MaxMoney || !categoryName.MatchString(c) {
				return Invalid(f+".qualify.categorySpend."+c, "category spend must be non-negative")
			}
			sub += m
		}
		if sub > q.Spend {
			return Invalid(f+".qualify.categorySpend", "category sub-thresholds (%d) exceed the total spend threshold (%d)", sub, q.Spend)
		}
	}
	return nil
}

// RedeemLimit is the most points an order of this total may be paid with
// under the program's own maximum share, rounded down.
func RedeemLimit(p *Program, total Money) Points {
	return RedeemLimitFor(p, nil, total, nil)
}

// MaxRedeemable is what the cashier may offer: the share limit, capped by the
// member's available points.
func MaxRedeemable(p *Program, total Money, available Points) Points {
	return max(0, min(RedeemLimit(p, total), available))
}

// Item is an order line as the shop sends it.
type Item struct {
	SKU        string
	Category   string
	Amount     Money
	Discounted bool
	Quantity   int // units on the line (0: one); Amount is the line's total
}

// Cashback is the points a money base earns at the program's own rate:
// base × cashbackPercent, in points at the program's point value, rounded down
// to a hundredth of a point.
func Cashback(p *Program, base Money) Points {
	if base <= 0 || p.CashbackPercent <= 0 {
		return 0
	}
	return Points(mulDiv(int64(base), int64(p.CashbackPercent)*100, int64(FullPercent)*int64(p.Value())))
}

// proportion returns floor(part × num / den), the share of part that num of
// den is; den 0 means the whole part.
func proportion(part Points, num, den Money) Points {
	if den <= 0 {
		return part
	}
	return Points(mulDiv(int64(part), int64(num), int64(den)))
}

// byLatestExpiry returns the indexes of takes with the latest expiry first,
// never-expiring ones first of all: points returned on a refund go where they
// live longest.
func byLatestExpiry(takes []LotTake) []int {
	idx := make([]int, len(takes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := takes[idx[i]].ExpiresAt, takes[idx[j]].ExpiresAt
		if a.IsZero() != b.IsZero() {
			return a.IsZero()
		}
		return a.After(b)
	})
	return idx
}
