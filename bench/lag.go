package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// arrivals notes when each order's points.accrued event first reached a
// consumer (the feed's sink, a webhook receiver).
type arrivals struct {
	mu sync.Mutex
	at map[string]time.Time // order id → first arrival
}

func newArrivals() *arrivals { return &arrivals{at: map[string]time.Time{}} }

// note records an arrival; later ones of the same order change nothing.
func (a *arrivals) note(orderID string, now time.Time) {
	if orderID == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.at[orderID]; !seen {
		a.at[orderID] = now
	}
}

// lags are the lag figures of one measurement, in milliseconds.
type lags struct{ p50, p99, max float64 }

// closeAndAwait closes n orders (prefix-0, prefix-1, …) one after another,
// spaced out, waits up to wait for each one's arrival and returns each
// order's lag from the close's answer to its arrival.
func (b *bench) closeAndAwait(what, prefix string, n int, a *arrivals, wait time.Duration) (lags, error) {
	committed := map[string]time.Time{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := b.closeOrder(id, b.members[i%len(b.members)], 10000, id); err != nil {
			return lags{}, err
		}
		committed[id] = time.Now()
		time.Sleep(37 * time.Millisecond) // not in step with the poll interval
	}
	deadline := time.Now().Add(wait)
	for {
		a.mu.Lock()
		got := 0
		for id := range committed {
			if _, ok := a.at[id]; ok {
				got++
			}
		}
		a.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			return lags{}, fmt.Errorf("%s: %d of %d arrived within %s", what, got, n, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var ms []float64
	a.mu.Lock()
	for id, at := range committed {
		ms = append(ms, float64(a.at[id].Sub(at).Microseconds())/1000)
	}
	a.mu.Unlock()
	sort.Float64s(ms)
	pct := func(q float64) float64 { return round(ms[int(q*float64(len(ms)-1))]) }
	return lags{p50: pct(0.5), p99: pct(0.99), max: round(ms[len(ms)-1])}, nil
}
