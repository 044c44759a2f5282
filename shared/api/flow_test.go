package api_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// The hot path of API.md end to end: enroll, verify, close, redeem, close,
// refund; balances and the ledger agree at every step.
func TestHotPath(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("8 912 345-67-89")

	close1 := e.Close("o1", m.ID, 100000).Want(200).JSON()
	if close1["accrued"].(float64) != 5000 {
		t.Fatalf("5%% of 1000.00 should accrue 50.00 points (5000), got %v", close1["accrued"])
	}
	q := e.Do("POST", "/v1/orders/o2/quote", map[string]any{"member": map[string]any{"card": m.Card}, "total": 6000}, nil).Want(200).JSON()
	if q["maxRedeemable"].(float64) != 3000 {
		t.Fatalf("max redeemable on 60.00 at 50%% is 30.00 points: %v", q)
	}
	r := e.Do("POST", "/v1/orders/o2/redeem", map[string]any{"member": map[string]any{"phone": "+7 912 345 67 89"}, "total": 6000, "points": 3000}, apitest.Key()).Want(200).JSON()
	if r["held"].(float64) != 3000 {
		t.Fatalf("held %v", r)
	}
	if b := e.Balance(m.ID); b.Available != 2000 || b.Held != 3000 {
		t.Fatalf("after hold: %+v", b)
	}
	c2 := e.Close("o2", m.ID, 6000).Want(200).JSON()
	if c2["redeemed"].(float64) != 3000 || c2["accrued"].(float64) != 150 {
		t.Fatalf("close of a half-points order should capture 3000 and accrue 5%% of 30.00 = 150: %v", c2)
	}
	ref := e.Do("POST", "/v1/orders/o2/refunds", map[string]any{"refundId": "r1", "amount": 3000}, apitest.Key()).Want(200).JSON()
	if ref["returnedPoints"].(float64) != 3000 || ref["reversedAccrual"].(float64) != 150 {
		t.Fatalf("full refund returns all spent points and reverses all accrual: %v", ref)
	}
	if b := e.Balance(m.ID); b.Available != 5000 || b.Held != 0 {
		t.Fatalf("after refund: %+v", b)
	}
	e.Verify(m.ID)
}
