package api_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
)

type liabilityBody struct {
	Outstanding   int64 `json:"outstanding"`
	Pending       int64 `json:"pending"`
	Held          int64 `json:"held"`
	ByExpiryMonth []struct {
		Month  string `json:"month"`
		Points int64  `json:"points"`
	} `json:"byExpiryMonth"`
	OutstandingMoney int64 `json:"outstandingMoney"`
}

// expected is the liability computed from the members' own state: the
// balances, and the available lots' remaining points by expiry month.
func expected(t *testing.T, e *apitest.Env, members ...string) (loyalty.Balance, map[string]int64) {
	t.Helper()
	var sum loyalty.Balance
	months := map[string]int64{}
	for _, m := range members {
		st, err := e.Store.LoadMember(context.Background(), e.TenantID, m)
		if err != nil {
			t.Fatal(err)
		}
		sum.Available += st.Account.Available
		sum.Pending += st.Account.Pending
		sum.Held += st.Account.Held
		for _, l := range st.Lots {
			if !l.Pending && l.Remaining > 0 {
				months[loyalty.ExpiryMonth(l.ExpiresAt)] += int64(l.Remaining)
			}
		}
	}
	return sum, months
}

// days moves the clock a day at a time, sweeping each day as the
// scheduler does, and sums what the sweeps did.
func days(e *apitest.Env, n int) loyalty.SweepResult {
	e.T.Helper()
	var total loyalty.SweepResult
	for i := 0; i < n; i++ {
		e.Clock.Advance(24 * time.Hour)
		res, err := e.App.Service.Sweep(context.Background(), "")
		if err != nil {
			e.T.Fatal(err)
		}
		total.Add(res)
	}
	return total
}

func checkLiability(t *testing.T, e *apitest.Env, members ...string) liabilityBody {
	t.Helper()
	e.Drain()
	var got liabilityBody
	e.Do("GET", "/v1/reports/liability", nil, nil).Want(200).Decode(&got)
	sum, months := expected(t, e, members...)
	if got.Outstanding != int64(sum.Available) || got.Pending != int64(sum.Pending) || got.Held != int64(sum.Held) {
		t.Fatalf("liability %+v, balances sum to %+v", got, sum)
	}
	gotMonths := map[string]int64{}
	var total int64
	for _, m := range got.ByExpiryMonth {
		gotMonths[m.Month] = m.Points
		total += m.Points
	}
	if total != got.Outstanding || len(gotMonths) != len(months) {
		t.Fatalf("expiry schedule %v (sum %d), lots say %v, outstanding %d", gotMonths, total, months, got.Outstanding)
	}
	for m, n := range months {
		if gotMonths[m] != n {
			t.Fatalf("expiry schedule %v, lots say %v", gotMonths, months)
		}
	}
	return got
}

