package api_test

import (
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

func sweep(t *testing.T, e *apitest.Env) map[string]any {
	t.Helper()
	return e.Do("POST", "/v1/admin/expiry-sweep", nil, nil).Want(200).JSON()
}

// Points expire by the sweep, soonest-expiring lot first, and a second sweep
// does nothing.
func TestExpirySweep(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PointsLifetime = "PT3S"
	e := apitest.New(t, apitest.Options{Program: &p})
	m := e.Enroll("+79120000020")
	e.Close("a", m.ID, 20000).Want(200) // 1000 points, expire at +3s
	e.Clock.Advance(2 * time.Second)
	e.Close("b", m.ID, 40000).Want(200) // 2000 points, expire at +5s

	// A hold takes from the soonest-expiring lot first: all of "a" and 500 of "b".
	e.Do("POST", "/v1/orders/c/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 1500}, apitest.Key()).Want(200)

	e.Clock.Advance(1500 * time.Millisecond) // +3.5s: lot a is due but empty
	if got := sweep(t, e); got["expiredPoints"].(float64) != 0 {
		t.Fatalf("nothing left in the due lot should expire: %v", got)
	}
	e.Clock.Advance(2 * time.Second) // +5.5s: lot b is due with 1500 left
	got := sweep(t, e)
	if got["expiredLots"].(float64) != 1 || got["expiredPoints"].(float64) != 1500 {
		t.Fatalf("sweep: %v", got)
	}
	if b := e.Balance(m.ID); b.Available != 0 || b.Held != 1500 {
		t.Fatalf("held points do not expire while held: %+v", b)
	}
	if again := sweep(t, e); again["expiredPoints"].(float64) != 0 {
		t.Fatalf("a second sweep must do nothing: %v", again)
	}
	e.Verify(m.ID)

	// The hold times out (default PT30M): the sweep releases it back to its
	// lots, whose expiry has passed, and the next sweep expires them.
	e.Clock.Advance(31 * time.Minute)
	rel := sweep(t, e)
	if rel["releasedHolds"].(float64) != 1 {
		t.Fatalf("stale hold not released: %v", rel)
	}
	next := sweep(t, e)
	if next["expiredPoints"].(float64) != 1500 {
		t.Fatalf("released points past their expiry must expire: %v", next)
	}
	if b := e.Balance(m.ID); b != (loyalty.Balance{}) {
		t.Fatalf("everything expired, balance %+v", b)
	}
	e.Verify(m.ID)
	var ledger struct {
		Entries []struct {
			Kind string `json:"kind"`
		} `json:"entries"`
	}
	e.Do("GET", "/v1/members/"+m.ID+"/ledger", nil, nil).Want(200).Decode(&ledger)
	kinds := ""
	for _, en := range ledger.Entries {
		kinds = en.Kind + " " + kinds
	}
	if kinds != "accrue accrue redeem expire release expire " {
		t.Fatalf("ledger kinds oldest first: %q", kinds)
	}
}

// Pending points are not spendable until they mature; the sweep matures them.
func TestPendingPointsMature(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PendingPeriod = "P1D"
	e := apitest.New(t, apitest.Options{Program: &p})
	m := e.Enroll("+79120000021")
	c := e.Close("a", m.ID, 20000).Want(200).JSON()
	if c["pending"] != true {
		t.Fatalf("accrual should be pending: %v", c)
	}
	if b := e.Balance(m.ID); b.Pending != 1000 || b.Available != 0 {
		t.Fatalf("balance %+v", b)
	}
	r := e.Do("POST", "/v1/orders/b/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 500}, apitest.Key())
	if r.Status != 409 || r.Code() != "insufficient_points" {
		t.Fatalf("pending points must not be spendable: %d %s", r.Status, r.Body)
	}
	e.Clock.Advance(25 * time.Hour)
	if got := sweep(t, e); got["maturedLots"].(float64) != 1 {
		t.Fatalf("sweep: %v", got)
	}
	if b := e.Balance(m.ID); b.Pending != 0 || b.Available != 1000 {
		t.Fatalf("balance %+v", b)
	}
	e.Do("POST", "/v1/orders/b/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 500}, apitest.Key()).Want(200)
	e.Verify(m.ID)
}

// The welcome bonus has a lifetime of its own.
func TestWelcomeBonusExpiresOnItsOwnDate(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PointsLifetime = "P180D"
	p.WelcomeBonus = &loyalty.WelcomeBonus{Points: 30000, Lifetime: "P7D"}
	e := apitest.New(t, apitest.Options{Program: &p})
	m := e.Enroll("+79120000022")
	if b := e.Balance(m.ID); b.Available != 30000 {
		t.Fatalf("welcome bonus not credited: %+v", b)
	}
	e.Close("a", m.ID, 20000).Want(200)
	e.Clock.Advance(8 * 24 * time.Hour)
	got := sweep(t, e)
	if got["expiredPoints"].(float64) != 30000 {
		t.Fatalf("only the welcome bonus should expire after a week: %v", got)
	}
	if b := e.Balance(m.ID); b.Available != 1000 {
		t.Fatalf("balance %+v", b)
	}
	e.Verify(m.ID)
}
