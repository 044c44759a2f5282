package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
)

// Series is one measured curve: y (ms) at each x.
type Series struct {
	Name string    `json:"name"`
	X    []int     `json:"x"`
	Y    []float64 `json:"yMs"`
}

// Scaling holds the scaling figures of results.json.
type Scaling struct {
	BalanceVsHistory []Series `json:"balanceReadVsHistory"`
	SweepVsMembers   []Series `json:"sweepVsMembers"`
	SweepVsLots      []Series `json:"sweepVsExpiringLots"`
}

func median(f func() error, runs int) (float64, error) {
	var ms []float64
	for i := 0; i < runs; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	sort.Float64s(ms)
	return round(ms[len(ms)/2]), nil
}

// measureHistory reads one balance as its ledger grows: the account read
// (what the API does) next to a reader summing every entry.
func (b *bench) measureHistory(sizes []int) ([]Series, error) {
	if err := b.setup(0, nil); err != nil {
		return nil, err
	}
	owner := loyalty.Caller{TenantID: b.tenant, Role: loyalty.RoleOwner, KeyID: "bench"}
	m := b.members[0]
	get := Series{Name: "balance read (one GetItem)"}
	sum := Series{Name: "sum over ledger entries"}
	have := 1 // the imported opening balance
	for _, n := range sizes {
		for ; have < n; have++ {
			if _, _, err := b.app.Service.AdjustPoints(b.ctx, owner, loyalty.Idem{}, m, loyalty.AdjustRequest{Points: 1, Reason: "history"}); err != nil {
				return nil, err
			}
		}
		g, err := median(func() error { _, err := b.app.Store.GetAccount(b.ctx, b.tenant, m); return err }, 21)
		if err != nil {
			return nil, err
		}
		s, err := median(func() error {
			entries, err := b.app.Store.AllLedger(b.ctx, b.tenant, m)
			var total loyalty.Points
			for _, e := range entries {
				total += e.Available + e.Pending + e.Held
			}
			_ = total
			return err
		}, 5)
		if err != nil {
			return nil, err
		}
		get.X, get.Y = append(get.X, n), append(get.Y, g)
		sum.X, sum.Y = append(sum.X, n), append(sum.Y, s)
	}
	return []Series{get, sum}, nil
}

// measureSweep times one sweep with `due` lots expiring among `members`
// members, and counts its DynamoDB calls.
func (b *bench) sweepOnce(members, due int) (ms float64, calls int, err error) {
	if err := b.setup(0, nil); err != nil {
		return 0, 0, err
	}
	owner := loyalty.Caller{TenantID: b.tenant, Role: loyalty.RoleOwner, KeyID: "bench"}
	for i := len(b.members); i < members; i++ {
		if _, err := b.app.Service.ImportMember(b.ctx, owner, loyalty.ImportRow{Phone: fmt.Sprintf("+7915%07d", i), Points: 1000}); err != nil {
			return 0, 0, err
		}
	}
	t, err := b.app.Store.GetTenant(b.ctx, b.tenant)
	if err != nil {
		return 0, 0, err
	}
	rules := *t.CurrentProgram
	rules.PointsLifetime = "P1D"
	if _, _, err := b.app.Service.UpdateProgram(b.ctx, owner, loyalty.Idem{}, rules.ID, rules); err != nil {
		return 0, 0, err
	}
	for i := 0; i < due; i++ {
		id := fmt.Sprintf("sw%d-%d-%d", members, due, i)
		if err := b.closeOrder(id, b.members[i%len(b.members)], 10000, id); err != nil {
			return 0, 0, err
		}
	}
	b.clock.Advance(2 * 24 * time.Hour)
	// In process, as the scheduled expire-sweep function runs it (not HTTP).
	m := &store.Meter{}
	start := time.Now()
	res, err := b.app.Service.Sweep(store.WithMeter(b.ctx, m), "")
	if err != nil {
		return 0, 0, err
	}
	if res.ExpiredLots < due {
		return 0, 0, fmt.Errorf("sweep expired %d of %d lots", res.ExpiredLots, due)
	}
	calls, _, _ = m.Snapshot()
	return round(float64(time.Since(start).Microseconds()) / 1000), calls, nil
}

