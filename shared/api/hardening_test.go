package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

// bearer is the header set of a key.
func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

// with adds headers to a set.
func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// cashierAt creates a point of sale and a cashier key bound to it.
func cashierAt(e *apitest.Env, name string) (pos string, headers map[string]string) {
	pos = e.Do("POST", "/v1/points-of-sale", map[string]any{"name": name}, nil).Want(201).JSON()["pointOfSaleId"].(string)
	key := e.Do("POST", "/v1/staff", map[string]any{"name": name + " till", "role": "cashier", "pointOfSaleId": pos}, nil).Want(201).JSON()["apiKey"].(string)
	return pos, bearer(key)
}

// A cashier bound to one point of sale can neither act on nor read an order
// another point of sale opened; owner and admin keys work tenant-wide.
func TestCashierIsHeldToItsPointOfSale(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001001")
	e.Close("seed", m.ID, 200000).Want(200)
	pos1, till1 := cashierAt(e, "Shop 1")
	_, till2 := cashierAt(e, "Shop 2")
	member := map[string]any{"id": m.ID}

	e.Do("POST", "/v1/orders/o1/redeem", map[string]any{"member": member, "total": 4000, "points": 1000}, with(till1, "Idempotency-Key", "r1")).Want(200)
	if o := e.Do("GET", "/v1/orders/o1", nil, till1).Want(200).JSON(); o["pointOfSaleId"] != pos1 {
		t.Fatalf("the order does not name the point of sale it was opened at: %v", o)
	}
	before := e.Balance(m.ID)
	refused := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/orders/o1", nil},
		{"POST", "/v1/orders/o1/quote", map[string]any{"member": member, "total": 4000}},
		{"POST", "/v1/orders/o1/redeem", map[string]any{"member": member, "total": 4000, "points": 500}},
		{"POST", "/v1/orders/o1/cancel", nil},
		{"POST", "/v1/orders/o1/close", map[string]any{"member": member, "total": 4000}},
	}
	for i, r := range refused {
		got := e.Do(r.method, r.path, r.body, with(till2, "Idempotency-Key", fmt.Sprintf("other-%d", i)))
		if got.Status != 403 || got.Code() != "forbidden" {
			t.Errorf("cashier of another point of sale: %s %s answered %d %s", r.method, r.path, got.Status, got.Body)
		}
	}
	// The key of the first till, retried by the second, is no way in either.
	if got := e.Do("POST", "/v1/orders/o1/redeem", map[string]any{"member": member, "total": 4000, "points": 1000}, with(till2, "Idempotency-Key", "r1")); got.Status != 403 {
		t.Errorf("replay of another point of sale's key: %d %s", got.Status, got.Body)
	}
	if after := e.Balance(m.ID); after != before {
		t.Fatalf("a refused request changed the balance: %+v → %+v", before, after)
	}

	// Its own till closes it; the other till cannot refund it; the owner can.
	e.Do("POST", "/v1/orders/o1/close", map[string]any{"member": member, "total": 4000}, with(till1, "Idempotency-Key", "c1")).Want(200)
	if got := e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "x", "amount": 1000}, with(till2, "Idempotency-Key", "f2")); got.Status != 403 {
		t.Errorf("refund from another point of sale: %d %s", got.Status, got.Body)
	}
	e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "x", "amount": 1000}, apitest.Key()).Want(200)

	// What a cashier sees of members: the card and balance, lookup, history.
	e.Do("GET", "/v1/members/"+m.ID, nil, till2).Want(200)
	e.Do("GET", "/v1/members?card="+m.Card, nil, till2).Want(200)
	e.Do("GET", "/v1/members/"+m.ID+"/ledger", nil, till2).Want(200)
	e.Verify(m.ID)
}

