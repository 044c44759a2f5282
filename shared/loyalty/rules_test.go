package loyalty

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func program() *Program {
	return &Program{ID: "p_1", Type: "bonus", Status: ProgramActive, CashbackPercent: 500, MaxRedeemPercent: 5000, PointValue: 100, ReturnSpentOnRefund: true}
}

func TestRedeemLimitAndCashback(t *testing.T) {
	for _, c := range []struct {
		name          string
		cashback, max BasisPoints
		value         Money
		total         Money
		limit         Points
		cash          Points
	}{
		{"seed 001: 100 ₽ ticket at 10 % → 10 points", 500, 1000, 100, 10000, 1000, 500},
		{"half payable at 5 %", 500, 5000, 100, 72000, 36000, 3600},
		{"nothing payable", 500, 0, 100, 72000, 0, 3600},
		{"odd kopecks round down", 333, 3333, 100, 1001, 333, 33},
		{"point worth 10 ₽", 500, 5000, 1000, 10000, 500, 50},
	} {
		p := program()
		p.CashbackPercent, p.MaxRedeemPercent, p.PointValue = c.cashback, c.max, c.value
		if got := RedeemLimit(p, c.total); got != c.limit {
			t.Errorf("%s: limit %d, want %d", c.name, got, c.limit)
		}
		if got := Cashback(p, c.total); got != c.cash {
			t.Errorf("%s: cashback %d, want %d", c.name, got, c.cash)
		}
	}
}

