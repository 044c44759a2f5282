package api_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// Seed 004's product lists over HTTP: tobacco (known from the catalog by
// SKU) earns nothing and cannot be paid with points; gift cards earn but
// cannot be paid with points.
func TestProductRules(t *testing.T) {
	t.Parallel()
	rules := map[string]any{
		"accrual":    map[string]any{"excludeCategories": []string{"tobacco"}},
		"redemption": map[string]any{"excludeCategories": []string{"tobacco"}, "excludeSkus": []string{"GIFT"}},
	}
	e := programWith(t, map[string]any{"productRules": rules, "welcomeBonus": map[string]any{"points": 100000}})
	e.Do("POST", "/v1/catalog/import", "sku,name,category\nCIG,Cigarettes,tobacco\nCOLA,Cola,bar\n", csvHeader).Want(200)
	prog := e.Do("GET", "/v1/programs", nil, nil).Want(200).JSON()["programs"].([]any)[0].(map[string]any)
	if got := prog["productRules"].(map[string]any)["redemption"].(map[string]any)["excludeSkus"].([]any); len(got) != 1 || got[0] != "GIFT" {
		t.Fatalf("program reads back: %v", prog)
	}
	m := e.Enroll("+79120000081")
	items := []map[string]any{{"sku": "CIG", "amount": 30000}, {"sku": "COLA", "amount": 10000}, {"sku": "GIFT", "amount": 60000}}
	body := map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "items": items}
	q := e.Do("POST", "/v1/orders/o1/quote", body, nil).Want(200).JSON()
	// points: 50 % of the cola only; accrual: 5 % of cola and gift card
	if num(q, "maxRedeemable") != 5000 || num(q["accrual"].(map[string]any), "ifNoPoints") != 3500 {
		t.Fatalf("quote: %v", q)
	}
	r := e.Do("POST", "/v1/orders/o1/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "points": 5001, "items": items}, apitest.Key())
	if r.Status != 422 || r.Code() != "redeem_limit_exceeded" {
		t.Fatalf("over the covered share: %d %s", r.Status, r.Body)
	}
	e.Do("POST", "/v1/orders/o1/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "points": 5000, "items": items}, apitest.Key()).Want(200)
	c := e.Do("POST", "/v1/orders/o1/close", body, apitest.Key()).Want(200).JSON()
	// 950.00 paid in money, spread over the lines: 70 % of it is covered → 5 % of 665.00
	if num(c, "redeemed") != 5000 || num(c, "accrued") != 3325 {
		t.Fatalf("close: %v", c)
	}
	e.Verify(m.ID)

	for _, bad := range []struct {
		rules map[string]any
		field string
	}{
		{map[string]any{"accrual": map[string]any{"categories": []string{"no space"}}}, "productRules.accrual.categories[0]"},
		{map[string]any{"redemption": map[string]any{"skus": []string{"A"}, "excludeSkus": []string{"A"}}}, "productRules.redemption.excludeSkus[0]"},
	} {
		r := e.Do("POST", "/v1/programs", map[string]any{"name": "Bad", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50, "productRules": bad.rules}, nil)
		if r.Status != 422 || r.JSON()["field"] != bad.field {
			t.Errorf("%v: %d %s", bad.rules, r.Status, r.Body)
		}
	}
}
