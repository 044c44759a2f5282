package loyalty

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

func discountProgram() *Program {
	return &Program{ID: "p_d", Type: TypeDiscount, Status: ProgramActive, PointValue: 100}
}

func TestDiscountFromOrderTotal(t *testing.T) {
	p := discountProgram()
	p.DiscountSteps = []DiscountStep{{From: 100000, Percent: 500}, {From: 300000, Percent: 1000}, {From: 500000, Amount: 60000}}
	p.Products = &ProductRules{Discount: &ProductFilter{ExcludeCategories: []string{"tobacco"}}}
	if err := ValidateProgram(withName(p)); err != nil {
		t.Fatal(err)
	}
	items := func(food, tobacco Money) []Item {
		return []Item{{SKU: "bread", Category: "food", Amount: food}, {SKU: "cigs", Category: "tobacco", Amount: tobacco}}
	}
	for _, c := range []struct {
		food, tobacco Money
		pct           string
		disc          Money
	}{
		{90000, 50000, "", 0},         // 1 400 in all, 900 eligible: below the first step
		{100000, 50000, "5", 5000},    // 5 % of the 1 000 eligible
		{299999, 0, "5", 14999},       // just below the second step
		{300000, 900000, "10", 30000}, // tobacco neither counts nor gets any
		{700000, 0, "", 60000},        // a money step
	} {
		its := items(c.food, c.tobacco)
		_, _, res, err := Close(p, memberWith(), nil, CloseRequest{OrderID: "o", Total: c.food + c.tobacco, Items: its}, t0, Caller{})
		if err != nil {
			t.Fatal(err)
		}
		if res.DiscountPercent != c.pct || res.Discount != c.disc {
			t.Errorf("food %d tobacco %d: %q %d, want %q %d", c.food, c.tobacco, res.DiscountPercent, res.Discount, c.pct, c.disc)
		}
		if c.disc > 0 && (len(res.Items) != 1 || res.Items[0].SKU != "bread" || res.Items[0].Discount != c.disc || res.Items[0].Applied[0] != "p_d") {
			t.Errorf("food %d: lines %+v", c.food, res.Items)
		}
	}
	for _, bad := range []struct {
		steps []DiscountStep
		field string
	}{
		{[]DiscountStep{{From: 1000, Percent: 500}, {From: 1000, Percent: 700}}, "discountFrom[1].from"},
		{[]DiscountStep{{From: 1000}}, "discountFrom[0]"},
		{[]DiscountStep{{From: 1000, Percent: 500, Amount: 5}}, "discountFrom[0]"},
		{[]DiscountStep{{From: 1000, Percent: 10001}}, "discountFrom[0].percent"},
	} {
		q := discountProgram()
		q.DiscountSteps = bad.steps
		var le *Error
		if err := ValidateProgram(withName(q)); err == nil || !asError(err, &le) || le.Field != bad.field {
			t.Errorf("%+v: %v, want field %s", bad.steps, err, bad.field)
		}
	}
}

func withName(p *Program) *Program { p.Name = "D"; return p }

func asError(err error, le **Error) bool {
	e, ok := err.(*Error)
	*le = e
	return ok
}

