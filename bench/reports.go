package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
)

// The reports' tenant: a year of history of a busy business.
const (
	reportMembers = 100_000
	reportEntries = 1_000_000
	reportOrders  = 400_000
	reportPOS     = 5
	reportStaff   = 15
)

// history makes the aggregates a tenant with reportMembers members and
// reportEntries ledger entries over the last year has: synthetic entries,
// enrollments and order closes run through the aggregator's own logic
// (reports.Batch) in memory, so the items are those the stream would have
// built. Only these items are written: the reports read nothing else (the
// members' accounts and ledgers live in other partitions and are never
// read by a report).
func history(tenant string, now time.Time) *reports.Batch {
	rng := rand.New(rand.NewPCG(22, 1))
	b := reports.NewBatch()
	day := func() time.Time {
		return now.AddDate(0, 0, -rng.IntN(365)).Add(-time.Duration(rng.IntN(86400)) * time.Second)
	}
	who := func() (string, string) {
		pos, staff := "", ""
		if rng.IntN(10) > 0 { // most activity at a point of sale, by a cashier
			p := rng.IntN(reportPOS)
			pos, staff = fmt.Sprintf("pos_%02d", p), fmt.Sprintf("st_%02d", p*reportStaff/reportPOS+rng.IntN(reportStaff/reportPOS))
		}
		return pos, staff
	}
	month := func(at time.Time) string { return loyalty.ExpiryMonth(at.AddDate(0, 6, 0)) }
	for i := 0; i < reportMembers; i++ {
		b.AddMember(tenant, day())
	}
	for i := 0; i < reportOrders; i++ {
		pos, staff := who()
		b.AddOrderChange(tenant, nil, &loyalty.Order{State: loyalty.OrderClosed, ClosedAt: day(), PointOfSale: pos, ClosedBy: staff, MoneyPaid: loyalty.Money(1000 + rng.IntN(500000))})
	}
	for i := 0; i < reportEntries; i++ {
		at := day()
		pos, staff := who()
		n := loyalty.Points(100 + rng.IntN(50000))
		e := loyalty.Entry{At: at, PointOfSale: pos, StaffID: staff}
		switch x := rng.IntN(100); {
		case x < 40:
			e.Kind, e.Available = loyalty.KindAccrue, n
			e.Lots = map[string]loyalty.Points{"l": n}
		case x < 60:
			e.Kind, e.Available, e.Held = loyalty.KindRedeem, -n, n
		case x < 80:
			e.Kind, e.Held = loyalty.KindCapture, -n
		case x < 88:
			e.Kind, e.Available, e.Held = loyalty.KindRelease, n, -n
		case x < 94:
			e.Kind, e.Available, e.PointOfSale, e.StaffID = loyalty.KindExpire, -n, "", ""
		case x < 97:
			e.Kind, e.Available = loyalty.KindRefund, -n
			e.Lots = map[string]loyalty.Points{"l": -n}
		default:
			e.Kind, e.Available = loyalty.KindAdjust, n
		}
		e.Amount = e.Available + e.Pending
		if e.Available != 0 {
			e.Expiring = map[string]loyalty.Points{month(at): e.Available}
		}
		b.AddEntry(tenant, &e)
	}
	return b
}

// measureReports writes a busy tenant's year of aggregates into the table
// and measures the liability and a one-year activity report (by day, point
// of sale, staff member) through the HTTP handlers: DynamoDB reads per
// report (the key read included) and latency.
func (b *bench) measureReports(res *Results, n int) error {
	t, err := b.app.Service.CreateTenant(b.ctx, "Reports", loyalty.PlanPAYG)
	if err != nil {
		return err
	}
	now := b.clock.Now()
	start := time.Now()
	h := history(t.TenantID, now)
	if err := b.app.Store.PutReportAggregates(b.ctx, h); err != nil {
		return err
	}
	fmt.Printf("bench: reports: %d aggregate items of %d members, %d ledger entries, %d orders written in %s\n",
		h.Items(), reportMembers, reportEntries, reportOrders, time.Since(start).Round(time.Millisecond))
	// A year ending mid-month: the reports by point of sale and staff read
	// the partial months' days at both ends and the whole months between
	// (three Queries), their worst case.
	end := time.Date(now.Year(), now.Month(), 15, 0, 0, 0, 0, time.UTC)
	from, to := reports.Day(end.AddDate(0, 0, -365)), reports.Day(end)
	get := func(path string) func() error {
		return func() error {
			req, err := http.NewRequestWithContext(b.ctx, "GET", b.server.URL+path, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+t.APIKey)
			resp, err := b.server.Client().Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			return nil
		}
	}
	reportsOf := []struct{ name, path string }{
		{"report: liability", "/v1/reports/liability"},
		{"report: activity, one year by day", "/v1/reports/activity?groupBy=day&from=" + from + "&to=" + to},
		{"report: activity, one year by point of sale", "/v1/reports/activity?groupBy=pointOfSale&from=" + from + "&to=" + to},
		{"report: activity, one year by staff", "/v1/reports/activity?groupBy=staff&from=" + from + "&to=" + to},
	}
	for _, r := range reportsOf {
		var ss []sample
		for i := 0; i < n; i++ {
			s, err := b.measure(get(r.path))
			if err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			ss = append(ss, s)
		}
		op := summarize(ss)
		ok := op.RoundTripsMax <= 5 && op.P50ms <= 50
		op.Target, op.MeetsTarget = "≤ 5 DynamoDB reads (the key read included), p50 ≤ 50 ms", &ok
		op.Note = fmt.Sprintf("tenant of %d members, %d ledger entries, %d orders over a year; %d pos, %d staff", reportMembers, reportEntries, reportOrders, reportPOS, reportStaff)
		res.Operations[r.name] = op
		fmt.Printf("bench: %s: %.2f reads (max %d), p50 %.2f ms, p99 %.2f ms\n", r.name, op.RoundTripsMean, op.RoundTripsMax, op.P50ms, op.P99ms)
	}
	return nil
}
