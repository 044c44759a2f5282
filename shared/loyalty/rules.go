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

// RedeemLimit is the most points an order of this total may be paid with:
// maxRedeemPercent of the total, in points, rounded down.
func RedeemLimit(p *Program, total Money) Points {
	share := Money(mulDiv(int64(total), int64(p.MaxRedeemPercent), int64(FullPercent)))
	return MoneyToPoints(share, p.Value())
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

// AccrualBase is the money on which cashback is computed: the part of the
// order paid in money (after points and discounts). When items are given, it
// is spread over them in proportion to their amounts, so later rules (category
// rates, no accrual on discounted goods) can weigh each line.
func AccrualBase(moneyPaid Money, items []Item) Money {
	return moneyPaid
}

// Cashback is the points a money base earns: base × cashbackPercent, in
// points at the program's point value, rounded down to a hundredth of a point.
func Cashback(p *Program, base Money) Points {
	if base <= 0 || p.CashbackPercent <= 0 {
		return 0
	}
	return Points(mulDiv(int64(base), int64(p.CashbackPercent)*100, int64(FullPercent)*int64(p.Value())))
}

// Accrual is the cashback of a closed order. Stopped programs accrue nothing:
// members keep and spend what they have, but earn no more.
func Accrual(p *Program, moneyPaid Money, items []Item) Points {
	if p == nil || p.Status != ProgramActive {
		return 0
	}
	return Cashback(p, AccrualBase(moneyPaid, items))
}

// AccrualQuote is what an order would earn with no points and with the most
// points, for the cashier to show before the customer decides.
func AccrualQuote(p *Program, total Money, maxPoints Points, items []Item) (ifNoPoints, ifMaxPoints Points) {
	ifNoPoints = Accrual(p, total, items)
	ifMaxPoints = Accrual(p, max(0, total-PointsToMoney(maxPoints, p.Value())), items)
	return
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
