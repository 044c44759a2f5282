package api_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// An import writes the good codes and reports the others by row; a retry
// with its key answers with the first report, a new import of the same
// codes finds them taken.
func TestCouponImportReportsRows(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.Do("POST", "/v1/coupons", map[string]any{"code": "OLD-1", "usage": "single", "points": 100}, nil).Want(201)
	codes := []string{"print-001", "PRINT-002", "x", "PRINT-001", "OLD-1", "PRINT-003"}
	for i := 0; i < 120; i++ { // more than one transaction's worth
		codes = append(codes, "BULK-"+string(rune('A'+i/26))+string(rune('A'+i%26)))
	}
	body := map[string]any{"codes": codes, "usage": "single", "discountAmount": 500, "group": "vouchers"}
	key := apitest.Key()
	rep := e.Do("POST", "/v1/coupons/import", body, key).Want(200)
	var r struct {
		Rows, Imported int
		Failed         []struct {
			Row           int
			Code, Problem string
		}
	}
	rep.Decode(&r)
	if r.Rows != 126 || r.Imported != 123 || len(r.Failed) != 3 {
		t.Fatalf("report: %s", rep.Body)
	}
	want := []struct {
		row     int
		problem string
	}{{3, "validation_failed"}, {4, "coupon_code_taken"}, {5, "coupon_code_taken"}}
	for i, w := range want {
		if r.Failed[i].Row != w.row || r.Failed[i].Problem != w.problem {
			t.Errorf("failed row %d: %+v, want %+v", i, r.Failed[i], w)
		}
	}
	again := e.Do("POST", "/v1/coupons/import", body, key).Want(200)
	if string(again.Body) != string(rep.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a retried import: %s", again.Body)
	}
	if c := e.Do("GET", "/v1/coupons/print-003", nil, nil).Want(200).JSON(); num(c, "discountAmount") != 500 || c["group"] != "vouchers" {
		t.Fatalf("imported coupon: %v", c)
	}
	second := e.Do("POST", "/v1/coupons/import", map[string]any{"codes": []string{"PRINT-003", "NEW-0001"}, "usage": "single", "points": 100}, apitest.Key()).Want(200).JSON()
	if num(second, "imported") != 1 || len(second["failed"].([]any)) != 1 {
		t.Fatalf("import of a taken code: %v", second)
	}
	for _, bad := range []map[string]any{{"codes": []string{}, "usage": "single", "points": 1}, {"codes": []string{"GOOD-1"}, "usage": "single"}} {
		if r := e.Do("POST", "/v1/coupons/import", bad, nil); r.Status != 422 {
			t.Errorf("import %v: %d %s", bad, r.Status, r.Body)
		}
	}
}

// A free-product coupon takes one unit of its SKU off (the cheapest line's
// unit price); an order without the SKU does not take it.
func TestCouponFreeProduct(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.Do("POST", "/v1/coupons", map[string]any{"code": "FREE-CROISSANT", "usage": "multi", "freeSku": "CRO-1"}, nil).Want(201)
	m := members(t, e, 1)[0]
	order := func(items ...map[string]any) map[string]any {
		total := int64(0)
		for _, it := range items {
			total += int64(it["amount"].(int))
		}
		return map[string]any{"member": map[string]any{"id": m}, "total": total, "items": items, "coupons": []string{"free-croissant"}}
	}
	q := e.Do("POST", "/v1/orders/f0/quote", order(map[string]any{"sku": "LAT-1", "amount": 25000}), nil).Want(200).JSON()
	if c := q["coupons"].([]any)[0].(map[string]any); c["applied"] != false || c["reason"] != "coupon_not_applicable" {
		t.Fatalf("quote without the product: %v", q)
	}
	if r := e.Do("POST", "/v1/orders/f0/close", order(map[string]any{"sku": "LAT-1", "amount": 25000}), apitest.Key()); r.Status != 422 || r.Code() != "coupon_not_applicable" {
		t.Fatalf("close without the product: %d %s", r.Status, r.Body)
	}
	cl := e.Do("POST", "/v1/orders/f1/close", order(map[string]any{"sku": "LAT-1", "amount": 25000}, map[string]any{"sku": "CRO-1", "amount": 36000, "quantity": 3}), apitest.Key()).Want(200).JSON()
	if num(cl, "couponDiscount") != 12000 || num(cl, "moneyPaid") != 49000 {
		t.Fatalf("close with two croissants' worth: %v", cl)
	}
	if v := e.Do("GET", "/v1/coupons/FREE-CROISSANT", nil, nil).Want(200).JSON(); v["freeSku"] != "CRO-1" || num(v, "uses") != 1 {
		t.Fatalf("coupon: %v", v)
	}
}
