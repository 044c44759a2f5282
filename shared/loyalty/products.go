package loyalty

import "fmt"

// ProductFilter says which order lines a rule covers (seed 004: "all goods
// take part", "these goods take part", "these goods are excluded"). With no
// SKUs and no categories every line is covered; otherwise a line is
// covered when its SKU or its category is listed. Excluded SKUs and
// categories are never covered, whatever the lists above say.
type ProductFilter struct {
	SKUs              []string `json:"skus,omitempty" maxItems:"500" doc:"Only lines of these SKUs (or of the categories below) are covered"`
	Categories        []string `json:"categories,omitempty" maxItems:"100" doc:"Only lines of these categories (or of the SKUs above) are covered"`
	ExcludeSKUs       []string `json:"excludeSkus,omitempty" maxItems:"500" doc:"Lines of these SKUs are never covered"`
	ExcludeCategories []string `json:"excludeCategories,omitempty" maxItems:"100" doc:"Lines of these categories are never covered"`
}

// ProductRules restrict which order lines earn points and which may be
// paid with points. A line's category is the one the till sends, else the
// catalog's for its SKU.
type ProductRules struct {
	Accrual    *ProductFilter `json:"accrual,omitempty" doc:"Lines that earn cashback; others earn nothing"`
	Redemption *ProductFilter `json:"redemption,omitempty" doc:"Lines that may be paid with points; others count at a 0 % share"`
	Discount   *ProductFilter `json:"discount,omitempty" doc:"Discount programs: lines the discount is given on and counted towards its threshold; others get none"`
}

// maxFilterEntries bounds the SKUs and categories of a program's product
// rules together: the program is copied into the tenant item (400 KB).
const maxFilterEntries = 1000

// covers reports whether the filter covers a line; a nil filter covers all.
func (f *ProductFilter) covers(it Item) bool {
	if f == nil {
		return true
	}
	has := func(list []string, v string) bool {
		if v == "" {
			return false
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	if has(f.ExcludeSKUs, it.SKU) || has(f.ExcludeCategories, it.Category) {
		return false
	}
	if len(f.SKUs) == 0 && len(f.Categories) == 0 {
		return true
	}
	return has(f.SKUs, it.SKU) || has(f.Categories, it.Category)
}

func (r *ProductRules) accrual() *ProductFilter {
	if r == nil {
		return nil
	}
	return r.Accrual
}

func (r *ProductRules) redemption() *ProductFilter {
	if r == nil {
		return nil
	}
	return r.Redemption
}

// validateProductRules names the first bad entry: a malformed SKU or
// category, one listed twice, or one both covered and excluded.
func validateProductRules(r *ProductRules) error {
	if r == nil {
		return nil
	}
	total := 0
	for _, part := range []struct {
		name string
		f    *ProductFilter
	}{{"productRules.accrual", r.Accrual}, {"productRules.redemption", r.Redemption}, {"productRules.discount", r.Discount}} {
		if part.f == nil {
			continue
		}
		f := part.f
		lists := []struct {
			field    string
			list     []string
			category bool
		}{{"skus", f.SKUs, false}, {"categories", f.Categories, true}, {"excludeSkus", f.ExcludeSKUs, false}, {"excludeCategories", f.ExcludeCategories, true}}
		seen := map[string]string{} // "sku:X" or "cat:X" → field
		for _, l := range lists {
			field := part.name + "." + l.field
			total += len(l.list)
			for i, v := range l.list {
				at := fmt.Sprintf("%s[%d]", field, i)
				kind := "sku:"
				if l.category {
					kind = "cat:"
					if !categoryName.MatchString(v) {
						return Invalid(at, "category names are 1-64 letters, digits, '_', '.' or '-'")
					}
				} else if err := ValidateSKU(v); err != nil {
					return Invalid(at, "sku is 1-%d characters without leading or trailing spaces or control characters", MaxSKULength)
				}
				if prev, dup := seen[kind+v]; dup {
					if prev == l.field {
						return Invalid(at, "%q is listed twice", v)
					}
					return Invalid(at, "%q is both in %s and in %s", v, prev, l.field)
				}
				seen[kind+v] = l.field
			}
		}
	}
	if total > maxFilterEntries {
		return Invalid("productRules", "at most %d SKUs and categories in all", maxFilterEntries)
	}
	return nil
}
