package main

import (
	"fmt"
	"sort"
	"time"
)

// The feed's lag figures (feed, webhook delivery, wallet push) share one
// loop: close orders one after another, spaced out, while the local feed
// runs as `serve` runs it, and time each from the close's answer to the
// moment its effect is seen where that figure looks.

// lagClose is one close of the loop: the order, its member, when its answer
// came back.
type lagClose struct {
	order, member string
	at            time.Time
}

// seenFunc tells when a close's effect was seen (false: not yet).
type seenFunc func(c lagClose) (time.Time, bool)

// lagLoop closes n orders named prefix-i on the bench's members in turn,
// waits up to timeout for every one to be seen, and returns the lags in
// milliseconds, sorted.
func (b *bench) lagLoop(prefix string, n int, timeout time.Duration, seen seenFunc) ([]float64, error) {
	b.unmodelled.Store(true)
	defer b.unmodelled.Store(false)
	closes := make([]lagClose, 0, n)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		m := b.members[i%len(b.members)]
		if err := b.closeOrder(id, m, 10000, id); err != nil {
			return nil, err
		}
		closes = append(closes, lagClose{order: id, member: m, at: time.Now()})
		time.Sleep(37 * time.Millisecond) // not in step with the poll interval
	}
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, c := range closes {
			if _, ok := seen(c); ok {
				got++
			}
		}
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: %d of %d seen within %s", prefix, got, n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lags := make([]float64, 0, n)
	for _, c := range closes {
		at, _ := seen(c)
		lags = append(lags, float64(at.Sub(c.at).Microseconds())/1000)
	}
	sort.Float64s(lags)
	return lags, nil
}

// lagStats are the p50, p99 and max of sorted lags.
func lagStats(lags []float64) (p50, p99, maxMs float64) {
	pct := func(q float64) float64 { return round(lags[int(q*float64(len(lags)-1))]) }
	return pct(0.5), pct(0.99), round(lags[len(lags)-1])
}
