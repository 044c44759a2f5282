package loyalty

import (
	"net/url"
	"sort"
	"strings"
	"time"
)

// ValidateProgram refuses inconsistent rules, naming the field.
func ValidateProgram(p *Program) error {
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 {
		return Invalid("name", "name is required, at most 200 characters")
	}
	if p.Type != "bonus" {
		return Invalid("type", "type must be \"bonus\"")
	}
	if p.CashbackPercent < 0 || p.CashbackPercent > FullPercent {
		return Invalid("cashbackPercent", "percent must be between 0 and 100")
	}
	if p.MaxRedeemPercent < 0 || p.MaxRedeemPercent > FullPercent {
		return Invalid("maxRedeemPercent", "percent must be between 0 and 100")
	}
	if p.PointValue < 0 {
		return Invalid("pointValue", "point value must be positive")
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
	if p.TermsURL != "" {
		u, err := url.Parse(p.TermsURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(p.TermsURL) > 2000 {
			return Invalid("termsUrl", "terms URL must be an absolute http(s) URL")
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
