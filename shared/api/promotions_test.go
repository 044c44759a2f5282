package api_test

import (
	"fmt"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// 2+1 on a mixed order: of six coffees (quantities counted) the two
// cheapest are free; the croissant is not part of it.
func TestPromotionTwoPlusOneOnMixedOrder(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.Do("POST", "/v1/catalog/import", "sku,name,category\nLAT,Latte,coffee\nESP,Espresso,coffee\nCRO,Croissant,bakery\nCAP,Cappuccino,coffee\n", csvHeader).Want(200)
	p := e.Do("POST", "/v1/promotions", map[string]any{"name": "2+1 coffee", "kind": "buyNgetM", "n": 2, "m": 1, "categories": []string{"coffee"}, "scope": "receipt"}, nil).Want(201).JSON()
	if p["discountPercent"].(float64) != 100 {
		t.Fatalf("default discount: %v", p)
	}
	pid := p["promotionId"].(string)
	m := members(t, e, 1)[0]
	body := map[string]any{"member": map[string]any{"id": m}, "total": 126990, "items": []map[string]any{
		{"sku": "LAT", "amount": 42000, "quantity": 2}, {"sku": "ESP", "amount": 15000}, {"sku": "CRO", "amount": 9990}, {"sku": "CAP", "amount": 60000, "quantity": 3},
	}}
	q := e.Do("POST", "/v1/orders/mix/quote", body, nil).Want(200).JSON()
	c := e.Do("POST", "/v1/orders/mix/close", body, apitest.Key()).Want(200).JSON()
	for _, r := range []map[string]any{q, c} {
		items := r["items"].([]any)
		if num(r, "promotionDiscount") != 35000 || len(items) != 2 {
			t.Fatalf("promotion: %v", r)
		}
		esp, cap := items[0].(map[string]any), items[1].(map[string]any)
		if num(esp, "line") != 1 || num(esp, "discount") != 15000 || esp["applied"].([]any)[0] != pid || num(cap, "line") != 3 || num(cap, "discount") != 20000 {
			t.Fatalf("lines: %v", items)
		}
	}
	// 5 % back on the 919.90 paid
	if num(c, "moneyPaid") != 91990 || num(c, "accrued") != 4599 {
		t.Fatalf("close: %v", c)
	}
	for _, bad := range []map[string]any{
		{"name": "x", "kind": "buyNgetM", "n": 2, "m": 1, "scope": "receipt"},                                              // nothing named
		{"name": "x", "kind": "buyNgetM", "n": 2, "m": 1, "scope": "receipt", "categories": []string{"a b"}},               // bad category
		{"name": "x", "kind": "buyNgetM", "n": 2, "m": 1, "scope": "receipt", "skus": []string{"A"}, "discountPercent": 0}, // nothing off
	} {
		if r := e.Do("POST", "/v1/promotions", bad, nil); r.Status != 422 {
			t.Errorf("%v: %d %s", bad, r.Status, r.Body)
		}
	}
}

// A stamp card (every 6th coffee free, given on a later visit) over 7
// visits with the 4th refunded in between: the progress moves in each
// order's transaction, the refund turns it back, the ledger and the member
// show it, and the hash chain covers it.
func TestStampCardOverSevenVisits(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	pid := e.Do("POST", "/v1/promotions", map[string]any{"name": "Coffee card", "kind": "buyNgetM", "n": 5, "m": 1, "skus": []string{"COFFEE"}, "scope": "acrossReceipts"}, nil).Want(201).JSON()["promotionId"].(string)
	m := members(t, e, 1)[0]
	stamps := func() int64 {
		s, _ := e.Do("GET", "/v1/members/"+m, nil, nil).Want(200).JSON()["stamps"].(map[string]any)
		if s == nil {
			return 0
		}
		return int64(s[pid].(float64))
	}
	visit := func(i int) map[string]any {
		body := map[string]any{"member": map[string]any{"id": m}, "total": 20000, "items": []map[string]any{{"sku": "COFFEE", "amount": 20000}}}
		key := apitest.Key()
		c := e.Do("POST", fmt.Sprintf("/v1/orders/v%d/close", i), body, key).Want(200).JSON()
		// A retry of the same close counts nothing again.
		e.Do("POST", fmt.Sprintf("/v1/orders/v%d/close", i), body, key).Want(200)
		return c
	}
	want := []int64{1, 2, 3, 4}
	for i := 1; i <= 4; i++ {
		c := visit(i)
		if got := stamps(); got != want[i-1] || num(c["promotions"].([]any)[0].(map[string]any), "stamps") != 1 {
			t.Fatalf("visit %d: stamps %d, close %v", i, got, c)
		}
	}
	e.Do("POST", "/v1/orders/v4/refunds", map[string]any{"refundId": "r4", "amount": 20000}, apitest.Key()).Want(200)
	if got := stamps(); got != 3 {
		t.Fatalf("after refunding visit 4: %d stamps", got)
	}
	visit(5)
	c6 := visit(6)
	if got := stamps(); got != 5 || c6["promotionDiscount"] != nil {
		t.Fatalf("visit 6 fills the card (%d) and gives nothing yet: %v", got, c6)
	}
	c7 := visit(7)
	if num(c7, "promotionDiscount") != 20000 || num(c7, "moneyPaid") != 0 || num(c7, "accrued") != 0 || stamps() != 0 {
		t.Fatalf("visit 7's coffee is free and the card starts over: %v, stamps %d", c7, stamps())
	}
	led := e.Do("GET", "/v1/members/"+m+"/ledger?limit=50", nil, nil).Want(200).JSON()["entries"].([]any)
	var sum int64
	for _, x := range led {
		if s, ok := x.(map[string]any)["stamps"].(map[string]any); ok {
			sum += int64(s[pid].(float64))
		}
	}
	// +1 for visits 1-7 (the gift counts too: 6 of 6), -1 for the refund
	if sum != 6 {
		t.Fatalf("ledger stamps sum to %d: %v", sum, led)
	}
	e.Verify(m)
}