// Over random baskets, promotions, coupons and discount programs (flat,
// money, steps, with and without a product filter), closing as the close
// path does: the same input gives the same result; promotions, coupons and
// the program together never give more than the total; no line gets more
// than its amount; a program's lines add up to at most its discount.
func TestDiscountPropertiesOverRandomBaskets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cats := []string{"food", "drink", "tobacco", ""}
	for round := 0; round < 3000; round++ {
		var items []Item
		var total Money
		for i := 0; i < rng.IntN(8); i++ {
			it := Item{SKU: fmt.Sprintf("s%d", rng.IntN(5)), Category: cats[rng.IntN(len(cats))], Amount: Money(rng.IntN(200000)), Quantity: 1 + rng.IntN(3)}
			items = append(items, it)
			total += it.Amount
		}
		if rng.IntN(4) == 0 {
			total += Money(rng.IntN(50000)) // a total beyond its lines
		}
		p := discountProgram()
		switch rng.IntN(4) {
		case 0:
			p.DiscountPercent = BasisPoints(rng.IntN(int(FullPercent) + 1))
		case 1:
			p.DiscountAmount = Money(1 + rng.IntN(300000))
		default:
			from := Money(0)
			for k := 0; k < 1+rng.IntN(3); k++ {
				from += Money(1 + rng.IntN(200000))
				s := DiscountStep{From: from}
				if rng.IntN(2) == 0 {
					s.Percent = BasisPoints(1 + rng.IntN(int(FullPercent)))
				} else {
					s.Amount = Money(1 + rng.IntN(100000))
				}
				p.DiscountSteps = append(p.DiscountSteps, s)
			}
		}
		if rng.IntN(2) == 0 {
			p.Products = &ProductRules{Discount: &ProductFilter{ExcludeCategories: []string{"tobacco"}}}
		}
		var promos []Promotion
		if rng.IntN(2) == 0 {
			promos = []Promotion{{ID: "pr_1", Kind: "buyNgetM", N: 1 + rng.IntN(2), M: 1, SKUs: []string{"s1", "s2"}, Scope: "receipt", DiscountPercent: FullPercent}}
		}
		found := map[string]Coupon{}
		var codes []string
		if rng.IntN(2) == 0 {
			found["C1"] = Coupon{Code: "C1", Usage: CouponMulti, DiscountAmount: Money(1 + rng.IntN(100000))}
			codes = append(codes, "C1")
		}
		if rng.IntN(2) == 0 {
			found["C2"] = Coupon{Code: "C2", Usage: CouponMulti, DiscountPercent: BasisPoints(rng.IntN(int(FullPercent) + 1))}
			codes = append(codes, "C2")
		}
		req := CloseRequest{OrderID: "o", Total: total, Items: items, Coupons: codes, found: found, promotions: promos}
		_, _, a, errA := Close(p, memberWith(), nil, req, t0, Caller{})
		_, _, b, errB := Close(p, memberWith(), nil, req, t0, Caller{})
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(errA, errB) {
			t.Fatalf("round %d: two closes of one input differ", round)
		}
		if errA != nil {
			continue
		}
		if all := a.PromotionDiscount + a.CouponDiscount + a.Discount; all > total || a.Discount < 0 {
			t.Fatalf("round %d: discounts %d+%d+%d of a total %d", round, a.PromotionDiscount, a.CouponDiscount, a.Discount, total)
		}
		var programLines Money
		for _, l := range a.Items {
			if l.Discount > items[l.Line].Amount {
				t.Fatalf("round %d: line %d gets %d of %d", round, l.Line, l.Discount, items[l.Line].Amount)
			}
			for _, id := range l.Applied {
				if id == p.ID {
					programLines += programShare(l, promos, items)
				}
			}
		}
		if programLines > a.Discount {
			t.Fatalf("round %d: the program's lines give %d of %d", round, programLines, a.Discount)
		}
		// With steps, nothing below the first threshold.
		if len(p.DiscountSteps) > 0 && a.Discount > 0 {
			base := total
			if p.Products != nil {
				base = 0
				for _, it := range items {
					if it.Category != "tobacco" {
						base += it.Amount
					}
				}
				base = min(base, total)
			}
			if base < p.DiscountSteps[0].From {
				t.Fatalf("round %d: a discount below the first step (%d < %d)", round, base, p.DiscountSteps[0].From)
			}
		}
	}
}

// programShare is a line's discount from the program alone: the line's
// discount less what promotions gave it.
func programShare(l LineResult, promos []Promotion, items []Item) Money {
	if len(l.Applied) == 1 {
		return l.Discount
	}
	plan := planPromotions(promos, items, nil, t0)
	for _, pl := range plan.lines {
		if pl.Line == l.Line {
			return l.Discount - pl.Discount
		}
	}
	return l.Discount
}
