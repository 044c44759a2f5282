package api_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

// members joins n members without the SMS round (the import path), so a
// test can close orders for many members at once.
func members(t *testing.T, e *apitest.Env, n int) []string {
	t.Helper()
	owner := loyalty.Caller{TenantID: e.TenantID, Role: loyalty.RoleOwner, KeyID: "test"}
	ids := make([]string, n)
	for i := range ids {
		id, err := e.App.Service.ImportMember(context.Background(), owner, loyalty.ImportRow{Phone: fmt.Sprintf("+7912555%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

func closeBody(memberID string, total int64, coupons ...string) map[string]any {
	return map[string]any{"member": map[string]any{"id": memberID}, "total": total, "coupons": coupons}
}

func couponUses(t *testing.T, e *apitest.Env, code string) int64 {
	t.Helper()
	return num(e.Do("GET", "/v1/coupons/"+code, nil, nil).Want(200).JSON(), "uses")
}

func TestCouponSingleUseLifecycle(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	c := e.Do("POST", "/v1/coupons", map[string]any{"code": "welcome-10", "usage": "single", "discountPercent": 10}, nil).Want(201).JSON()
	if c["code"] != "WELCOME-10" || num(c, "limit") != 1 || c["discountPercent"].(float64) != 10 {
		t.Fatalf("created: %v", c)
	}
	if r := e.Do("POST", "/v1/coupons", map[string]any{"code": "Welcome-10", "usage": "multi", "points": 100}, nil); r.Status != 409 || r.Code() != "coupon_code_taken" {
		t.Fatalf("same code again: %d %s", r.Status, r.Body)
	}
	ids := members(t, e, 2)
	a, b := ids[0], ids[1]

	// Quote shows the effect without using the coupon.
	q := e.Do("POST", "/v1/orders/o1/quote", closeBody(a, 100000, "welcome-10", "NOPE"), nil).Want(200).JSON()
	cs := q["coupons"].([]any)
	if num(q, "couponDiscount") != 10000 || cs[0].(map[string]any)["applied"] != true || num(cs[0].(map[string]any), "discount") != 10000 ||
		cs[1].(map[string]any)["reason"] != "coupon_not_found" || num(q["accrual"].(map[string]any), "ifNoPoints") != 4500 {
		t.Fatalf("quote: %v", q)
	}
	if couponUses(t, e, "WELCOME-10") != 0 {
		t.Fatal("a quote used the coupon")
	}
	// An unknown coupon refuses the close: nothing is applied, the order stays unclosed.
	if r := e.Do("POST", "/v1/orders/o1/close", closeBody(a, 100000, "WELCOME-10", "NOPE"), apitest.Key()); r.Status != 404 || r.Code() != "coupon_not_found" {
		t.Fatalf("unknown coupon: %d %s", r.Status, r.Body)
	}
	if couponUses(t, e, "WELCOME-10") != 0 || e.Balance(a).Available != 0 {
		t.Fatal("a refused close changed something")
	}
	cl := e.Do("POST", "/v1/orders/o1/close", closeBody(a, 100000, "WELCOME-10"), apitest.Key()).Want(200).JSON()
	// 10 % off 1000.00; 5 % back on the 900.00 paid
	if num(cl, "couponDiscount") != 10000 || num(cl, "moneyPaid") != 90000 || num(cl, "accrued") != 4500 {
		t.Fatalf("close: %v", cl)
	}
	if couponUses(t, e, "WELCOME-10") != 1 {
		t.Fatal("the close did not count the use")
	}
	// Used up: another member's order is refused, and quote says why.
	if r := e.Do("POST", "/v1/orders/o2/close", closeBody(b, 50000, "WELCOME-10"), apitest.Key()); r.Status != 409 || r.Code() != "coupon_exhausted" {
		t.Fatalf("second use: %d %s", r.Status, r.Body)
	}
	if q := e.Do("POST", "/v1/orders/o2/quote", closeBody(b, 50000, "WELCOME-10"), nil).Want(200).JSON(); q["coupons"].([]any)[0].(map[string]any)["reason"] != "coupon_exhausted" {
		t.Fatalf("quote of a used coupon: %v", q)
	}
	// A partial refund keeps the coupon used; the full refund gives it back.
	e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "r1", "amount": 40000}, apitest.Key()).Want(200)
	if couponUses(t, e, "WELCOME-10") != 1 {
		t.Fatal("a partial refund gave the coupon back")
	}
	e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "r2", "amount": 50000}, apitest.Key()).Want(200)
	e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "r2", "amount": 50000}, apitest.Key()).Want(200) // applied once
	if n := couponUses(t, e, "WELCOME-10"); n != 0 {
		t.Fatalf("after the full refund the coupon has %d uses", n)
	}
	ord := e.Do("GET", "/v1/orders/o1", nil, nil).Want(200).JSON()
	if oc := ord["coupons"].([]any)[0].(map[string]any); oc["returned"] != true || num(oc, "discount") != 10000 {
		t.Fatalf("order's coupons: %v", ord["coupons"])
	}
	e.Do("POST", "/v1/orders/o2/close", closeBody(b, 50000, "WELCOME-10"), apitest.Key()).Want(200)
	e.Verify(a)
	e.Verify(b)
}

