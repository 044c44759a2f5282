package main

import (
	"context"
	"fmt"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
)

// Check verifies every invariant after a run:
//   - per member: the hash chain verifies, and the stored balance equals the
//     ledger sum and the lot sum (drift otherwise);
//   - per order: the held points equal the ledger's redeems less releases
//     and captures, an order closes (captures, accrues) at most once, a
//     refund id applies at most once (double spend otherwise);
//   - every acknowledged operation is in the ledger exactly once;
//   - a single-use coupon is on at most one order not fully refunded, and
//     its use counter says so (double spend otherwise); a member's stamp
//     card progress is the ledger's stamps summed, within the card's cycle
//     (drift otherwise).
func Check(ctx context.Context, st *store.Store, tenant string, members []string, acks []Ack) Result {
	var res Result
	violate := func(format string, args ...any) {
		res.Violations = append(res.Violations, fmt.Sprintf(format, args...))
	}
	type orderLedger struct {
		held                      loyalty.Points
		redeems, captures, accrue int
		refunds                   map[string]int
		member                    string
	}
	orders := map[string]*orderLedger{}
	couponOrders := map[string][]string{} // code → orders it is applied to, not given back
	notes := map[string]int{}
	promos, _, err := st.ListPromotions(ctx, tenant)
	if err != nil {
		violate("read promotions: %v", err)
	}
	for _, m := range members {
		if err := st.VerifyMember(ctx, tenant, m); err != nil {
			res.Drift++
			violate("drift: %v", err)
		}
		entries, err := st.AllLedger(ctx, tenant, m)
		if err != nil {
			violate("read ledger of %s: %v", m, err)
			continue
		}
		if acct, err := st.GetAccount(ctx, tenant, m); err == nil {
			for _, p := range promos {
				sum := 0
				for _, e := range entries {
					sum += e.Stamps[p.ID]
				}
				if cycle := p.N + p.M; sum < 0 || sum%cycle != acct.Stamps[p.ID] {
					res.Drift++
					violate("drift: member %s has %d stamps of %s, its ledger sums to %d", m, acct.Stamps[p.ID], p.ID, sum)
				}
			}
		}
		for _, e := range entries {
			if e.Kind == loyalty.KindAdjust {
				notes[m+"|"+e.Note]++
			}
			if e.OrderID == "" {
				continue
			}
			o := orders[e.OrderID]
			if o == nil {
				o = &orderLedger{refunds: map[string]int{}, member: m}
				orders[e.OrderID] = o
			}
			o.held += e.Held
			switch e.Kind {
			case loyalty.KindRedeem:
				o.redeems++
			case loyalty.KindCapture:
				o.captures++
			case loyalty.KindAccrue:
				o.accrue++
			case loyalty.KindRefund:
				o.refunds[e.RefundID]++
			}
		}
	}
	for id, o := range orders {
		order, err := st.GetOrder(ctx, tenant, id)
		if err != nil {
			violate("order %s in the ledger but not stored: %v", id, err)
			continue
		}
		bad := false
		if order.Held != o.held {
			bad = true
			violate("double spend: order %s holds %d but its ledger says %d", id, order.Held, o.held)
		}
		if o.captures > 1 || o.accrue > 1 {
			bad = true
			violate("double spend: order %s captured %d and accrued %d times", id, o.captures, o.accrue)
		}
		for r, n := range o.refunds {
			if n > 1 {
				bad = true
				violate("double spend: refund %s of order %s applied %d times", r, id, n)
			}
		}
		if bad {
			res.DoubleSpends++
		}
		for _, c := range order.Coupons {
			if !c.Returned {
				couponOrders[c.Code] = append(couponOrders[c.Code], id)
			}
		}
	}
	coupons, err := st.ListCoupons(ctx, tenant, "", 1000)
	if err != nil {
		violate("read coupons: %v", err)
	}
	for _, c := range coupons {
		if on := couponOrders[c.Code]; len(on) > 1 || int64(len(on)) != c.Uses {
			res.DoubleSpends++
			violate("double spend: single-use coupon %s counts %d uses and is on orders %v", c.Code, c.Uses, on)
		}
	}
	for _, a := range acks {
		switch a.Kind {
		case "close":
			o := orders[a.Order]
			order, err := st.GetOrder(ctx, tenant, a.Order)
			if err != nil || order.State != loyalty.OrderClosed {
				violate("acknowledged close of %s not stored as closed", a.Order)
				continue
			}
			if a.Accrued > 0 && (o == nil || o.accrue != 1) {
				violate("acknowledged accrual of %s is not in the ledger exactly once", a.Order)
			}
			if a.Redeemed > 0 && (o == nil || o.captures != 1) {
				violate("acknowledged capture of %s is not in the ledger exactly once", a.Order)
			}
		case "redeem":
			if o := orders[a.Order]; o == nil || o.redeems < 1 {
				violate("acknowledged redeem of %s is not in the ledger", a.Order)
			}
		case "refund":
			if a.Reversed+a.Returned > 0 {
				if o := orders[a.Order]; o == nil || o.refunds[a.RefundID] != 1 {
					violate("acknowledged refund %s of %s is not in the ledger exactly once", a.RefundID, a.Order)
				}
			}
		case "adjust":
			if notes[a.Member+"|"+a.Reason] != 1 {
				violate("acknowledged adjustment %s is in the ledger %d times", a.Reason, notes[a.Member+"|"+a.Reason])
			}
		}
	}
	return res
}
