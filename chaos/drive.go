package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loyalty/cashback/client"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Ack is an operation the service acknowledged (200), with what the checks
// compare against the ledger.
type Ack struct {
	Kind     string // redeem, close, cancel, refund, adjust
	Member   string
	Order    string
	RefundID string
	Reason   string

	Total              int64          // redeem: the order's total, to close it with
	MoneyPaid          int64          // close: money paid, what refunds may return
	Accrued, Redeemed  loyalty.Points // close
	Reversed, Returned loyalty.Points // refund

	GiftCard     string // issue: the card sold; close: the card paying
	GiftCardPaid int64  // close: what the card paid
	GiftReturned int64  // refund: what went back to the card
}

// driver is one client of the bank test: the typed API client over its own
// HTTP connection pool, and its own random stream. dups counts the duplicate
// deliveries still in flight (shared by all drivers).
type driver struct {
	api  *client.Client
	rng  *rand.Rand
	dups *sync.WaitGroup
}

// send runs one call, retrying it with the same Idempotency-Key through
// network errors, 5xx and concurrent_update, as a careful client does; now
// and then it also fires a duplicate delivery of the same call. call must
// not write anything shared: the duplicate runs it concurrently.
func send[T any](d *driver, call func() (T, error)) (T, bool) {
	if d.rng.Float64() < 0.05 {
		d.dups.Add(1)
		go func() { // duplicate delivery, result ignored
			defer d.dups.Done()
			_, _ = call()
		}()
	}
	var zero T
	for attempt := 0; attempt < 40; attempt++ {
		out, err := call()
		if err == nil {
			return out, true
		}
		var p *client.Problem
		if errors.As(err, &p) && p.Status < 500 && p.Code != string(loyalty.CodeConflict) {
			return zero, false // refused: the same request would be refused again
		}
		time.Sleep(time.Duration(attempt+1) * 2 * time.Millisecond)
	}
	return zero, false
}

type shared struct {
	mu     sync.Mutex
	open   []Ack // held orders not yet closed or cancelled
	closed []Ack
	cards  []string // gift cards sold
}

func (s *shared) giftCard(rng *rand.Rand) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cards) == 0 {
		return "", false
	}
	return s.cards[rng.IntN(len(s.cards))], true
}

