package loyalty

import (
	"math/big"
	"time"
)

// Program types.
const (
	TypeBonus    = "bonus"
	TypeDiscount = "discount"
)

// Running reports whether the program is active and inside its activity
// window at now. Outside it the program behaves as stopped: members spend
// what they have, nobody joins, nothing accrues.
func (p *Program) Running(now time.Time) bool {
	if p == nil || p.Status != ProgramActive {
		return false
	}
	if !p.ActiveFrom.IsZero() && now.Before(p.ActiveFrom) {
		return false
	}
	if !p.ActiveUntil.IsZero() && !now.Before(p.ActiveUntil) {
		return false
	}
	return true
}

func (p *Program) accrueOnDiscounted() bool {
	return p.AccrueOnDiscounted == nil || *p.AccrueOnDiscounted
}

// cashbackRate of an item: the tier's rate for its category, else the
// category's rate, else the tier's rate, else the program's.
func cashbackRate(p *Program, t *Tier, category string) BasisPoints {
	if t != nil && category != "" {
		if r, ok := t.CategoryCashback[category]; ok {
			return r
		}
	}
	if c, ok := p.Categories[category]; ok && category != "" && c.CashbackPercent != nil {
		return *c.CashbackPercent
	}
	if t != nil && t.CashbackPercent != nil {
		return *t.CashbackPercent
	}
	return p.CashbackPercent
}

// maxShare of an item: the category's limit, else the tier's, else the
// program's (seed 001: a 100 ₽ ticket with 10 % → up to 10 points).
func maxShare(p *Program, t *Tier, category string) BasisPoints {
	if c, ok := p.Categories[category]; ok && category != "" && c.MaxRedeemPercent != nil {
		return *c.MaxRedeemPercent
	}
	if t != nil && t.MaxRedeemPercent != nil {
		return *t.MaxRedeemPercent
	}
	return p.MaxRedeemPercent
}

// weighted returns floor(scale × Σ(amountᵢ × rateᵢ) / (Σ amountᵢ × den)):
// a total spread over the items in proportion to their amounts, each part
// weighted by its own rate, rounded down once.
func weighted(items []Item, rate func(Item) int64, scale, den int64) int64 {
	var num, sum big.Int
	for _, it := range items {
		var x big.Int
		x.Mul(big.NewInt(int64(it.Amount)), big.NewInt(rate(it)))
		num.Add(&num, &x)
		sum.Add(&sum, big.NewInt(int64(it.Amount)))
	}
	if sum.Sign() == 0 || den == 0 {
		return 0
	}
	num.Mul(&num, big.NewInt(scale))
	sum.Mul(&sum, big.NewInt(den))
	return num.Quo(&num, &sum).Int64()
}

// RedeemLimitFor is the most points an order may be paid with: each item's
// share of the total times its maximum share (category, tier or program).
func RedeemLimitFor(p *Program, t *Tier, total Money, items []Item) Points {
	if p == nil || p.Type == TypeDiscount {
		return 0
	}
	// Without lines the product rules cannot tell goods apart: the order
	// counts as one line they cover.
	covered := p.Products.redemption().covers
	if len(items) == 0 {
		items, covered = []Item{{Amount: total}}, nil
	}
	share := weighted(items, func(it Item) int64 {
		if covered != nil && !covered(it) {
			return 0
		}
		return int64(maxShare(p, t, it.Category))
	}, int64(total), int64(FullPercent))
	return MoneyToPoints(Money(share), p.Value())
}

// AccrualFor is the cashback of an order: the money paid spread over the
// items by amount, each part at its own rate (items sold at a discount earn
// nothing when accrueOnDiscounted is off), in points rounded down; or, with
// pointsPerMoney, Points for each whole Money of that base.
func AccrualFor(p *Program, t *Tier, moneyPaid Money, items []Item, now time.Time) Points {
	if !p.Running(now) || p.Type == TypeDiscount || moneyPaid <= 0 {
		return 0
	}
	covered := p.Products.accrual().covers
	if len(items) == 0 {
		items, covered = []Item{{Amount: moneyPaid}}, nil // see RedeemLimitFor
	}
	eligible := func(it Item) bool {
		return (!it.Discounted || p.accrueOnDiscounted()) && (covered == nil || covered(it))
	}
	if ppm := p.PointsPerMoney; ppm != nil && ppm.Money > 0 {
		base := weighted(items, func(it Item) int64 {
			if eligible(it) {
				return 1
			}
			return 0
		}, int64(moneyPaid), 1)
		return Points(base/int64(ppm.Money)) * ppm.Points
	}
	return Points(weighted(items, func(it Item) int64 {
		if !eligible(it) {
			return 0
		}
		return int64(cashbackRate(p, t, it.Category))
	}, int64(moneyPaid)*100, int64(FullPercent)*int64(p.Value())))
}

// categorySpend sums item amounts per category (for tier qualification).
func categorySpend(items []Item) map[string]Money {
	var out map[string]Money
	for _, it := range items {
		if it.Category == "" {
			continue
		}
		if out == nil {
			out = map[string]Money{}
		}
		out[it.Category] += it.Amount
	}
	return out
}
