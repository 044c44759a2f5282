package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

func birthdayCount(t *testing.T, e *apitest.Env) int {
	t.Helper()
	return int(sweep(t, e)["birthdayBonuses"].(float64))
}

// The sweep credits the birthday bonus once a year per member, on the
// birthday: a rerun credits nothing; 29 February is credited on 28 February
// in other years and on the 29th in leap years; the bonus's points expire
// after its own lifetime; a member enrolling on their birthday after the
// day's run is credited by the next run of the same day.
func TestBirthdayBonus(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PointsLifetime = "P365D"
	p.BirthdayBonus = &loyalty.BirthdayBonus{Points: 300, Lifetime: "P10D"}
	e := apitest.New(t, apitest.Options{Program: &p}) // the clock starts on 2026-03-01
	x := enrollWith(t, e, map[string]any{"phone": "+79120000401", "profile": map[string]any{"birthDate": "1990-03-01"}}, false)["memberId"].(string)
	y := enrollWith(t, e, map[string]any{"phone": "+79120000402", "profile": map[string]any{"birthDate": "1990-03-02"}}, false)["memberId"].(string)
	z := enrollWith(t, e, map[string]any{"phone": "+79120000403", "profile": map[string]any{"birthDate": "1992-02-29"}}, false)["memberId"].(string)
	none := e.Enroll("+79120000404").ID

	if n := birthdayCount(t, e); n != 1 {
		t.Fatalf("2026-03-01: %d bonuses, want 1 (x)", n)
	}
	for i := 0; i < 2; i++ {
		if n := birthdayCount(t, e); n != 0 {
			t.Fatalf("rerun %d credited %d again", i, n)
		}
	}
	if b := e.Balance(x); b.Available != 300 {
		t.Fatalf("x: %+v", b)
	}
	// Concurrent sweeps on the next day credit y once.
	e.Clock.Advance(24 * time.Hour)
	done := make(chan int, 4)
	for i := 0; i < 4; i++ {
		go func() {
			r, err := e.Try("POST", "/v1/admin/expiry-sweep", nil, nil)
			if err != nil || r.Status != 200 {
				t.Errorf("sweep: %v %v", r, err)
				done <- 0
				return
			}
			done <- int(r.JSON()["birthdayBonuses"].(float64))
		}()
	}
	total := 0
	for i := 0; i < 4; i++ {
		total += <-done
	}
	if total != 1 {
		t.Fatalf("4 concurrent sweeps credited %d bonuses, want 1", total)
	}
	// The bonus lives 10 days, not the program's 365.
	e.Clock.Advance(9*24*time.Hour + 12*time.Hour) // x's expired, y's due in 12 hours
	sweep(t, e)
	if b := e.Balance(x); b.Available != 0 {
		t.Fatalf("x's birthday points should have expired: %+v", b)
	}
	if b := e.Balance(y); b.Available != 300 {
		t.Fatalf("y's expire a day later: %+v", b)
	}

	// 2027 has no 29 February: z is credited on the 28th.
	e.Clock.Set(time.Date(2027, 2, 28, 9, 0, 0, 0, time.UTC))
	if n := birthdayCount(t, e); n != 1 {
		t.Fatalf("2027-02-28: %d, want 1 (z)", n)
	}
	if n, _ := entriesOf(t, e, z, loyalty.KindBirthday); n != 1 {
		t.Fatalf("z: %d birthday entries", n)
	}
	e.Clock.Set(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	if n := birthdayCount(t, e); n != 1 {
		t.Fatalf("2027-03-01: %d, want 1 (x, next year)", n)
	}
	// 2028 is a leap year: nothing for z on the 28th, the bonus on the 29th.
	e.Clock.Set(time.Date(2028, 2, 28, 9, 0, 0, 0, time.UTC))
	if n := birthdayCount(t, e); n != 0 {
		t.Fatalf("2028-02-28: %d, want 0", n)
	}
	e.Clock.Set(time.Date(2028, 2, 29, 9, 0, 0, 0, time.UTC))
	if n := birthdayCount(t, e); n != 1 {
		t.Fatalf("2028-02-29: %d, want 1 (z)", n)
	}
	// Someone born on 29 February enrolls after today's run: the next run
	// of the day credits them.
	w := enrollWith(t, e, map[string]any{"phone": "+79120000405", "profile": map[string]any{"birthDate": "2000-02-29"}}, false)["memberId"].(string)
	if n := birthdayCount(t, e); n != 1 {
		t.Fatalf("late enrollee: %d, want 1", n)
	}
	if n := birthdayCount(t, e); n != 0 {
		t.Fatalf("rerun: %d", n)
	}

	for id, want := range map[string]int{x: 2, y: 1, z: 2, w: 1, none: 0} {
		if n, pts := entriesOf(t, e, id, loyalty.KindBirthday); n != want || pts != loyalty.Points(300*want) {
			t.Fatalf("member %s: %d birthday entries (%d points), want %d", id, n, pts, want)
		}
		e.Verify(id)
	}
	if err := e.Store.VerifyMember(context.Background(), e.TenantID, x); err != nil {
		t.Fatal(err)
	}
}
