package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Ack is an operation the service acknowledged (200).
type Ack struct {
	Kind     string // redeem, close, cancel, refund, adjust
	Member   string
	Order    string
	RefundID string
	Reason   string
	Body     map[string]any
}

type client struct {
	e    *Env
	http *http.Client
	rng  *rand.Rand
	id   int
}

// send posts one request, retrying it with the same Idempotency-Key through
// network errors, 5xx and concurrent_update, as a careful client does; now
// and then it also fires a duplicate delivery of the same request.
func (c *client) send(path string, body any, key string) (int, map[string]any) {
	payload, _ := json.Marshal(body)
	if c.rng.Float64() < 0.05 {
		go c.once(path, payload, key) // duplicate delivery, result ignored
	}
	for attempt := 0; attempt < 40; attempt++ {
		status, out, err := c.once(path, payload, key)
		if err == nil && status < 500 && !(status == 409 && out["code"] == "concurrent_update") {
			return status, out
		}
		time.Sleep(time.Duration(attempt+1) * 2 * time.Millisecond)
	}
	return 0, nil
}

func (c *client) once(path string, payload []byte, key string) (int, map[string]any, error) {
	req, _ := http.NewRequest("POST", c.e.Server.URL+path, bytes.NewReader(payload))
	req.Header.Set("Authorization", "Bearer "+c.e.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, nil
}

type shared struct {
	mu     sync.Mutex
	open   []Ack // held orders not yet closed or cancelled
	closed []Ack
}

func (s *shared) take(list *[]Ack, rng *rand.Rand) (Ack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*list) == 0 {
		return Ack{}, false
	}
	i := rng.IntN(len(*list))
	a := (*list)[i]
	(*list)[i] = (*list)[len(*list)-1]
	*list = (*list)[:len(*list)-1]
	return a, true
}

func (s *shared) put(list *[]Ack, a Ack) {
	s.mu.Lock()
	*list = append(*list, a)
	s.mu.Unlock()
}

// drive runs the clients and two concurrent sweeps until cfg.Ops operations
// are done or cfg.Duration passes; it returns what was acknowledged.
func drive(ctx context.Context, e *Env, cfg Config) ([]Ack, int) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var acksMu sync.Mutex
	var acks []Ack
	ack := func(a Ack) {
		acksMu.Lock()
		acks = append(acks, a)
		acksMu.Unlock()
	}
	var done atomic.Int64
	var seq atomic.Int64
	st := &shared{}
	var sweeps sync.WaitGroup
	sweepCtx, stopSweeps := context.WithCancel(ctx)
	for i := 0; i < 2; i++ { // duplicate sweep invocations, as a scheduler may deliver
		sweeps.Add(1)
		go func() {
			defer sweeps.Done()
			for sweepCtx.Err() == nil {
				_, _ = e.App.Service.Sweep(sweepCtx, "")
				time.Sleep(150 * time.Millisecond)
			}
		}()
	}
	go func() { // progress, so a long run shows it is moving
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-sweepCtx.Done():
				return
			case <-t.C:
				fmt.Printf("bank test: %d ops so far, %d faults\n", min(done.Load(), int64(cfg.Ops)), e.Faults.Faults())
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := &client{e: e, http: &http.Client{Timeout: 60 * time.Second}, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(w)+2)), id: w}
			for ctx.Err() == nil && done.Add(1) <= int64(cfg.Ops) {
				n := seq.Add(1)
				key := fmt.Sprintf("k%d-%d", cfg.Seed, n)
				member := e.Members[c.rng.IntN(len(e.Members))]
				ref := map[string]any{"id": member}
				switch x := c.rng.IntN(100); {
				case x < 30: // redeem on a new order
					order := fmt.Sprintf("o%d", n)
					total := int64(1000 + c.rng.IntN(50000))
					pts := int64(1 + c.rng.IntN(int(total)))
					status, out := c.send("/v1/orders/"+order+"/redeem", map[string]any{"member": ref, "total": total, "points": pts}, key)
					if status == 200 {
						a := Ack{Kind: "redeem", Member: member, Order: order, Body: out}
						a.Body["total"] = float64(total)
						ack(a)
						st.put(&st.open, a)
					}
				case x < 45: // close a held order
					o, ok := st.take(&st.open, c.rng)
					if !ok {
						done.Add(-1) // nothing to do: not an operation
						continue
					}
					status, out := c.send("/v1/orders/"+o.Order+"/close", map[string]any{"member": map[string]any{"id": o.Member}, "total": o.Body["total"]}, key)
					if status == 200 {
						a := Ack{Kind: "close", Member: o.Member, Order: o.Order, Body: out}
						ack(a)
						st.put(&st.closed, a)
					}
				case x < 60: // close a new order paid in money
					order := fmt.Sprintf("o%d", n)
					status, out := c.send("/v1/orders/"+order+"/close", map[string]any{"member": ref, "total": 1000 + c.rng.IntN(100000)}, key)
					if status == 200 {
						a := Ack{Kind: "close", Member: member, Order: order, Body: out}
						ack(a)
						st.put(&st.closed, a)
					}
				case x < 70: // cancel a hold
					o, ok := st.take(&st.open, c.rng)
					if !ok {
						done.Add(-1) // nothing to do: not an operation
						continue
					}
					if status, out := c.send("/v1/orders/"+o.Order+"/cancel", map[string]any{}, key); status == 200 {
						ack(Ack{Kind: "cancel", Member: o.Member, Order: o.Order, Body: out})
					}
				case x < 88: // refund part of a closed order
					o, ok := st.take(&st.closed, c.rng)
					if !ok {
						done.Add(-1) // nothing to do: not an operation
						continue
					}
					paid := int64(o.Body["moneyPaid"].(float64))
					amount := int64(0)
					if paid > 0 {
						amount = 1 + c.rng.Int64N(paid)
					}
					refundID := fmt.Sprintf("r%d", n)
					status, out := c.send("/v1/orders/"+o.Order+"/refunds", map[string]any{"refundId": refundID, "amount": amount}, key)
					if status == 200 {
						ack(Ack{Kind: "refund", Member: o.Member, Order: o.Order, RefundID: refundID, Body: out})
					}
					st.put(&st.closed, o) // may be refunded again, partly
				default: // manual adjustment
					reason := fmt.Sprintf("adj-%d", n)
					pts := int64(c.rng.IntN(20000) - 5000)
					if pts == 0 {
						pts = 1
					}
					status, out := c.send("/v1/members/"+member+"/adjustments", map[string]any{"points": pts, "reason": reason}, key)
					if status == 200 {
						ack(Ack{Kind: "adjust", Member: member, Reason: reason, Body: out})
					}
				}
			}
		}(w)
	}
	wg.Wait()
	stopSweeps()
	sweeps.Wait()
	ops := int(done.Load())
	if ops > cfg.Ops {
		ops = cfg.Ops
	}
	return acks, ops
}