// raceOne sends the same request with the same key from n clients at once
// and checks that every one of them gets the committed answer.
func raceOne(t *testing.T, e *apitest.Env, n int, method, path string, body any, headers map[string]string) {
	t.Helper()
	var wg sync.WaitGroup
	got := make([]*apitest.Response, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { // no t.Fatal in here: e.Try reports instead
			defer wg.Done()
			got[i], errs[i] = e.Try(method, path, body, headers)
		}()
	}
	wg.Wait()
	first := ""
	for i, r := range got {
		if errs[i] != nil {
			t.Errorf("%s %s client %d of %d: %v", method, path, i, n, errs[i])
			continue
		}
		if r.Status != 200 {
			t.Errorf("%s %s client %d of %d: %d %s (the key was committed: every duplicate must get its answer)", method, path, i, n, r.Status, r.Body)
			continue
		}
		if first == "" {
			first = string(r.Body)
		} else if string(r.Body) != first {
			t.Errorf("%s %s client %d: answer differs from the committed one:\n%s\n%s", method, path, i, r.Body, first)
		}
	}
}

// A retry racing the original must get the committed answer, never the
// refusal the original's own effect causes (insufficient points, order
// closed, refund exceeds order), on every balance-changing operation.
func TestDuplicatesRacingTheOriginalGetItsAnswer(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001002")
	e.Close("seed", m.ID, 20000).Want(200) // exactly 1 000 points (10.00)
	if b := e.Balance(m.ID); b.Available != 1000 {
		t.Fatalf("seed balance %+v", b)
	}
	member := map[string]any{"id": m.ID}
	const n = 20
	key := func(k string) map[string]string { return map[string]string{"Idempotency-Key": k} }

	raceOne(t, e, n, "POST", "/v1/orders/race/redeem", map[string]any{"member": member, "total": 2000, "points": 1000}, key("redeem-race"))
	raceOne(t, e, n, "POST", "/v1/orders/race/cancel", nil, key("cancel-race"))
	raceOne(t, e, n, "POST", "/v1/orders/race2/redeem", map[string]any{"member": member, "total": 2000, "points": 1000}, key("redeem-race2"))
	raceOne(t, e, n, "POST", "/v1/orders/race2/close", map[string]any{"member": member, "total": 2000}, key("close-race2"))
	raceOne(t, e, n, "POST", "/v1/orders/race2/refunds", map[string]any{"refundId": "all", "amount": 1000}, key("refund-race2"))
	raceOne(t, e, n, "POST", "/v1/members/"+m.ID+"/adjustments", map[string]any{"points": -1000, "reason": "race"}, key("adjust-race"))

	b := e.Balance(m.ID)
	if b.Held != 0 || b.Available != 0 {
		t.Fatalf("after one redeem, cancel, redeem, close, refund and a debit of everything: %+v", b)
	}
	e.Verify(m.ID)
}

