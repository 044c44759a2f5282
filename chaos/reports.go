package main

import (
	"context"
	"fmt"
	"time"

	"github.com/loyalty/cashback/shared/ddblocal"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/stream"
)

// feed runs the table's stream consumer (the dispatcher the dispatch
// function runs: usage counting and the reports' aggregates) during the
// run, through the same faulty SDK transport as the service: its writes
// are throttled, their responses lost, delivered twice. stop ends the
// polling and drains the stream to its end.
func (e *Env) feed(ctx context.Context) (stop func() error, err error) {
	p, err := stream.NewPoller(ctx, e.App.Store, ddblocal.StreamsClient(e.emu.Endpoint), stream.NewDispatcher(e.App.Store, e.App.Logger))
	if err != nil {
		return nil, err
	}
	p.Interval = 50 * time.Millisecond
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(runCtx)
	}()
	return func() error {
		cancel()
		<-done
		// Faults make a pass fail now and then; the next one goes on
		// from the checkpoints.
		var err error
		for attempt := 0; attempt < 20; attempt++ {
			if err = p.Drain(ctx); err == nil {
				return nil
			}
		}
		return fmt.Errorf("drain the feed: %w", err)
	}, nil
}

// CheckReports compares the reports' aggregates, built from the stream
// while the run went on, with the members' balances once the feed is
// drained:
//   - the liability (available, pending, held) equals the sum of the
//     balances exactly, and its expiry schedule sums to the available points;
//   - the activity of all days reconciles with it: accrued + adjusted −
//     redeemed − expired − reversed accruals + returned points is what the
//     members hold;
//   - the activity per point of sale and per staff member sums to the
//     tenant's, day by day.
func CheckReports(ctx context.Context, st *store.Store, tenant string, members []string) []string {
	var out []string
	violate := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	var sum loyalty.Balance
	for _, m := range members {
		a, err := st.GetAccount(ctx, tenant, m)
		if err != nil {
			violate("read account %s: %v", m, err)
			continue
		}
		sum.Available += a.Available
		sum.Pending += a.Pending
		sum.Held += a.Held
	}
	l, err := st.GetLiability(ctx, tenant)
	if err != nil {
		return append(out, fmt.Sprintf("read liability: %v", err))
	}
	if got := (loyalty.Balance{Available: l.Available, Pending: l.Pending, Held: l.Held}); got != sum {
		violate("liability %+v differs from the sum of balances %+v", got, sum)
	}
	var scheduled loyalty.Points
	for m, n := range l.ByMonth {
		scheduled += n
		if m == reports.UnknownMonth && n != 0 {
			violate("liability has %d points in no known expiry month", n)
		}
	}
	if scheduled != l.Available {
		violate("expiry schedule sums to %d, outstanding is %d", scheduled, l.Available)
	}
	days, err := st.ListActivity(ctx, tenant, reports.ScopeDay, "2000-01-01", "2999-12-31")
	if err != nil {
		return append(out, fmt.Sprintf("read activity: %v", err))
	}
	var total reports.Counters
	perDay := map[string]reports.Counters{}
	for _, r := range days {
		total.Add(r.Counters)
		perDay[r.Key.Day] = r.Counters
	}
	held := total.Accrued + total.Adjusted - total.Redeemed - total.Expired - total.RefundedAccrual + total.RefundedPoints
	if all := sum.Available + sum.Pending + sum.Held; held != all {
		violate("activity reconciles to %d points, members hold %d (%+v)", held, all, total)
	}
	if total.NewMembers != int64(len(members)) {
		violate("activity counts %d new members, the run made %d", total.NewMembers, len(members))
	}
	for _, scope := range []reports.Scope{reports.ScopePOS, reports.ScopeStaff} {
		rows, err := st.ListActivity(ctx, tenant, scope, "2000-01-01", "2999-12-31")
		if err != nil {
			return append(out, fmt.Sprintf("read activity by %s: %v", scope, err))
		}
		byDay := map[string]reports.Counters{}
		for _, r := range rows {
			c := byDay[r.Key.Day]
			c.Add(r.Counters)
			byDay[r.Key.Day] = c
		}
		for d, c := range perDay {
			if byDay[d] != c {
				violate("activity of %s by %s sums to %+v, the day's is %+v", d, scope, byDay[d], c)
			}
		}
		// The month items hold what the day items do.
		months, err := st.ListActivity(ctx, tenant, reports.MonthOf(scope), "2000-01", "2999-12")
		if err != nil {
			return append(out, fmt.Sprintf("read monthly activity by %s: %v", scope, err))
		}
		var inMonths reports.Counters
		for _, r := range months {
			inMonths.Add(r.Counters)
		}
		if inMonths != total {
			violate("monthly activity by %s sums to %+v, the days to %+v", scope, inMonths, total)
		}
	}
	return out
}
