package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
)

// A short bank test under faults passes, and the checker catches a double
// spend planted afterwards: a second hold on an order that already closed,
// written consistently (hash chain, balance and lots agree) so that only the
// per-order check can see it.
func TestBankTestAndPlantedDoubleSpend(t *testing.T) {
	ctx := context.Background()
	cfg := Config{Seed: 42, Ops: 600, Members: 4, Workers: 6, Duration: 3 * time.Minute, Throttle: 0.05, Drop: 0.03, Dup: 0.03, Delay: 0.05,
		// Short enough that points expire within a run of a few seconds on
		// a fast machine (the reports must see expiries).
		PointsLifetime: "PT6S"}
	e, err := Setup(ctx, cfg)
	if err != nil {
		t.Fatalf("setup (needs DynamoDB Local, see make ddb-local): %v", err)
	}
	defer e.Close()
	stopFeed, err := e.feed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	acks, ops := drive(ctx, e, cfg)
	// Whatever the machine's speed, the first points outlive their
	// lifetime before the feed stops (one more sweep expires them), while
	// those of the run's last seconds stay for the plants below.
	time.Sleep(time.Until(started.Add(6500 * time.Millisecond)))
	if _, err := e.App.Service.Sweep(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := stopFeed(); err != nil {
		t.Fatal(err)
	}
	res := Check(ctx, e.App.Store, e.Tenant, e.Members, acks)
	CheckGiftCards(ctx, e.App.Store, e.Tenant, e.GiftCards, acks, &res)
	if ops != cfg.Ops || len(res.Violations) > 0 {
		t.Fatalf("clean run: %d ops, violations %v", ops, res.Violations)
	}
	// The reports built from the stream under the same faults agree with
	// the balances, and saw every kind of change.
	if v := CheckReports(ctx, e.App.Store, e.Tenant, e.Members); len(v) > 0 {
		t.Fatalf("reports: %v", v)
	}
	liab, err := e.App.Store.GetLiability(ctx, e.Tenant)
	if err != nil || liab.Available <= 0 || len(liab.ByMonth) == 0 {
		t.Fatalf("liability %+v, %v", liab, err)
	}
	days, err := e.App.Store.ListActivity(ctx, e.Tenant, reports.ScopeDay, "2000-01-01", "2999-12-31")
	var seen reports.Counters
	for _, d := range days {
		seen.Add(d.Counters)
	}
	if err != nil || seen.Accrued == 0 || seen.Redeemed == 0 || seen.Expired == 0 || seen.RefundedMoney == 0 || seen.RefundedAccrual == 0 || seen.OrdersClosed == 0 || seen.Adjusted == 0 {
		t.Fatalf("the run's activity misses a kind of change: %+v (%v)", seen, err)
	}
	// The gift card checks saw spends, and catch one planted: a spend of a
	// card, chained and summed right, for an order that never recorded it.
	if res.Gift.SpendEntries == 0 || res.Gift.Closes == 0 {
		t.Fatalf("no gift card was spent in the run: %s", res.Gift)
	}
	var card *loyalty.GiftCard
	for _, n := range e.GiftCards {
		if c, err := e.App.Store.GetGiftCard(ctx, e.Tenant, n); err == nil && c.Balance > 0 {
			card = c
			break
		}
	}
	if card == nil {
		t.Fatal("no gift card with value left to plant on")
	}
	{
		src := *card
		if src.ExpiresAt.IsZero() {
			src.ExpiresAt = src.CreatedAt.Add(time.Hour) // only to draw the chained entry below
		}
		w, _, _ := loyalty.ExpireGiftCard(src, card.CreatedAt.Add(1e6*time.Hour)) // a chained entry taking the balance...
		w.Card.ExpiresAt = card.ExpiresAt
		w.Entries[0].Kind, w.Entries[0].OrderID = loyalty.GiftSpend, "never-closed" // ...as a spend on no order
		w.Entries[0].Hash = loyalty.GiftCardEntryHash(w.Entries[0].PrevHash, w.Entries[0])
		w.Card.LastHash, w.Card.Expired, w.Card.Spent = w.Entries[0].Hash, card.Expired, card.Spent+card.Balance
		if err := e.App.Store.WriteGiftCards(ctx, e.Tenant, []loyalty.GiftCardWrite{w}, nil); err != nil {
			t.Fatal(err)
		}
		gres := Result{}
		CheckGiftCards(ctx, e.App.Store, e.Tenant, e.GiftCards, acks, &gres)
		if gres.Drift != 0 || gres.DoubleSpends != 1 || !strings.Contains(strings.Join(gres.Violations, "\n"), "never-closed") {
			t.Fatalf("planted gift card spend not caught: %+v", gres)
		}
	}
	if e.Faults.Faults() == 0 {
		t.Fatal("no faults were injected")
	}
	// The coupon and stamp checks saw something to check.
	coupons, err := e.App.Store.ListCoupons(ctx, e.Tenant, "", 100)
	used := 0
	for _, c := range coupons {
		used += int(c.Uses)
	}
	if err != nil || used == 0 {
		t.Fatalf("no coupon was used in the run (%v)", err)
	}
	// Plant a coupon double spend: a second use counted on a used coupon
	// is caught.
	for _, c := range coupons {
		if c.Uses == 1 {
			owner := loyalty.Caller{TenantID: e.Tenant, Role: loyalty.RoleOwner, KeyID: "plant"}
			// A coupon of the same code cannot be created twice; count a
			// use directly through a commit of the member's state instead.
			st, err := e.App.Store.LoadMember(ctx, e.Tenant, e.Members[0])
			if err != nil {
				t.Fatal(err)
			}
			cm := loyalty.NewDraft(*st, time.Now(), owner).Commit(e.Tenant)
			cm.Coupons = []loyalty.CouponUse{{Code: c.Code, Delta: 1}}
			cm.AccountChanged = true
			if err := e.App.Store.Commit(ctx, cm); err != nil {
				t.Fatal(err)
			}
			if res := Check(ctx, e.App.Store, e.Tenant, e.Members, acks); res.DoubleSpends != 1 || !strings.Contains(strings.Join(res.Violations, "\n"), c.Code) {
				t.Fatalf("a coupon used twice is not caught: %v", res.Violations)
			}
			cm = loyalty.NewDraft(*mustLoad(t, e, e.Members[0]), time.Now(), owner).Commit(e.Tenant)
			cm.Coupons = []loyalty.CouponUse{{Code: c.Code, Delta: -1}}
			cm.AccountChanged = true
			if err := e.App.Store.Commit(ctx, cm); err != nil {
				t.Fatal(err)
			}
			break
		}
	}

	// Plant: hold points again on an order that closed with a capture, of
	// a member who still has points to hold.
	var victim Ack
	var st *loyalty.MemberState
	for _, a := range acks {
		if a.Kind != "close" || a.Redeemed == 0 {
			continue
		}
		if st = mustLoad(t, e, a.Member); st.Account.Available > 0 {
			victim = a
			break
		}
	}
	if victim.Order == "" {
		t.Fatal("no closed order with points of a member who has points left to plant on")
	}
	tn, err := e.App.Store.GetTenant(ctx, e.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	pts := min(st.Account.Available, 100)
	fake := &loyalty.Order{ID: victim.Order, MemberID: victim.Member, State: loyalty.OrderOpen}
	d, _, _, err := loyalty.Redeem(tn.CurrentProgram, *st, fake, loyalty.RedeemRequest{OrderID: victim.Order, Total: 1000000, Points: pts}, time.Now(), loyalty.Caller{KeyID: "planted"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.App.Store.Commit(ctx, d.Commit(e.Tenant)); err != nil {
		t.Fatal(err)
	}
	res = Check(ctx, e.App.Store, e.Tenant, e.Members, acks)
	if res.Drift != 0 {
		t.Fatalf("the plant should be consistent per member: %v", res.Violations)
	}
	if res.DoubleSpends != 1 || !strings.Contains(strings.Join(res.Violations, "\n"), "double spend: order "+victim.Order) {
		t.Fatalf("planted double spend not caught: %+v", res)
	}
}

func mustLoad(t *testing.T, e *Env, member string) *loyalty.MemberState {
	t.Helper()
	st, err := e.App.Store.LoadMember(context.Background(), e.Tenant, member)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
