package api_test

import (
	"fmt"
	"testing"
)

// Seed 004's discount "from a sum", with steps and goods excluded from the
// action: quote and close agree, and explain per line what the program gave.
func TestDiscountFromOrderTotal(t *testing.T) {
	t.Parallel()
	e := programWith(t, map[string]any{"type": "discount",
		"discountFrom": []map[string]any{{"from": 100000, "percent": 5}, {"from": 300000, "percent": 10}, {"from": 500000, "amount": 60000}},
		"productRules": map[string]any{"discount": map[string]any{"excludeCategories": []string{"tobacco"}}},
	})
	m := e.Enroll("+79125550001")
	pid := e.Do("GET", "/v1/programs", nil, nil).Want(200).JSON()["programs"].([]any)[0].(map[string]any)["programId"].(string)
	order := func(food, tobacco int64) map[string]any {
		return map[string]any{"member": map[string]any{"id": m.ID}, "total": food + tobacco, "items": []map[string]any{
			{"sku": "bread", "category": "food", "amount": food}, {"sku": "cigs", "category": "tobacco", "amount": tobacco}}}
	}
	for i, c := range []struct {
		food, tobacco int64
		pct           string
		disc          int64
	}{
		{90000, 80000, "", 0},
		{100000, 80000, "5", 5000},
		{320000, 0, "10", 32000},
		{600000, 10000, "", 60000},
	} {
		id := fmt.Sprintf("d%d", i)
		q := e.Do("POST", "/v1/orders/"+id+"/quote", order(c.food, c.tobacco), nil).Want(200).JSON()
		cl := e.Do("POST", "/v1/orders/"+id+"/close", order(c.food, c.tobacco), map[string]string{"Idempotency-Key": "k-" + id}).Want(200).JSON()
		for _, r := range []map[string]any{q, cl} {
			pct, _ := r["discountPercent"].(string)
			d, _ := r["discount"].(float64)
			if pct != c.pct || int64(d) != c.disc {
				t.Fatalf("%d+%d: %v, want %q %d", c.food, c.tobacco, r, c.pct, c.disc)
			}
			items, _ := r["items"].([]any)
			if c.disc == 0 {
				if len(items) != 0 {
					t.Fatalf("lines without a discount: %v", items)
				}
				continue
			}
			l := items[0].(map[string]any)
			if len(items) != 1 || l["sku"] != "bread" || int64(l["discount"].(float64)) != c.disc || l["applied"].([]any)[0] != pid {
				t.Fatalf("%d+%d lines: %v", c.food, c.tobacco, items)
			}
		}
	}
	for _, bad := range []map[string]any{
		{"discountFrom": []map[string]any{{"from": 1000, "percent": 5}, {"from": 500, "percent": 10}}},
		{"discountFrom": []map[string]any{{"from": 1000}}},
		{"discountFrom": []map[string]any{{"from": 1000, "percent": 5}}, "discountPercent": 3},
		{"discountAmount": 100, "discountPercent": 3},
	} {
		body := map[string]any{"name": "Bad", "type": "discount", "cashbackPercent": 0, "maxRedeemPercent": 0}
		for k, v := range bad {
			body[k] = v
		}
		if r := e.Do("POST", "/v1/programs", body, nil); r.Status != 422 || r.Code() != "validation_failed" {
			t.Errorf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
}