// A single-use coupon on 20 concurrent closes of different members' orders
// applies exactly once; the 19 others are refused and leave nothing behind.
func TestCouponSingleUseUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.Do("POST", "/v1/coupons", map[string]any{"code": "ONCE-ONLY", "usage": "single", "discountAmount": 5000}, nil).Want(201)
	ids := members(t, e, 20)
	var wg sync.WaitGroup
	statuses := make([]int, len(ids))
	codes := make([]string, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Try("POST", fmt.Sprintf("/v1/orders/c%d/close", i), closeBody(id, 20000, "ONCE-ONLY"), apitest.Key())
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
			if r.Status != 200 {
				codes[i] = r.Code()
			}
		}()
	}
	wg.Wait()
	ok := 0
	for i := range ids {
		switch {
		case statuses[i] == 200:
			ok++
			if b := e.Balance(ids[i]); b.Available != 750 { // 5 % of 150.00
				t.Errorf("the winner earned %d", b.Available)
			}
		case statuses[i] == 409 && codes[i] == "coupon_exhausted":
			if b := e.Balance(ids[i]); b.Available != 0 {
				t.Errorf("a refused close accrued %d", b.Available)
			}
			if r := e.Do("GET", fmt.Sprintf("/v1/orders/c%d", i), nil, nil); r.Status != 404 {
				t.Errorf("a refused close wrote its order: %d", r.Status)
			}
		default:
			t.Errorf("close %d: %d %s", i, statuses[i], codes[i])
		}
	}
	if ok != 1 || couponUses(t, e, "ONCE-ONLY") != 1 {
		t.Fatalf("%d closes used the single-use coupon (uses %d)", ok, couponUses(t, e, "ONCE-ONLY"))
	}
}

// A multi-use coupon's per-member limit holds under concurrency: 6 closes
// of one member at once, limit 2 per member, 3 in all.
func TestCouponPerMemberLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	e.Do("POST", "/v1/coupons", map[string]any{"code": "TWICE", "usage": "multi", "limit": 3, "perMemberLimit": 2, "points": 1000}, nil).Want(201)
	ids := members(t, e, 2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Try("POST", fmt.Sprintf("/v1/orders/m%d/close", i), closeBody(ids[0], 10000, "TWICE"), apitest.Key())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status == 200:
				ok++
			case r.Status != 409 || r.Code() != "coupon_exhausted":
				t.Errorf("close %d: %d %s", i, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	// each use: 10.00 bonus points + 5 % of 100.00
	if b := e.Balance(ids[0]); ok != 2 || b.Available != 2*(1000+500) {
		t.Fatalf("%d closes used the coupon; balance %+v", ok, b)
	}
	q := e.Do("POST", "/v1/orders/q/quote", closeBody(ids[0], 10000, "TWICE"), nil).Want(200).JSON()
	if q["coupons"].([]any)[0].(map[string]any)["reason"] != "coupon_exhausted" {
		t.Fatalf("quote past the member's limit: %v", q)
	}
	e.Do("POST", "/v1/orders/other/close", closeBody(ids[1], 10000, "TWICE"), apitest.Key()).Want(200)
	if r := e.Do("POST", "/v1/orders/other2/close", closeBody(ids[1], 10000, "TWICE"), apitest.Key()); r.Code() != "coupon_exhausted" {
		t.Fatalf("past the total limit: %d %s", r.Status, r.Body)
	}
	e.Verify(ids[0])
}

func TestCouponRulesAndBadInput(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	now := apitest.Start
	for _, c := range []map[string]any{
		{"code": "LATER", "usage": "multi", "discountPercent": 5, "validFrom": now.Add(time.Hour)},
		{"code": "GONE", "usage": "multi", "discountPercent": 5, "validUntil": now},
		{"code": "SPRING-A", "usage": "multi", "discountPercent": 10, "group": "spring"},
		{"code": "SPRING-B", "usage": "multi", "discountAmount": 3000, "group": "spring"},
		{"code": "FIXED", "usage": "multi", "discountAmount": 100000},
	} {
		e.Do("POST", "/v1/coupons", c, nil).Want(201)
	}
	m := members(t, e, 1)[0]
	for _, c := range []struct {
		coupons []string
		status  int
		code    string
	}{
		{[]string{"LATER"}, 422, "coupon_not_yet_valid"},
		{[]string{"GONE"}, 422, "coupon_expired"},
		{[]string{"SPRING-A", "SPRING-B"}, 422, "coupon_group_conflict"},
		{[]string{"FIXED", "fixed"}, 422, "coupon_not_applicable"},
		{[]string{"bad code!"}, 404, "coupon_not_found"},
	} {
		if r := e.Do("POST", "/v1/orders/x/close", closeBody(m, 10000, c.coupons...), apitest.Key()); r.Status != c.status || r.Code() != c.code {
			t.Errorf("%v: %d %s", c.coupons, r.Status, r.Body)
		}
	}
	// Across groups coupons combine, in the order given, never beyond the total.
	q := e.Do("POST", "/v1/orders/x/quote", closeBody(m, 10000, "SPRING-A", "FIXED"), nil).Want(200).JSON()
	if num(q, "couponDiscount") != 10000 || num(q["accrual"].(map[string]any), "ifNoPoints") != 0 {
		t.Fatalf("combined: %v", q)
	}
	cl := e.Do("POST", "/v1/orders/x/close", closeBody(m, 10000, "SPRING-A", "FIXED"), apitest.Key()).Want(200).JSON()
	if num(cl, "couponDiscount") != 10000 || num(cl, "moneyPaid") != 0 {
		t.Fatalf("close: %v", cl)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"usage": "single", "discountPercent": 5, "points": 10}, "discountPercent"},
		{map[string]any{"usage": "single"}, "discountPercent"},
		{map[string]any{"usage": "single", "limit": 2, "points": 10}, "limit"},
		{map[string]any{"usage": "multi", "limit": 2, "perMemberLimit": 3, "points": 10}, "perMemberLimit"},
		{map[string]any{"code": "a b", "usage": "multi", "points": 10}, "code"},
		{map[string]any{"usage": "multi", "points": 10, "validFrom": now, "validUntil": now}, "validUntil"},
	} {
		if r := e.Do("POST", "/v1/coupons", bad.body, nil); r.Status != 422 || r.JSON()["field"] != bad.field {
			t.Errorf("%v: %d %s", bad.body, r.Status, r.Body)
		}
	}
}

