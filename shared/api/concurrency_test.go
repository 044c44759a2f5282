package api_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// Many cashiers redeem the same member's points on different orders at once.
// The account's seq condition serialises them: the total held never exceeds
// what the member had, every success is in the ledger once, and the ledger
// sums to the stored balance.
func TestConcurrentRedeemsNeverOverspend(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000010")
	e.Close("seed", m.ID, 200000).Want(200) // 10 000 points (100.00)
	start := e.Balance(m.ID)
	if start.Available != 10000 {
		t.Fatalf("seed balance %+v", start)
	}

	const workers = 24
	const each = 700 // 24 × 7.00 = 168.00 asked for, 100.00 available
	// Under contention the service's own retries may run out (409
	// concurrent_update); a client then sends the same request again. A
	// conflict mostly means another redeem committed, and at most 14 fit, so
	// few tries are needed: the bound turns a livelock into a failure, not a hang.
	const tries = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var held int64
	for i := 0; i < workers; i++ {
		wg.Add(1)
		// Only t.Errorf in here: t.Fatal must not be called from a goroutine.
		go func(i int) {
			defer wg.Done()
			key := map[string]string{"Idempotency-Key": fmt.Sprintf("c-%d", i)}
			body := map[string]any{"member": map[string]any{"id": m.ID}, "total": 2000, "points": each}
			path := fmt.Sprintf("/v1/orders/par-%d/redeem", i)
			var r *apitest.Response
			var code string // of a 409
			for try := 1; ; try++ {
				var err error
				if r, err = e.Try("POST", path, body, key); err != nil {
					t.Errorf("redeem %d: %v", i, err)
					return
				}
				if r.Status != 409 {
					break
				}
				if code, err = r.ProblemCode(); err != nil {
					t.Errorf("redeem %d: 409 without a problem: %v", i, err)
					return
				}
				if code != "concurrent_update" {
					break
				}
				if try == tries {
					t.Errorf("redeem %d: still concurrent_update after %d tries", i, tries)
					return
				}
			}
			// A duplicate delivery of the same request must change nothing.
			dup, err := e.Try("POST", path, body, key)
			if err != nil {
				t.Errorf("duplicate of redeem %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			codes[r.Status]++
			if r.Status == 200 {
				held += each
				if dup.Status != 200 || string(dup.Body) != string(r.Body) || dup.Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("duplicate of a successful redeem: %d %s", dup.Status, dup.Body)
				}
			} else if r.Status != 409 || code != "insufficient_points" {
				t.Errorf("redeem %d: unexpected %d %s", i, r.Status, r.Body)
			}
		}(i)
	}
	wg.Wait()

	b := e.Balance(m.ID)
	if held > int64(start.Available) {
		t.Fatalf("overspent: held %d of %d", held, start.Available)
	}
	if int64(b.Held) != held || int64(b.Available) != int64(start.Available)-held {
		t.Fatalf("balance %+v does not match %d held of %d", b, held, start.Available)
	}
	if codes[200] != int(start.Available)/each {
		t.Errorf("expected exactly %d redeems to fit, got %v", int(start.Available)/each, codes)
	}
	e.Verify(m.ID)
}