// Bulk accrual run by many clients at once credits each member once and
// answers every client without an error.
func TestConcurrentBulkAccrualCreditsOnce(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001003")
	body := map[string]any{"batchId": "gift", "points": 500, "reason": "gift"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	credited := 0
	for i := range 20 {
		wg.Add(1)
		go func() { // only t.Errorf in here, never t.Fatal
			defer wg.Done()
			r, err := e.Try("POST", "/v1/bulk-accruals", body, map[string]string{"Idempotency-Key": fmt.Sprintf("bulk-%d", i)})
			if err != nil {
				t.Errorf("bulk accrual client %d: %v", i, err)
				return
			}
			if r.Status != 200 {
				t.Errorf("bulk accrual client %d: %d %s", i, r.Status, r.Body)
				return
			}
			var out struct {
				Credited *int `json:"credited"`
			}
			if err := json.Unmarshal(r.Body, &out); err != nil || out.Credited == nil {
				t.Errorf("bulk accrual client %d: no credited count in %s (%v)", i, r.Body, err)
				return
			}
			mu.Lock()
			credited += *out.Credited
			mu.Unlock()
		}()
	}
	wg.Wait()
	if b := e.Balance(m.ID); credited != 1 || b.Available != 500 {
		t.Fatalf("20 concurrent runs of one batch: credited %d times, balance %+v", credited, b)
	}
	e.Verify(m.ID)
}

// A client key that looks like the service's own bulk keys does not block
// the owner's bulk accrual.
func TestClientKeysCannotCollideWithBulkKeys(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001004")
	e.Do("POST", "/v1/orders/tricky/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000},
		map[string]string{"Idempotency-Key": "bulk:b1:" + m.ID}).Want(200)
	r := e.Do("POST", "/v1/bulk-accruals", map[string]any{"batchId": "b1", "points": 700, "reason": "gift"}, apitest.Key()).Want(200).JSON()
	if r["credited"].(float64) != 1 {
		t.Fatalf("bulk accrual after a client key in its form: %v", r)
	}
	if b := e.Balance(m.ID); b.Available != 500+700 {
		t.Fatalf("balance %+v, want cashback 500 + bulk 700", b)
	}
}

// The monthly-operations limit is exact under concurrency: no 402 while
// usage is below it, and usage never above it.
func TestMonthlyLimitIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	const limit = 30
	ct, err := e.App.Service.CreateTenantWithLimits(context.Background(), "Capped", loyalty.PlanCustom, &loyalty.PlanLimits{MonthlyOps: limit})
	if err != nil {
		t.Fatal(err)
	}
	owner := bearer(ct.APIKey)
	e.Do("POST", "/v1/programs", map[string]any{"name": "P", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50}, owner).Want(201)
	var progs struct {
		Programs []struct {
			ID string `json:"programId"`
		} `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, owner).Want(200).Decode(&progs)
	e.Do("POST", "/v1/programs/"+progs.Programs[0].ID+"/activate", nil, owner).Want(200)
	// Closes spread over a few members, so they contend on the usage
	// counter rather than on one account.
	var members []string
	for i := range 4 {
		phone := fmt.Sprintf("+7912000110%d", i)
		ch := e.Do("POST", "/v1/enrollments", map[string]any{"phone": phone, "consent": map[string]any{"terms": true}}, owner).Want(201).JSON()["challengeId"].(string)
		members = append(members, e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(t, phone)}, owner).Want(201).JSON()["memberId"].(string))
	}
	used := func() int64 {
		u := e.Do("GET", "/v1/usage", nil, owner).Want(200).JSON()
		return int64(u["total"].(float64))
	}
	setup := used() // enrollments and verifications
	const clients = 32
	var wg sync.WaitGroup
	statuses := make([]int, clients)
	for i := range clients {
		wg.Add(1)
		go func() { // only t.Errorf in here, never t.Fatal
			defer wg.Done()
			body := map[string]any{"member": map[string]any{"id": members[i%len(members)]}, "total": 1000}
			// Retries of the service may run out under contention: the
			// client sends the same request again, a bounded number of times.
			for try := 0; try < 10; try++ {
				r, err := e.Try("POST", fmt.Sprintf("/v1/orders/cap-%d/close", i), body, with(owner, "Idempotency-Key", fmt.Sprintf("cap-%d", i)))
				if err != nil {
					t.Errorf("close %d: %v", i, err)
					return
				}
				statuses[i] = r.Status
				if r.Status != 409 {
					return
				}
				if code, err := r.ProblemCode(); err != nil || code != "concurrent_update" {
					t.Errorf("close %d: 409 %q %v", i, code, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for i, st := range statuses {
		switch st {
		case 200:
			ok++
		case 402:
			refused++
		default:
			t.Errorf("close %d: %d", i, st)
		}
	}
	if int64(ok) != limit-setup || used() != limit {
		t.Fatalf("limit %d, setup used %d: %d closes accepted, %d refused, usage %d (want %d accepted, usage exactly %d)",
			limit, setup, ok, refused, used(), limit-setup, limit)
	}
}