func (s *shared) addGiftCard(n string) {
	s.mu.Lock()
	s.cards = append(s.cards, n)
	s.mu.Unlock()
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
// are done or cfg.Duration passes; it returns what was acknowledged once no
// request of the run is in flight any more, duplicates included, so that
// Check reads a store nothing writes to.
//
// The deadline only stops starting operations: calls run on ctx, so one in
// flight when time runs out still finishes its retries, and a request cut
// off by the deadline is never taken for a network error and retried.
func drive(ctx context.Context, e *Env, cfg Config) ([]Ack, int) {
	deadline, cancel := context.WithTimeout(ctx, cfg.Duration)
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
	st := &shared{cards: append([]string(nil), e.GiftCards...)}
	var sweeps sync.WaitGroup
	sweepCtx, stopSweeps := context.WithCancel(deadline)
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
	var wg, dups sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			api := client.New(e.Server.URL, e.APIKey)
			api.HTTP = &http.Client{Timeout: 60 * time.Second}
			c := &driver{api: api, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(w)+2)), dups: &dups}
			for deadline.Err() == nil && done.Add(1) <= int64(cfg.Ops) {
				n := seq.Add(1)
				key := fmt.Sprintf("k%d-%d", cfg.Seed, n)
				member := e.Members[c.rng.IntN(len(e.Members))]
				ref := client.Member{ID: member}
				switch x := c.rng.IntN(100); {
				case x < 30: // redeem on a new order
					order := fmt.Sprintf("o%d", n)
					total := int64(1000 + c.rng.IntN(50000))
					pts := int64(1 + c.rng.IntN(int(total)))
					if _, ok := send(c, func() (client.RedeemResult, error) {
						out, _, err := c.api.Redeem(ctx, key, order, ref, total, pts)
						return out, err
					}); ok {
						a := Ack{Kind: "redeem", Member: member, Order: order, Total: total}
						ack(a)
						st.put(&st.open, a)
					}
				case x < 45: // close a held order
					o, ok := st.take(&st.open, c.rng)
					if !ok {
						done.Add(-1) // nothing to do: not an operation
						continue
					}
					if out, ok := closeOrder(ctx, c, key, o.Order, o.Member, o.Total); ok {
						a := Ack{Kind: "close", Member: o.Member, Order: o.Order, MoneyPaid: out.MoneyPaid, Accrued: loyalty.Points(out.Accrued), Redeemed: loyalty.Points(out.Redeemed)}
						ack(a)
						st.put(&st.closed, a)
					}
				case x < 60: // close a new order paid in money, with coffee (stamps), now and then a coupon and often part paid by gift card
					order := fmt.Sprintf("o%d", n)
					total := int64(1000 + c.rng.IntN(100000))
					items := []client.Item{{SKU: StampSKU, Amount: total, Quantity: 1 + c.rng.IntN(3)}}
					var coupons []string
					if c.rng.IntN(3) == 0 {
						coupons = []string{CouponCode(c.rng.IntN(Coupons))}
					}
					var cards []client.GiftCardSpend
					if card, ok := st.giftCard(c.rng); ok && c.rng.IntN(2) == 0 {
						// At most half the total: coupons and the stamp card's
						// gift come off it first.
						cards = []client.GiftCardSpend{{Number: card, Amount: 1 + c.rng.Int64N(total/2)}}
					}
					if out, ok := send(c, func() (client.CloseResult, error) {
						out, _, err := c.api.ClosePaidWith(ctx, key, order, ref, total, items, cards, coupons...)
						return out, err
					}); ok {
						a := Ack{Kind: "close", Member: member, Order: order, MoneyPaid: out.MoneyPaid + out.GiftCardPaid, Accrued: loyalty.Points(out.Accrued), Redeemed: loyalty.Points(out.Redeemed),
							GiftCardPaid: out.GiftCardPaid}
						if len(cards) > 0 {
							a.GiftCard = cards[0].Number
						}
						ack(a)
						st.put(&st.closed, a)
					}
				case x < 70: // cancel a hold
					o, ok := st.take(&st.open, c.rng)
					if !ok {
						done.Add(-1) // nothing to do: not an operation
						continue
					}
					if _, ok := send(c, func() (client.CancelResult, error) {
						out, _, err := c.api.Cancel(ctx, key, o.Order)
						return out, err
					}); ok {
						ack(Ack{Kind: "cancel", Member: o.Member, Order: o.Order})
					}
				case x < 88: // refund part of a closed order
					o, ok := st.take(&st.closed, c.rng)
					if !ok {
						done.Add(-1) // nothing to do: not an operation
						continue
					}
					amount := int64(0)
					if o.MoneyPaid > 0 {
						amount = 1 + c.rng.Int64N(o.MoneyPaid)
					}
					refundID := fmt.Sprintf("r%d", n)
					if out, ok := send(c, func() (client.RefundResult, error) {
						out, _, err := c.api.Refund(ctx, key, o.Order, refundID, amount)
						return out, err
					}); ok {
						a := Ack{Kind: "refund", Member: o.Member, Order: o.Order, RefundID: refundID, Reversed: loyalty.Points(out.ReversedAccrual), Returned: loyalty.Points(out.ReturnedPoints)}
						for _, g := range out.GiftCards {
							a.GiftCard, a.GiftReturned = g.Number, a.GiftReturned+g.Returned
						}
						ack(a)
					}
					st.put(&st.closed, o) // may be refunded again, partly
				case x >= 97: // sell a gift card at the till
					amount := int64(1000 + c.rng.IntN(100000))
					expires := ""
					if c.rng.IntN(3) == 0 {
						expires = "PT15S" // expires during the run: the sweep records breakage
					}
					if out, ok := send(c, func() (client.IssuedGiftCard, error) {
						out, _, err := c.api.IssueGiftCard(ctx, key, amount, expires)
						return out, err
					}); ok {
						ack(Ack{Kind: "issue", GiftCard: out.Number})
						st.addGiftCard(out.Number)
					}
				default: // manual adjustment
					reason := fmt.Sprintf("adj-%d", n)
					pts := int64(c.rng.IntN(20000) - 5000)
					if pts == 0 {
						pts = 1
					}
					if _, ok := send(c, func() (client.AdjustResult, error) {
						out, _, err := c.api.Adjust(ctx, key, member, pts, reason)
						return out, err
					}); ok {
						ack(Ack{Kind: "adjust", Member: member, Reason: reason})
					}
				}
			}
		}(w)
	}
	wg.Wait()
	dups.Wait()
	stopSweeps()
	sweeps.Wait()
	ops := int(done.Load())
	if ops > cfg.Ops {
		ops = cfg.Ops
	}
	return acks, ops
}

// closeOrder closes an order paid by the member, capturing its hold if any.
func closeOrder(ctx context.Context, c *driver, key, order, member string, total int64) (client.CloseResult, bool) {
	return send(c, func() (client.CloseResult, error) {
		out, _, err := c.api.Close(ctx, key, order, client.Member{ID: member}, total, nil)
		return out, err
	})
}
