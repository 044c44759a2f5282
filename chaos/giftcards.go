package main

import (
	"context"
	"fmt"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
)

// GiftCardsAtStart are sold before the run; a third of them expire during it.
const GiftCardsAtStart = 6

// sellGiftCards sells the cards the clients start spending.
func (e *Env) sellGiftCards(ctx context.Context, owner loyalty.Caller) error {
	for i := 0; i < GiftCardsAtStart; i++ {
		expires := ""
		if i%3 == 2 {
			expires = "PT20S"
		}
		g, _, err := e.App.Service.IssueGiftCard(ctx, owner, loyalty.Idem{}, loyalty.IssueRequest{Amount: 200000, ExpiresIn: expires})
		if err != nil {
			return err
		}
		e.GiftCards = append(e.GiftCards, g.Number)
	}
	return nil
}

// GiftFigures sum up the gift cards after a run.
type GiftFigures struct {
	Cards                                              int
	Issued, Spent, Refunded, Expired, Balances         loyalty.Money
	SpendEntries, RefundEntries, ExpireEntries, Closes int
}

func (g GiftFigures) String() string {
	return fmt.Sprintf("gift cards: %d cards, issued %d − spent %d + refunded %d − expired %d = %d = sum of balances %d; %d spends (%d acknowledged closes paid by card), %d refunds to cards, %d expiries",
		g.Cards, g.Issued, g.Spent, g.Refunded, g.Expired, g.Issued-g.Spent+g.Refunded-g.Expired, g.Balances, g.SpendEntries, g.Closes, g.RefundEntries, g.ExpireEntries)
}

// CheckGiftCards verifies the gift cards after a run:
//   - per card: the hash chain verifies, the balance after every entry is
//     the ledger's sum and never below 0, and the card's sums by kind are
//     its ledger's (drift otherwise);
//   - in all: issued − spent + refunded − expired = the sum of balances;
//   - per order paid by card: the card's ledger has exactly one spend of
//     the amount the order records, each refund id at most one return, and
//     its returns sum to what the order records as returned; no spend
//     belongs to an order that does not record it (double spend otherwise);
//   - every acknowledged close paid by card and sale is in the ledger.
func CheckGiftCards(ctx context.Context, st *store.Store, tenant string, cards []string, acks []Ack, res *Result) {
	violate := func(format string, args ...any) {
		res.Violations = append(res.Violations, fmt.Sprintf(format, args...))
	}
	for _, a := range acks {
		if a.Kind == "issue" {
			cards = append(cards, a.GiftCard)
		}
		if a.Kind == "close" && a.GiftCardPaid > 0 {
			res.Gift.Closes++
		}
	}
	type use struct {
		spends  int
		spent   loyalty.Money
		refunds map[string]int
		back    loyalty.Money
	}
	uses := map[string]*use{} // order|card
	var g GiftFigures
	for _, n := range cards {
		card, err := st.GetGiftCard(ctx, tenant, n)
		if err != nil {
			violate("acknowledged gift card %s not stored: %v", n, err)
			continue
		}
		g.Cards++
		if err := st.VerifyGiftCard(ctx, tenant, n); err != nil {
			res.Drift++
			violate("drift: %v", err)
		}
		if card.Balance < 0 {
			res.DoubleSpends++
			violate("double spend: gift card %s holds %d", n, card.Balance)
		}
		g.Issued += card.Issued
		g.Spent += card.Spent
		g.Refunded += card.Refunded
		g.Expired += card.Expired
		g.Balances += card.Balance
		entries, err := st.GiftCardLedger(ctx, tenant, n, 0)
		if err != nil {
			violate("read gift card ledger %s: %v", n, err)
			continue
		}
		for _, e := range entries {
			if e.OrderID == "" {
				if e.Kind == loyalty.GiftExpire {
					g.ExpireEntries++
				}
				continue
			}
			u := uses[e.OrderID+"|"+n]
			if u == nil {
				u = &use{refunds: map[string]int{}}
				uses[e.OrderID+"|"+n] = u
			}
			switch e.Kind {
			case loyalty.GiftSpend:
				g.SpendEntries++
				u.spends++
				u.spent -= e.Amount
			case loyalty.GiftRefund:
				g.RefundEntries++
				u.refunds[e.RefundID]++
				u.back += e.Amount
			case loyalty.GiftExpire:
				g.ExpireEntries++
			}
		}
	}
	if g.Issued-g.Spent+g.Refunded-g.Expired != g.Balances {
		res.Drift++
		violate("drift: gift cards issued %d − spent %d + refunded %d − expired %d ≠ balances %d", g.Issued, g.Spent, g.Refunded, g.Expired, g.Balances)
	}
	g.Closes = res.Gift.Closes
	res.Gift = g
	for k, u := range uses {
		var orderID, number string
		for i := range k {
			if k[i] == '|' {
				orderID, number = k[:i], k[i+1:]
			}
		}
		order, err := st.GetOrder(ctx, tenant, orderID)
		if err != nil {
			res.DoubleSpends++
			violate("double spend: gift card %s spent on order %s, which is not stored (%v)", number, orderID, err)
			continue
		}
		var rec *loyalty.OrderGiftCard
		for i := range order.GiftCards {
			if order.GiftCards[i].Number == number {
				rec = &order.GiftCards[i]
			}
		}
		bad := rec == nil || u.spends != 1 || u.spent != rec.Amount || u.back != rec.Returned
		for r, n := range u.refunds {
			if n > 1 {
				bad = true
				violate("double spend: refund %s returned to gift card %s %d times", r, number, n)
			}
		}
		if bad {
			res.DoubleSpends++
			violate("double spend: gift card %s on order %s: %d spends of %d, %d returned; the order records %+v", number, orderID, u.spends, u.spent, u.back, rec)
		}
	}
	for _, a := range acks {
		if a.Kind == "close" && a.GiftCardPaid > 0 {
			if u := uses[a.Order+"|"+a.GiftCard]; u == nil || u.spends != 1 || int64(u.spent) != a.GiftCardPaid {
				violate("acknowledged gift card payment of %s is not in the card's ledger exactly once", a.Order)
			}
		}
	}
}
