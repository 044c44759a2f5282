package api_test

import (
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// The preview counts what the accrual with the same filter credits, and
// writes nothing; the group filter selects a customer group's members.
func TestBulkPreviewMatchesTheAccrual(t *testing.T) {
	e := apitest.New(t)
	a, b := e.Enroll("+79120001001"), e.Enroll("+79120001002")
	e.Enroll("+79120001003")
	for _, m := range []apitest.Member{a, b} {
		e.Do("PUT", "/v1/members/"+m.ID+"/groups", map[string]any{"groups": []string{"vip"}}, nil).Want(200)
	}
	e.Do("POST", "/v1/members/"+b.ID+"/block", nil, nil).Want(200)

	p := e.Do("POST", "/v1/bulk-accruals/preview", map[string]any{"filter": map[string]any{"group": "vip"}}, nil).Want(200).JSON()
	if p["selected"] != float64(1) || p["scanned"] != float64(3) || p["done"] != true {
		t.Fatalf("preview %v, want 1 of 3 selected (b is blocked, the third not in the group)", p)
	}
	if e.Balance(a.ID).Available != 0 {
		t.Fatal("the preview credited points")
	}
	r := e.Do("POST", "/v1/bulk-accruals", map[string]any{"batchId": "vip-1", "points": 500, "reason": "vip", "filter": map[string]any{"group": "vip"}}, apitest.Key()).Want(200).JSON()
	if r["credited"] != float64(1) || e.Balance(a.ID).Available != 500 || e.Balance(b.ID).Available != 0 {
		t.Fatalf("accrual %v", r)
	}
	if c := e.Do("POST", "/v1/bulk-accruals/preview", map[string]any{"filter": map[string]any{"period": "P1Y"}}, nil).Want(422).Code(); c != "validation_failed" {
		t.Errorf("a period over 92 days: %s", c)
	}
	if c := e.Do("POST", "/v1/bulk-accruals/preview", map[string]any{"filter": map[string]any{"spendFrom": 500, "spendTo": 100}}, nil).Want(422).Code(); c != "validation_failed" {
		t.Errorf("spendTo below spendFrom: %s", c)
	}
}
