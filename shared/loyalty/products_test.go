package loyalty

import (
	"errors"
	"strings"
	"testing"
)

func TestProductFilterCovers(t *testing.T) {
	lines := []Item{{SKU: "cig", Category: "tobacco"}, {SKU: "cola", Category: "bar"}, {SKU: "bun"}, {Category: "bar"}}
	for _, c := range []struct {
		name string
		f    *ProductFilter
		want string // one letter per line: y covered, n not
	}{
		{"no filter: all goods", nil, "yyyy"},
		{"empty filter: all goods", &ProductFilter{}, "yyyy"},
		{"all but a category", &ProductFilter{ExcludeCategories: []string{"tobacco"}}, "nyyy"},
		{"all but a sku", &ProductFilter{ExcludeSKUs: []string{"cola"}}, "ynyy"},
		{"only a category", &ProductFilter{Categories: []string{"bar"}}, "nyny"},
		{"only a sku or a category", &ProductFilter{SKUs: []string{"bun"}, Categories: []string{"tobacco"}}, "ynyn"},
		{"exclusion wins over inclusion", &ProductFilter{Categories: []string{"bar"}, ExcludeSKUs: []string{"cola"}}, "nnny"},
	} {
		got := ""
		for _, it := range lines {
			if c.f.covers(it) {
				got += "y"
			} else {
				got += "n"
			}
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// Seed 004: tobacco earns nothing and cannot be paid with points; the rest
// of the order keeps the program's rates. An order sent without lines
// cannot be told apart and counts as covered.
func TestProductRulesOnAccrualAndRedemption(t *testing.T) {
	p := program()
	p.Products = &ProductRules{
		Accrual:    &ProductFilter{ExcludeCategories: []string{"tobacco"}},
		Redemption: &ProductFilter{ExcludeCategories: []string{"tobacco"}, ExcludeSKUs: []string{"gift-card"}},
	}
	items := []Item{{SKU: "cig", Category: "tobacco", Amount: 30000}, {SKU: "cola", Category: "bar", Amount: 10000}, {SKU: "gift-card", Amount: 60000}}
	// accrual: 5 % of (100 + 600) = 35.00 points
	if got := AccrualFor(p, nil, 100000, items, t0); got != 3500 {
		t.Errorf("accrual %d, want 3500", got)
	}
	// redemption: 50 % of the cola only = 50.00
	if got := RedeemLimitFor(p, nil, 100000, items); got != 5000 {
		t.Errorf("redeem limit %d, want 5000", got)
	}
	if got := AccrualFor(p, nil, 100000, nil, t0); got != 5000 {
		t.Errorf("accrual without lines %d, want 5000", got)
	}
	if got := RedeemLimitFor(p, nil, 100000, nil); got != 50000 {
		t.Errorf("limit without lines %d, want 50000", got)
	}
	p.Products = &ProductRules{Accrual: &ProductFilter{SKUs: []string{"cola"}}}
	if got := AccrualFor(p, nil, 100000, items, t0); got != 500 {
		t.Errorf("only cola accrues: %d, want 500", got)
	}
}

func TestValidateProductRules(t *testing.T) {
	long := strings.Repeat("x", 129)
	many := make([]string, 501)
	for i := range many {
		many[i] = "s" + strings.Repeat("0", i%5) + string(rune('a'+i%26)) + strings.Repeat("1", i/26)
	}
	for _, c := range []struct {
		field string
		r     ProductRules
	}{
		{"productRules.accrual.categories[0]", ProductRules{Accrual: &ProductFilter{Categories: []string{"with space"}}}},
		{"productRules.accrual.skus[1]", ProductRules{Accrual: &ProductFilter{SKUs: []string{"a", long}}}},
		{"productRules.redemption.excludeSkus[0]", ProductRules{Redemption: &ProductFilter{ExcludeSKUs: []string{" a"}}}},
		{"productRules.accrual.skus[1]", ProductRules{Accrual: &ProductFilter{SKUs: []string{"a", "a"}}}},
		{"productRules.accrual.excludeCategories[0]", ProductRules{Accrual: &ProductFilter{Categories: []string{"bar"}, ExcludeCategories: []string{"bar"}}}},
		{"productRules", ProductRules{Accrual: &ProductFilter{SKUs: many[:500]}, Redemption: &ProductFilter{SKUs: many[:500], ExcludeSKUs: []string{many[500]}}}},
	} {
		p := program()
		p.Name = "ok"
		p.Products = &c.r
		var de *Error
		if err := ValidateProgram(p); !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("want a refusal of %s, got %v", c.field, err)
		}
	}
	p := program()
	p.Name = "ok"
	p.Products = &ProductRules{Accrual: &ProductFilter{SKUs: []string{"a"}, ExcludeCategories: []string{"tobacco"}}, Redemption: &ProductFilter{SKUs: []string{"a"}}}
	if err := ValidateProgram(p); err != nil {
		t.Errorf("the same sku in accrual and redemption is fine: %v", err)
	}
}