// The reports follow a program's life through the feed: accruals on two
// days at a cashier's point of sale and by the owner, a hold captured from
// the soonest-expiring lot, a partial refund, the sweep expiring a month's
// lots. The liability equals the balances and the lots' expiry months at
// every step; the activity shows each change on its day, point of sale and
// staff member; CSV on request; owners and admins only; bad periods 422.
func TestReportsLiabilityAndActivity(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.CashbackPercent, p.PointsLifetime = 1000, "P45D"
	p.WelcomeBonus = &loyalty.WelcomeBonus{Points: 500, Lifetime: "P10D"}
	e := apitest.New(t, apitest.Options{Program: &p})
	pos := e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Shop"}, nil).Want(201).JSON()["pointOfSaleId"].(string)
	staff := e.Do("POST", "/v1/staff", map[string]any{"name": "Cashier", "role": "cashier", "pointOfSaleId": pos}, nil).Want(201).JSON()
	asCashier := map[string]string{"Authorization": "Bearer " + staff["apiKey"].(string)}
	withKey := func(h map[string]string) map[string]string {
		for k, v := range apitest.Key() {
			h[k] = v
		}
		return h
	}
	cashier := func() map[string]string {
		return withKey(map[string]string{"Authorization": asCashier["Authorization"]})
	}
	m1, m2 := e.Enroll("+79120000101").ID, e.Enroll("+79120000102").ID
	ref := func(id string) map[string]any { return map[string]any{"id": id} }

	// 2026-03-01: the cashier closes m1's order, the owner m2's.
	e.Do("POST", "/v1/orders/o1/close", map[string]any{"member": ref(m1), "total": 100000}, cashier()).Want(200)
	e.Close("o2", m2, 50000).Want(200)
	checkLiability(t, e, m1, m2)

	// Forty days on (the sweep running daily expires the welcome bonuses
	// on 03-11), 2026-04-10: another accrual (expires in May); a hold taken from the
	// April lots and captured; half of o1 refunded.
	if got := days(e, 40); got.ExpiredPoints != 1000 {
		t.Fatalf("the welcome bonuses expire: %v", got)
	}
	e.Do("POST", "/v1/orders/o3/close", map[string]any{"member": ref(m1), "total": 100000}, cashier()).Want(200)
	e.Do("POST", "/v1/orders/o4/redeem", map[string]any{"member": ref(m1), "total": 20000, "points": 3000}, cashier()).Want(200)
	e.Do("POST", "/v1/orders/o5/redeem", map[string]any{"member": ref(m2), "total": 20000, "points": 1000}, apitest.Key()).Want(200) // stays held
	e.Do("POST", "/v1/orders/o4/close", map[string]any{"member": ref(m1), "total": 20000}, cashier()).Want(200)
	e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "r1", "amount": 50000}, cashier()).Want(200)
	l := checkLiability(t, e, m1, m2)
	if l.Held != 1000 || len(l.ByExpiryMonth) != 2 || l.OutstandingMoney != l.Outstanding { // one point = one currency unit
		t.Fatalf("liability after April: %+v", l)
	}

	// Six days on: the sweep released the forgotten hold (04-11) and
	// expired March's accruals (04-15).
	if got := days(e, 6); got.ExpiredPoints == 0 || got.ReleasedHolds != 1 {
		t.Fatalf("the sweep on 04-16: %+v", got)
	}
	l = checkLiability(t, e, m1, m2)
	if len(l.ByExpiryMonth) != 1 || l.ByExpiryMonth[0].Month != "2026-05" {
		t.Fatalf("after the sweep only May's points are left: %+v", l)
	}

	// Activity by day.
	var day struct {
		Groups []struct {
			Day string `json:"day"`
			reports.Counters
		} `json:"groups"`
		Total          reports.Counters `json:"total"`
		RedemptionRate float64          `json:"redemptionRate"`
		Breakage       float64          `json:"breakage"`
	}
	e.Do("GET", "/v1/reports/activity?from=2026-03-01&to=2026-04-30&groupBy=day", nil, nil).Want(200).Decode(&day)
	if len(day.Groups) != 4 || day.Groups[0].Day != "2026-03-01" || day.Groups[1].Day != "2026-03-11" || day.Groups[2].Day != "2026-04-10" || day.Groups[3].Day != "2026-04-15" {
		t.Fatalf("days: %+v", day.Groups)
	}
	tot := day.Total
	// 10 % of 1000.00 and 500.00 on 03-01 (+ two welcome bonuses of 5.00),
	// 10 % of 1000.00 and of 170.00 paid in money on 04-10.
	if tot.Accrued != 10000+5000+1000+10000+1700 || tot.Redeemed != 3000 || tot.NewMembers != 2 || tot.OrdersClosed != 4 ||
		tot.RefundedMoney != 50000 || tot.RefundedAccrual != 5000 || tot.Expired == 0 || tot.Sales != 100000+50000+100000+17000 {
		t.Fatalf("totals: %+v", tot)
	}
	// The welcome bonuses expired on 03-11, March's accruals on 04-15
	// (7 000 left of them after the redeem and the refund's reversal).
	if day.Groups[1].Expired != 1000 || day.Groups[3].Expired != 7000 || tot.Expired != 8000 || day.Groups[0].NewMembers != 2 || day.Groups[2].Redeemed != 3000 {
		t.Fatalf("per day: %+v", day.Groups)
	}
	held := tot.Accrued + tot.Adjusted - tot.Redeemed - tot.Expired - tot.RefundedAccrual + tot.RefundedPoints
	if int64(held) != l.Outstanding+l.Pending+l.Held {
		t.Fatalf("activity reconciles to %d, liability is %+v", held, l)
	}
	if want := float64(int64(tot.Redeemed)*10000/int64(tot.Accrued)) / 100; day.RedemptionRate < want || day.RedemptionRate > want+0.01 {
		t.Fatalf("redemption rate %v, want about %v", day.RedemptionRate, want)
	}

	// By point of sale and by staff member: the cashier's work apart from
	// the owner's and the sweep's ("-").
	for _, g := range []struct{ by, id, field string }{{"pointOfSale", pos, "pointOfSaleId"}, {"staff", staff["staffId"].(string), "staffId"}} {
		var rep struct {
			Groups []map[string]any `json:"groups"`
			Total  reports.Counters `json:"total"`
		}
		e.Do("GET", "/v1/reports/activity?from=2026-03-01&to=2026-04-30&groupBy="+g.by, nil, nil).Want(200).Decode(&rep)
		if rep.Total != tot || len(rep.Groups) != 2 {
			t.Fatalf("by %s: %+v", g.by, rep)
		}
		for _, gr := range rep.Groups {
			switch gr[g.field] {
			case g.id:
				if gr["ordersClosed"].(float64) != 3 || gr["redeemed"].(float64) != 3000 || gr["refundedMoney"].(float64) != 50000 {
					t.Fatalf("the cashier's %s: %v", g.by, gr)
				}
			case "-":
				if gr["ordersClosed"].(float64) != 1 || gr["expired"].(float64) != float64(tot.Expired) || gr["newMembers"].(float64) != 2 {
					t.Fatalf("nobody's %s: %v", g.by, gr)
				}
			default:
				t.Fatalf("unexpected group %v", gr)
			}
		}
	}

	// CSV: a header, a line per group, the total.
	r := e.Do("GET", "/v1/reports/activity?from=2026-03-01&to=2026-04-30", nil, map[string]string{"Accept": "text/csv"}).Want(200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("content type %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][0] != "day" || rows[0][1] != "accrued" || rows[5][0] != "total" || rows[1][0] != "2026-03-01" {
		t.Fatalf("csv (%v): %q", err, r.Body)
	}

	// A period with nothing: empty groups, zero rates.
	var empty struct {
		Groups         []any   `json:"groups"`
		RedemptionRate float64 `json:"redemptionRate"`
	}
	e.Do("GET", "/v1/reports/activity?from=2025-01-01&to=2025-12-31", nil, nil).Want(200).Decode(&empty)
	if len(empty.Groups) != 0 || empty.RedemptionRate != 0 {
		t.Fatalf("empty period: %+v", empty)
	}

	// Cashiers may not read reports.
	for _, path := range []string{"/v1/reports/liability", "/v1/reports/activity?from=2026-03-01&to=2026-03-02"} {
		if r := e.Do("GET", path, nil, asCashier); r.Status != 403 || r.Code() != "forbidden" {
			t.Fatalf("cashier on %s: %d %s", path, r.Status, r.Body)
		}
	}
	// Bad periods and groupings: 422 with a stable code.
	for q, code := range map[string]string{
		"from=2026-04-02&to=2026-04-01":              "report_range_invalid",
		"from=2025-01-01&to=2026-01-02":              "report_range_invalid",
		"from=2026-02-30&to=2026-03-02":              "report_range_invalid",
		"from=2026-03-01&to=2026-03-02&groupBy=week": "validation_failed",
		"from=2026-03-01":                            "validation_failed",
		"from=03/01/2026&to=2026-03-02":              "validation_failed",
	} {
		if r := e.Do("GET", "/v1/reports/activity?"+q, nil, nil); r.Status != 422 || r.Code() != code {
			t.Fatalf("%s: %d %s, want 422 %s", q, r.Status, r.Body, code)
		}
	}
	// A whole leap year is allowed.
	e.Do("GET", "/v1/reports/activity?from=2028-01-01&to=2028-12-31&groupBy=staff", nil, nil).Want(200)
}
