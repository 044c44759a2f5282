package loyalty

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Over random sets of coupons and totals: the same input gives the same
// plan, the discount never exceeds the total, at most one coupon of a group
// applies, and a refusal names the first coupon that does not apply.
func TestPlanCouponsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := program()
	groups := []string{"", "", "a", "b"}
	for round := 0; round < 2000; round++ {
		found := map[string]Coupon{}
		var codes []string
		for i := 0; i < 1+rng.IntN(6); i++ {
			c := Coupon{Code: fmt.Sprintf("C%03d", rng.IntN(8)), Usage: CouponMulti, Group: groups[rng.IntN(len(groups))]}
			switch rng.IntN(4) {
			case 3:
				c.FreeSKU = fmt.Sprintf("SKU%d", rng.IntN(3))
			case 0:
				c.DiscountPercent = BasisPoints(rng.IntN(int(FullPercent) + 1))
			case 1:
				c.DiscountAmount = Money(1 + rng.IntN(50000))
			default:
				c.Points = Points(1 + rng.IntN(5000))
			}
			if rng.IntN(10) == 0 {
				c.Limit, c.Uses = 1, 1
			}
			if _, dup := found[c.Code]; !dup {
				found[c.Code] = c
			}
			codes = append(codes, c.Code)
		}
		if rng.IntN(10) == 0 {
			codes = append(codes, "UNKNOWN")
		}
		total := Money(rng.IntN(100000))
		var items []Item
		for i := 0; i < rng.IntN(3); i++ {
			items = append(items, Item{SKU: fmt.Sprintf("SKU%d", rng.IntN(3)), Amount: Money(1 + rng.IntN(20000)), Quantity: rng.IntN(4)})
		}
		a := planCoupons(p, codes, found, "m_1", false, total, nil, nil, items, t0)
		b := planCoupons(p, codes, found, "m_1", false, total, nil, nil, items, t0)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round %d: two plans of one input differ", round)
		}
		if a.discount < 0 || a.discount > total {
			t.Fatalf("round %d: discount %d of a total %d", round, a.discount, total)
		}
		used := map[string]int{}
		var sum Money
		for _, r := range a.results {
			sum += r.Discount
			if r.Applied && found[r.Code].Group != "" {
				used[found[r.Code].Group]++
			}
			if c := found[r.Code]; r.Applied && c.FreeSKU != "" && (freeUnitPrice(items, c.FreeSKU) == 0 || r.Discount > freeUnitPrice(items, c.FreeSKU)) {
				t.Fatalf("round %d: free %s applied for %d on %+v", round, c.FreeSKU, r.Discount, items)
			}
			if r.Applied == (r.Reason != "") {
				t.Fatalf("round %d: %+v applied with a reason, or refused without", round, r)
			}
		}
		for g, n := range used {
			if n > 1 {
				t.Fatalf("round %d: %d coupons of group %s applied", round, n, g)
			}
		}
		if sum != a.discount || len(a.results) != len(codes) {
			t.Fatalf("round %d: results do not add up", round)
		}
		var firstRefused string
		for _, r := range a.results {
			if r.Reason != "" {
				firstRefused = r.Reason
				break
			}
		}
		if (a.err == nil) != (firstRefused == "") || (a.err != nil && string(CodeOf(a.err)) != firstRefused) {
			t.Fatalf("round %d: error %v, first refusal %q", round, a.err, firstRefused)
		}
	}
}

func TestCodeGenerator(t *testing.T) {
	g, err := NewCodeGenerator("AB-##-?", "", 0)
	if err != nil || g.Space() != 2600 {
		t.Fatalf("%v %v", g, err)
	}
	for i := 0; i < 100; i++ {
		c := g.Next()
		if len(c) != 7 || c[:3] != "AB-" || !couponCode.MatchString(c) {
			t.Fatalf("code %q", c)
		}
	}
	for _, bad := range []struct{ pattern, alphabet string }{{"ab", ""}, {"##__", ""}, {"", "A"}, {"", "ÄB"}} {
		if _, err := NewCodeGenerator(bad.pattern, bad.alphabet, 0); err == nil {
			t.Errorf("%q %q accepted", bad.pattern, bad.alphabet)
		}
	}
}
