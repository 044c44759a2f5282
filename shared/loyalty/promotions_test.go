package loyalty

import "testing"

func TestStampRun(t *testing.T) {
	for _, c := range []struct {
		name                 string
		p, k, n, m           int
		same                 bool
		free, counted, after int
	}{
		{"first stamp", 0, 1, 5, 1, false, 0, 1, 1},
		{"card fills, gift waits for the next visit", 3, 4, 5, 1, false, 0, 2, 5},
		{"full card: the first unit is free, then stamps again", 5, 3, 5, 1, false, 1, 3, 2},
		{"both: the order's own sixth unit is free", 0, 7, 5, 1, true, 1, 7, 1},
		{"both: two gifts of m=2 in one order", 0, 8, 2, 2, true, 4, 8, 0},
		{"across: a refilled card within one order waits", 5, 8, 5, 1, false, 1, 6, 5},
	} {
		free, counted, after := stampRun(c.p, c.k, c.n, c.m, c.same)
		if free != c.free || counted != c.counted || after != c.after {
			t.Errorf("%s: free %d counted %d after %d; want %d %d %d", c.name, free, counted, after, c.free, c.counted, c.after)
		}
	}
}

// 2+1 within a receipt on a mixed order: the cheapest eligible units are
// free, lines of other goods are left alone, quantities count.
func TestPlanPromotionsReceipt(t *testing.T) {
	promos := []Promotion{{ID: "pr_1", Kind: KindBuyNGetM, N: 2, M: 1, Categories: []string{"coffee"}, Scope: ScopeReceipt, DiscountPercent: FullPercent}}
	items := []Item{
		{SKU: "latte", Category: "coffee", Amount: 42000, Quantity: 2},
		{SKU: "espresso", Category: "coffee", Amount: 15000},
		{SKU: "croissant", Category: "bakery", Amount: 9990},
		{SKU: "cappuccino", Category: "coffee", Amount: 60000, Quantity: 3},
	}
	plan := planPromotions(promos, items, nil, t0)
	if plan.discount != 35000 || plan.results[0].FreeUnits != 2 || len(plan.lines) != 2 ||
		plan.lines[0].Line != 1 || plan.lines[0].Discount != 15000 || plan.lines[1].Line != 3 || plan.lines[1].Discount != 20000 {
		t.Fatalf("plan: %+v", plan)
	}
	if len(plan.stamps) != 0 {
		t.Fatalf("a receipt promotion counted stamps: %v", plan.stamps)
	}
	// Half price instead of free, and of one group only the first applies.
	promos[0].DiscountPercent = FullPercent / 2
	promos[0].Group = "g"
	promos = append(promos, Promotion{ID: "pr_2", Kind: KindBuyNGetM, N: 1, M: 1, SKUs: []string{"croissant"}, Scope: ScopeReceipt, DiscountPercent: FullPercent, Group: "g"})
	plan = planPromotions(promos, items, nil, t0)
	if plan.discount != 17500 || plan.results[1].Reason == "" || plan.groups["g"] != "pr_1" {
		t.Fatalf("grouped plan: %+v", plan)
	}
}