func TestValidateProgram(t *testing.T) {
	for _, c := range []struct {
		field string
		edit  func(*Program)
	}{
		{"name", func(p *Program) { p.Name = " " }},
		{"type", func(p *Program) { p.Type = "points" }},
		{"cashbackPercent", func(p *Program) { p.CashbackPercent = 10001 }},
		{"maxRedeemPercent", func(p *Program) { p.MaxRedeemPercent = -1 }},
		{"pointsLifetime", func(p *Program) { p.PointsLifetime = "180 days" }},
		{"pendingPeriod", func(p *Program) { p.PointsLifetime, p.PendingPeriod = "P1D", "P2D" }},
		{"holdTimeout", func(p *Program) { p.HoldTimeout = "PT0S" }},
		{"welcomeBonus.lifetime", func(p *Program) { p.WelcomeBonus = &WelcomeBonus{Points: 1, Lifetime: "1W"} }},
		{"termsUrl", func(p *Program) { p.TermsURL = "javascript:alert(1)" }},
	} {
		p := program()
		p.Name = "ok"
		c.edit(p)
		err := ValidateProgram(p)
		var de *Error
		if !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
	p := program()
	p.Name = "fine"
	if err := ValidateProgram(p); err != nil {
		t.Errorf("valid program refused: %v", err)
	}
}

func memberWith(lots ...Lot) MemberState {
	var a Account
	a.MemberID, a.Status = "m_1", MemberActive
	for _, l := range lots {
		if l.Pending {
			a.Pending += l.Remaining
		} else {
			a.Available += l.Remaining
		}
	}
	return MemberState{Account: a, Lots: lots}
}

func lot(id string, n Points, expires time.Time) Lot {
	return Lot{ID: id, Original: n, Remaining: n, ExpiresAt: expires, AvailableFrom: t0}
}

func TestRedeemSpendsSoonestExpiringFirst(t *testing.T) {
	st := memberWith(lot("late", 1000, t0.AddDate(0, 6, 0)), lot("never", 1000, time.Time{}), lot("soon", 1000, t0.AddDate(0, 0, 1)))
	d, o, res, err := Redeem(program(), st, nil, RedeemRequest{OrderID: "o", Total: 10000, Points: 1500}, t0, Caller{KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Held != 1500 || o.Held != 1500 || len(o.HeldLots) != 2 || o.HeldLots[0].Lot != "soon" || o.HeldLots[1].Lot != "late" || o.HeldLots[1].Points != 500 {
		t.Fatalf("hold %+v", o.HeldLots)
	}
	c := d.Commit("t")
	if c.Account.Available != 1500 || c.Account.Held != 1500 || c.Account.Seq != 1 || len(c.Entries) != 1 {
		t.Fatalf("commit %+v", c.Account)
	}
	// The emptied lot is deleted, the other conditioned on what was read.
	for _, lw := range c.Lots {
		switch lw.Lot.ID {
		case "soon":
			if !lw.Delete || lw.PrevRemaining != 1000 {
				t.Errorf("soon: %+v", lw)
			}
		case "late":
			if lw.Delete || lw.PrevRemaining != 1000 || lw.Lot.Remaining != 500 {
				t.Errorf("late: %+v", lw)
			}
		default:
			t.Errorf("untouched lot written: %+v", lw)
		}
	}
	if err := VerifyChain(*c.Account, c.Entries); err == nil {
		t.Fatal("a chain of one entry cannot match an account that started with points and no ledger")
	}
}

func TestRedeemRefusals(t *testing.T) {
	st := memberWith(lot("a", 1000, time.Time{}))
	closed := &Order{ID: "o", MemberID: "m_1", State: OrderClosed}
	other := &Order{ID: "o", MemberID: "m_2", State: OrderOpen}
	for _, c := range []struct {
		order  *Order
		points Points
		total  Money
		code   Code
	}{
		{nil, 1001, 10000, CodeInsufficientPoints},
		{nil, 600, 1000, CodeRedeemLimitExceeded},
		{closed, 100, 10000, CodeOrderClosed},
		{other, 100, 10000, CodeOrderMemberMismatch},
	} {
		_, _, _, err := Redeem(program(), st, c.order, RedeemRequest{OrderID: "o", Total: c.total, Points: c.points}, t0, Caller{KeyID: "k"})
		if CodeOf(err) != c.code {
			t.Errorf("want %s, got %v", c.code, err)
		}
	}
	blocked := st
	blocked.Account.Status = MemberBlocked
	if _, _, _, err := Redeem(program(), blocked, nil, RedeemRequest{OrderID: "o", Total: 10000, Points: 1}, t0, Caller{KeyID: "k"}); CodeOf(err) != CodeMemberBlocked {
		t.Errorf("blocked: %v", err)
	}
	stopped := program()
	stopped.Status = ProgramStopped
	if _, _, _, err := Redeem(stopped, st, nil, RedeemRequest{OrderID: "o", Total: 10000, Points: 100}, t0, Caller{KeyID: "k"}); err != nil {
		t.Errorf("a stopped program still lets members spend: %v", err)
	}
}

func TestPartialRefundsSettleExactly(t *testing.T) {
	// An order of 100.00 paid 70.00 in money and 30.00 in points, refunded in
	// three parts: the parts add up to exactly what was accrued and spent.
	p := program()
	st := memberWith(lot("a", 3000, time.Time{}))
	d, o, _, err := Redeem(p, st, nil, RedeemRequest{OrderID: "o", Total: 10000, Points: 3000}, t0, Caller{KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	st = apply(t, st, d)
	d, o, cr, err := Close(p, st, o, CloseRequest{OrderID: "o", Total: 10000}, t0, Caller{KeyID: "k"})
	if err != nil || cr.Accrued != 350 || cr.MoneyPaid != 7000 {
		t.Fatalf("close %+v %v", cr, err)
	}
	st = apply(t, st, d)
	var reversed, returned Points
	for i, amt := range []Money{3333, 3333, 334} {
		var rr RefundResult
		d, o, rr, err = Refund(p, st, o, RefundRequest{RefundID: string(rune('a' + i)), Amount: amt}, t0, Caller{KeyID: "k"})
		if err != nil {
			t.Fatal(err)
		}
		st = apply(t, st, d)
		reversed += rr.ReversedAccrual
		returned += rr.ReturnedPoints
	}
	if reversed != 350 || returned != 3000 {
		t.Fatalf("reversed %d returned %d", reversed, returned)
	}
	if _, _, _, err := Refund(p, st, o, RefundRequest{RefundID: "d", Amount: 1}, t0, Caller{KeyID: "k"}); CodeOf(err) != CodeRefundExceedsOrder {
		t.Fatalf("refund beyond money paid: %v", err)
	}
	if st.Account.Available != 3000 {
		t.Fatalf("balance after full refund %+v", st.Account)
	}
}

// apply plays a draft's commit onto an in-memory state, as the store would.
func apply(t *testing.T, st MemberState, d *Draft) MemberState {
	t.Helper()
	c := d.Commit("t")
	out := MemberState{Account: *c.Account}
	byID := map[string]Lot{}
	for _, l := range st.Lots {
		byID[l.ID] = l
	}
	for _, lw := range c.Lots {
		if lw.Delete {
			delete(byID, lw.Lot.ID)
		} else {
			byID[lw.Lot.ID] = lw.Lot
		}
	}
	for _, l := range byID {
		out.Lots = append(out.Lots, l)
	}
	a, pnd := LotSum(out.Lots)
	if a != out.Account.Available || pnd != out.Account.Pending {
		t.Fatalf("lots %d/%d disagree with account %+v", a, pnd, out.Account)
	}
	return out
}

func TestSweepMemberIsIdempotent(t *testing.T) {
	st := memberWith(lot("old", 500, t0.Add(-time.Second)), lot("new", 700, t0.Add(time.Hour)),
		Lot{ID: "pend", Original: 300, Remaining: 300, Pending: true, AvailableFrom: t0.Add(-time.Minute)})
	d, res := SweepMember(st, t0)
	if res.ExpiredLots != 1 || res.ExpiredPoints != 500 || res.MaturedLots != 1 {
		t.Fatalf("sweep %+v", res)
	}
	st = apply(t, st, d)
	if st.Account.Available != 1000 || st.Account.Pending != 0 {
		t.Fatalf("after sweep %+v", st.Account)
	}
	if d2, res2 := SweepMember(st, t0); d2.Changed() || res2 != (SweepResult{}) {
		t.Fatalf("second sweep did something: %+v", res2)
	}
}

func TestCardNumbers(t *testing.T) {
	for i := 0; i < 100; i++ {
		n := NewCardNumber()
		if len(n) != 16 || !ValidCardNumber(n) {
			t.Fatalf("bad card %s", n)
		}
		if ValidCardNumber(n[:15] + string(rune('0'+(n[15]-'0'+1)%10))) {
			t.Fatalf("check digit does not catch a typo in %s", n)
		}
	}
}