func (b *bench) measureScaling(res *Results) error {
	var err error
	sc := &Scaling{}
	if sc.BalanceVsHistory, err = b.measureHistory([]int{10, 100, 1000, 3000}); err != nil {
		return err
	}
	byMembers := Series{Name: "sweep, 50 expiring lots"}
	for _, members := range []int{50, 500, 2000} {
		ms, _, err := b.sweepOnce(members, 50)
		if err != nil {
			return err
		}
		byMembers.X, byMembers.Y = append(byMembers.X, members), append(byMembers.Y, ms)
	}
	byLots := Series{Name: "sweep, 50 members"}
	for _, lots := range []int{50, 200, 800} {
		ms, _, err := b.sweepOnce(50, lots)
		if err != nil {
			return err
		}
		byLots.X, byLots.Y = append(byLots.X, lots), append(byLots.Y, ms)
	}
	sc.SweepVsMembers, sc.SweepVsLots = []Series{byMembers}, []Series{byLots}
	res.Scaling = sc
	return nil
}

// plot writes a small SVG line chart (x on a log scale).
func plot(path, title, xLabel string, series []Series) error {
	const w, h, pad = 560.0, 320.0, 50.0
	var xs []float64
	maxY := 0.0
	for _, s := range series {
		for i, x := range s.X {
			xs = append(xs, float64(x))
			maxY = max(maxY, s.Y[i])
		}
	}
	if len(xs) == 0 {
		return nil
	}
	sort.Float64s(xs)
	lx := func(x float64) float64 { return logOf(x) }
	x0, x1 := lx(xs[0]), lx(xs[len(xs)-1])
	if x1 == x0 {
		x1 = x0 + 1
	}
	maxY *= 1.1
	if maxY == 0 {
		maxY = 1
	}
	px := func(x float64) float64 { return pad + (lx(x)-x0)/(x1-x0)*(w-2*pad) }
	py := func(y float64) float64 { return h - pad - y/maxY*(h-2*pad) }
	colors := []string{"#1f77b4", "#d62728", "#2ca02c"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="20" font-size="14">%s</text>`, pad, title)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`, pad, h-pad, w-pad, h-pad, pad, pad, pad, h-pad)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s (log scale)</text><text x="5" y="%.0f">ms</text><text x="5" y="%.0f">%.1f</text>`, w/2-60, h-10, xLabel, pad-5, pad+5, maxY)
	for i, s := range series {
		var pts []string
		for j, x := range s.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(float64(x)), py(s.Y[j])))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10">%d</text>`, px(float64(x))-8, h-pad+14, x)
		}
		c := colors[i%len(colors)]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, c, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="%s">%s</text>`, w-pad-230, pad+16*float64(i+1), c, s.Name)
	}
	b.WriteString(`</svg>`)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func logOf(x float64) float64 {
	l := 0.0
	for x >= 10 {
		x /= 10
		l++
	}
	return l + (x-1)/9
}

func writePlots(dir string, sc *Scaling) error {
	if sc == nil {
		return nil
	}
	if err := plot(filepath.Join(dir, "balance-vs-history.svg"), "Balance read as the ledger grows", "ledger entries", sc.BalanceVsHistory); err != nil {
		return err
	}
	if err := plot(filepath.Join(dir, "sweep-vs-members.svg"), "Expiry sweep, 50 lots due, as members grow", "members", sc.SweepVsMembers); err != nil {
		return err
	}
	return plot(filepath.Join(dir, "sweep-vs-lots.svg"), "Expiry sweep as expiring lots grow", "expiring lots", sc.SweepVsLots)
}