func TestCouponBatch(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	r := e.Do("POST", "/v1/coupons/batch", map[string]any{"count": 150, "pattern": "SUM-####-??", "usage": "single", "discountPercent": 15}, apitest.Key()).Want(201).JSON()
	list := r["coupons"].([]any)
	re := regexp.MustCompile(`^SUM-[0-9]{4}-[A-Z]{2}$`)
	seen := map[string]bool{}
	for _, c := range list {
		code := c.(map[string]any)["code"].(string)
		if !re.MatchString(code) || seen[code] {
			t.Fatalf("code %q", code)
		}
		seen[code] = true
	}
	if len(list) != 150 || num(r, "count") != 150 {
		t.Fatalf("batch: %d", len(list))
	}
	page := e.Do("GET", "/v1/coupons?limit=100", nil, nil).Want(200).JSON()
	if len(page["coupons"].([]any)) != 100 || page["next"] == nil {
		t.Fatalf("list: %v", page["next"])
	}
	first := list[0].(map[string]any)["code"].(string)
	if c := e.Do("GET", "/v1/coupons/"+first, nil, nil).Want(200).JSON(); c["batchId"] != r["batchId"] || num(c, "limit") != 1 {
		t.Fatalf("batch coupon: %v", c)
	}
	a := e.Do("POST", "/v1/coupons/batch", map[string]any{"count": 5, "alphabet": "abc", "length": 12, "usage": "multi", "points": 100}, nil).Want(201).JSON()
	if code := a["coupons"].([]any)[0].(map[string]any)["code"].(string); !regexp.MustCompile(`^[ABC]{12}$`).MatchString(code) {
		t.Fatalf("alphabet code %q", code)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"count": 100, "pattern": "AB-##", "usage": "single", "points": 1}, "pattern"}, // 100 codes for 100 coupons
		{map[string]any{"count": 1, "pattern": "a b#", "usage": "single", "points": 1}, "pattern"},
		{map[string]any{"count": 1, "alphabet": "AA", "usage": "single", "points": 1}, "alphabet"},
		{map[string]any{"count": 1, "pattern": "X-####", "length": 8, "usage": "single", "points": 1}, "length"},
		{map[string]any{"count": 1, "usage": "single"}, "discountPercent"},
	} {
		if r := e.Do("POST", "/v1/coupons/batch", bad.body, nil); r.Status != 422 || r.JSON()["field"] != bad.field {
			t.Errorf("%v: %d %s", bad.body, r.Status, r.Body)
		}
	}
}
