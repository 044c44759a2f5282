package loyalty

import (
	"fmt"
	"sort"
	"time"
)

// Discount programs (seed 004: "the discount is in roubles or in percent",
// "given on any purchase or from a sum"). A program gives a flat percent
// (DiscountPercent) or a flat amount (DiscountAmount) on every order, or,
// with DiscountSteps, only from an order total: the highest step whose
// threshold the eligible total reaches gives its percent or amount (5 % from
// 1 000, 10 % from 3 000). The eligible total is the order's total, or with
// productRules.discount the sum of the lines it covers (seed 004: goods
// taking part in, or excluded from, the action). The discount comes after
// promotions and coupons (on what they left of the total) and is explained
// per line in items[].applied with the program's id.

// DiscountStep is one threshold of a discount "from an order total".
type DiscountStep struct {
	From    Money       `json:"from"`
	Percent BasisPoints `json:"percentBp,omitempty"`
	Amount  Money       `json:"amount,omitempty"`
}

// maxDiscountSteps bounds a program's steps (the program is copied into the
// tenant item).
const maxDiscountSteps = 10

// validateDiscount checks the discount fields of a program.
func validateDiscount(p *Program) error {
	if p.DiscountAmount < 0 || p.DiscountAmount > MaxMoney {
		return Invalid("discountAmount", "amount must be between 0 and %d", MaxMoney)
	}
	if p.DiscountAmount > 0 && p.DiscountPercent > 0 {
		return Invalid("discountAmount", "give a discount in percent or in money, not both")
	}
	if len(p.DiscountSteps) > maxDiscountSteps {
		return Invalid("discountFrom", "at most %d steps", maxDiscountSteps)
	}
	if len(p.DiscountSteps) > 0 && (p.DiscountAmount > 0 || p.DiscountPercent > 0) {
		return Invalid("discountFrom", "steps replace the flat discount: leave discountPercent and discountAmount out")
	}
	var prev Money = -1
	for i, s := range p.DiscountSteps {
		at := fmt.Sprintf("discountFrom[%d]", i)
		if s.From <= prev || s.From < 0 || s.From > MaxMoney {
			return Invalid(at+".from", "thresholds rise from step to step, between 0 and %d", MaxMoney)
		}
		prev = s.From
		if (s.Percent > 0) == (s.Amount > 0) || s.Percent < 0 || s.Amount < 0 {
			return Invalid(at, "a step gives exactly one of percent or amount")
		}
		if s.Percent > FullPercent {
			return Invalid(at+".percent", "percent must be between 0 and 100")
		}
		if s.Amount > MaxMoney {
			return Invalid(at+".amount", "amount must be at most %d", MaxMoney)
		}
	}
	return nil
}

// discountPlan is what a discount program does to an order.
type discountPlan struct {
	percent BasisPoints // 0 for a money discount
	total   Money
	lines   []LineResult
	given   bool // the program gives a discount on this order (possibly 0)
}

// planProgramDiscount decides a discount program's discount on an order
// whose total is `total`, of which `left` remains after promotions and
// coupons, and taken are the lines' discounts of promotions. It never gives
// more than left, nor a line more than what promotions left of it; the same
// input gives the same plan.
func planProgramDiscount(p *Program, t *Tier, total, left Money, items []Item, taken []LineResult, now time.Time) discountPlan {
	if p == nil || p.Type != TypeDiscount || !p.Running(now) {
		return discountPlan{}
	}
	var filter *ProductFilter
	if p.Products != nil {
		filter = p.Products.Discount
	}
	base := total
	eligible := make([]int, 0, len(items))
	var linesSum Money
	for i, it := range items {
		if filter.covers(it) && it.Amount > 0 {
			eligible = append(eligible, i)
			linesSum += it.Amount
		}
	}
	if filter != nil {
		base = min(linesSum, total)
	}
	var plan discountPlan
	switch {
	case len(p.DiscountSteps) > 0:
		step := -1
		for i, s := range p.DiscountSteps {
			if base >= s.From {
				step = i
			}
		}
		if step < 0 {
			return discountPlan{}
		}
		plan.percent, plan.total = p.DiscountSteps[step].Percent, p.DiscountSteps[step].Amount
	case t != nil && t.DiscountPercent != nil:
		plan.percent = *t.DiscountPercent
	case p.DiscountAmount > 0:
		plan.total = p.DiscountAmount
	default:
		plan.percent = p.DiscountPercent
	}
	plan.given = plan.percent > 0 || plan.total > 0
	if plan.percent > 0 {
		plan.total = Money(mulDiv(int64(base), int64(plan.percent), int64(FullPercent)))
	}
	plan.total = max(0, min(plan.total, base, left))
	room := make([]Money, len(items))
	for i, it := range items {
		room[i] = it.Amount
	}
	for _, l := range taken {
		if l.Line >= 0 && l.Line < len(room) {
			room[l.Line] = max(0, room[l.Line]-l.Discount)
		}
	}
	plan.lines = spreadDiscount(plan.total, items, room, eligible, linesSum, p.ID)
	return plan
}

// spreadDiscount shares a discount over the eligible lines in proportion to
// their amounts (rounded down, the rest to the first lines with room), for
// items[].applied. A line carries at most its room (its amount less what
// promotions took), so with lines summing to less than the discount (a
// total beyond the lines) the rest is on no line.
func spreadDiscount(total Money, items []Item, room []Money, eligible []int, linesSum Money, id string) []LineResult {
	if total <= 0 || linesSum <= 0 {
		return nil
	}
	share := make([]Money, len(eligible))
	var given Money
	for k, i := range eligible {
		share[k] = min(room[i], Money(mulDiv(int64(total), int64(items[i].Amount), int64(linesSum))))
		given += share[k]
	}
	for k, i := range eligible {
		if given >= total {
			break
		}
		more := min(room[i]-share[k], total-given)
		share[k] += more
		given += more
	}
	out := make([]LineResult, 0, len(eligible))
	for k, i := range eligible {
		if share[k] > 0 {
			out = append(out, LineResult{Line: i, SKU: items[i].SKU, Applied: []string{id}, Discount: share[k]})
		}
	}
	return out
}

// withLines merges the discount program's lines into the promotions' ones,
// in line order.
func withLines(promo, disc []LineResult) []LineResult {
	if len(disc) == 0 {
		return promo
	}
	byLine := map[int]int{}
	out := make([]LineResult, 0, len(promo)+len(disc))
	for _, l := range promo {
		byLine[l.Line] = len(out)
		l.Applied = append([]string(nil), l.Applied...)
		out = append(out, l)
	}
	for _, l := range disc {
		if k, ok := byLine[l.Line]; ok {
			out[k].Applied = append(out[k].Applied, l.Applied...)
			out[k].Discount += l.Discount
			continue
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Line < out[b].Line })
	return out
}

// report fills a close or quote response: the percent (when a percent
// discount), the money off and the lines.
func (d discountPlan) report(percent *string, money *Money, lines *[]LineResult) {
	if !d.given {
		return
	}
	if d.percent > 0 {
		*percent = d.percent.String()
	}
	*money = d.total
	*lines = withLines(*lines, d.lines)
}
