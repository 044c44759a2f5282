package loyalty

import (
	"strconv"
	"time"
)

// This file holds the decisions of each balance-changing operation as pure
// functions of (program, member state, order, request, now). Each returns a
// Draft with the entries to append and the order as it should become; the
// Service commits them.

func requireSpendingProgram(p *Program) error {
	if p == nil || (p.Status != ProgramActive && p.Status != ProgramStopped) {
		return Errorf(CodeNoActiveProgram, "the business has no active loyalty program")
	}
	return nil
}

func checkOrderMember(o *Order, memberID string) error {
	if o != nil && o.MemberID != memberID {
		return Errorf(CodeOrderMemberMismatch, "order %s belongs to another member", o.ID)
	}
	return nil
}

// releaseHold returns an open order's held points to the lots they came from.
func releaseHold(d *Draft, o *Order) Points {
	if o == nil || o.Held == 0 {
		return 0
	}
	lots := map[string]Points{}
	for _, t := range o.HeldLots {
		id, _ := d.give(t, t.Points)
		lots[id] += t.Points
	}
	released := o.Held
	d.record(Entry{Kind: KindRelease, Available: released, Held: -released, OrderID: o.ID, Lots: lots})
	o.Held, o.HeldLots, o.HoldExpiresAt = 0, nil, time.Time{}
	return released
}

// RedeemRequest asks to hold points on an open order. Items, when given,
// apply per-category limits on the share payable with points.
type RedeemRequest struct {
	OrderID string
	Total   Money
	Points  Points
	Items   []Item
}

// RedeemResult is what the cashier gets back.
type RedeemResult struct {
	Held          Points  `json:"held" minimum:"0"`
	MaxRedeemable Points  `json:"maxRedeemable" minimum:"0"`
	Balance       Balance `json:"balance"`
}

// Redeem places a hold of req.Points on the order, replacing any earlier hold
// on it. Points come from available lots, soonest-expiring first.
func Redeem(p *Program, st MemberState, order *Order, req RedeemRequest, now time.Time, by Caller) (*Draft, *Order, RedeemResult, error) {
	if err := requireSpendingProgram(p); err != nil {
		return nil, nil, RedeemResult{}, err
	}
	if p.Type == TypeDiscount {
		return nil, nil, RedeemResult{}, Errorf(CodeNotBonusProgram, "a discount program has no points to redeem")
	}
	if st.Account.Status == MemberBlocked {
		return nil, nil, RedeemResult{}, Errorf(CodeMemberBlocked, "the card is blocked")
	}
	if err := checkOrderMember(order, st.Account.MemberID); err != nil {
		return nil, nil, RedeemResult{}, err
	}
	if order != nil && order.State == OrderClosed {
		return nil, nil, RedeemResult{}, Errorf(CodeOrderClosed, "order %s is closed", order.ID)
	}
	o := Order{ID: req.OrderID, MemberID: st.Account.MemberID, State: OrderOpen, CreatedAt: now}
	if order != nil {
		o = *order
	}
	d := NewDraft(st, now, by)
	tier := memberTier(p, st, now)
	limit := RedeemLimitFor(p, tier, req.Total, req.Items)
	offer := max(0, min(limit, st.Account.Available+o.Held))
	if req.Points > limit {
		return nil, nil, RedeemResult{}, &Error{Code: CodeRedeemLimitExceeded,
			Message: "points exceed the share of the order payable with points",
			Details: Details{MaxRedeemable: ref(offer), MaxRedeemPercent: maxShare(p, tier, "").String()}}
	}
	if o.Held == req.Points && o.Total == req.Total {
		// The same hold again: nothing to change.
		return d, &o, RedeemResult{Held: o.Held, MaxRedeemable: offer, Balance: st.Account.Balance()}, nil
	}
	releaseHold(d, &o)
	available := d.acct.Available
	if req.Points > available {
		return nil, nil, RedeemResult{}, &Error{Code: CodeInsufficientPoints,
			Message: "not enough points", Details: Details{Available: ref(available)}}
	}
	taken, got := d.takeAvailable(req.Points, "")
	lots := map[string]Points{}
	for _, t := range taken {
		lots[t.Lot] -= t.Points
	}
	d.record(Entry{Kind: KindRedeem, Available: -got, Held: got, OrderID: o.ID, Lots: lots})
	o.Total, o.Held, o.HeldLots = req.Total, got, taken
	o.HoldExpiresAt = p.HoldTTL().AddTo(now)
	return d, &o, RedeemResult{Held: got, MaxRedeemable: offer, Balance: d.acct.Balance()}, nil
}

// CloseRequest closes an order: captures its hold and accrues cashback.
type CloseRequest struct {
	OrderID   string
	Total     Money
	MoneyPaid *Money
	Items     []Item
	// Coupons are the codes presented; found are the coupons read.
	Coupons []string
	found   map[string]Coupon
	// GiftCards pay part of what is left after discounts and points;
	// cards are the cards read.
	GiftCards []GiftCardSpend
	cards     map[string]GiftCard
	// promotions are the tenant's, read with the order's context.
	promotions []Promotion
}

// CloseResult is what the cashier gets back.
type CloseResult struct {
	Accrued   Points `json:"accrued" minimum:"0"`
	Redeemed  Points `json:"redeemed" minimum:"0"`
	MoneyPaid Money  `json:"moneyPaid" minimum:"0"`
	Pending   bool   `json:"pending"`
	// Tier the order was priced at, and the tier the member holds after it.
	Tier      string `json:"tier,omitempty"`
	TierAfter string `json:"tierAfter,omitempty"`
	// Discount of a discount program (percent and money), for the receipt.
	DiscountPercent string `json:"discountPercent,omitempty"`
	Discount        Money  `json:"discount,omitempty" minimum:"0"`
	// Coupons say what each coupon did; CouponDiscount is their money off
	// the total (taken off the money paid).
	Coupons        []CouponResult `json:"coupons,omitempty"`
	CouponDiscount Money          `json:"couponDiscount,omitempty" minimum:"0"`
	// Promotions say what each gift promotion did; Items which lines they
	// discounted; PromotionDiscount their money off the total.
	Promotions        []PromotionResult `json:"promotions,omitempty"`
	Items             []LineResult      `json:"items,omitempty"`
	PromotionDiscount Money             `json:"promotionDiscount,omitempty" minimum:"0"`
	// GiftCards say what each gift card paid; GiftCardPaid is their sum
	// (not part of moneyPaid, but cashback accrues on it like on money:
	// the card was bought with money and earned nothing then).
	GiftCards    []GiftCardResult `json:"giftCards,omitempty"`
	GiftCardPaid Money            `json:"giftCardPaid,omitempty" minimum:"0"`
	Balance      Balance          `json:"balance"`
}

// Close captures the order's hold (the points are spent) and accrues cashback
// on the part of the total paid in money.
func Close(p *Program, st MemberState, order *Order, req CloseRequest, now time.Time, by Caller) (*Draft, *Order, CloseResult, error) {
	if err := checkOrderMember(order, st.Account.MemberID); err != nil {
		return nil, nil, CloseResult{}, err
	}
	if order != nil && order.State == OrderClosed {
		return nil, nil, CloseResult{}, Errorf(CodeOrderClosed, "order %s is already closed", order.ID)
	}
	o := Order{ID: req.OrderID, MemberID: st.Account.MemberID, CreatedAt: now}
	if order != nil {
		o = *order
	}
	d := NewDraft(st, now, by)
	value := DefaultPointValue
	if p != nil {
		value = p.Value()
	}
	held := o.Held
	var tier *Tier
	if p != nil {
		tier = memberTier(p, st, now)
	}
	blocked := st.Account.Status == MemberBlocked
	promos := planPromotions(req.promotions, req.Items, stampProgress(st.Account, blocked), now)
	promos.discount = min(promos.discount, req.Total)
	coupons := planCoupons(p, req.Coupons, req.found, st.Account.MemberID, blocked, req.Total-promos.discount, nil, promos.groups, req.Items, now)
	if coupons.err != nil {
		return nil, nil, CloseResult{}, coupons.err
	}
	// Discounts (promotions, then coupons) come off the total before
	// points pay part of it.
	net := req.Total - promos.discount - coupons.discount
	if limit := RedeemLimitFor(p, tier, net, req.Items); held > 0 && p != nil && held > limit {
		return nil, nil, CloseResult{}, &Error{Code: CodeRedeemLimitExceeded,
			Message: "the points held exceed the share payable with points of the closing total; redeem again or cancel first",
			Details: Details{Held: ref(held), MaxRedeemable: ref(limit)}}
	}
	pointsMoney := PointsToMoney(held, value)
	gifts := planGiftCards(req.GiftCards, req.cards, max(0, net-pointsMoney), true, o.ID, by, now)
	if gifts.err != nil {
		return nil, nil, CloseResult{}, gifts.err
	}
	moneyPaid := max(0, net-pointsMoney-gifts.total)
	if req.MoneyPaid != nil {
		if *req.MoneyPaid > moneyPaid {
			return nil, nil, CloseResult{}, Invalid("moneyPaid", "money paid (%d) exceeds the total less points (%d)", *req.MoneyPaid, moneyPaid)
		}
		moneyPaid = *req.MoneyPaid
	}
	if held > 0 {
		d.record(Entry{Kind: KindCapture, Held: -held, OrderID: o.ID})
	}
	o.Redeemed, o.SpentLots = held, o.HeldLots
	o.Held, o.HeldLots, o.HoldExpiresAt = 0, nil, time.Time{}

	var accrued Points
	var pending bool
	if st.Account.Status != MemberBlocked && p != nil {
		accrued = AccrualFor(p, tier, moneyPaid+gifts.total, req.Items, now) + coupons.points
	}
	if accrued > 0 {
		var expires time.Time
		if lt := p.Lifetime(); !lt.IsZero() {
			expires = lt.AddTo(now)
		}
		var until time.Time
		if pp := p.Pending(); !pp.IsZero() {
			until = pp.AddTo(now)
		}
		lot := d.addLot(accrued, until, expires, o.ID)
		pending = lot.Pending
		e := Entry{Kind: KindAccrue, OrderID: o.ID, Lots: map[string]Points{lot.ID: accrued}}
		if pending {
			e.Pending = accrued
		} else {
			e.Available = accrued
		}
		d.record(e)
		o.AccrualLot = lot.ID
	}
	o.State, o.Total, o.MoneyPaid, o.Accrued, o.ClosedAt = OrderClosed, req.Total, moneyPaid, accrued, now
	o.ClosedBy = by.StaffID
	o.Coupons, d.couponUses = coupons.applied, coupons.uses
	o.GiftCards, o.GiftCardPaid, d.giftCards = gifts.applied, gifts.total, gifts.changes
	if !blocked {
		d.recordStamps(req.promotions, promos.stamps, KindAccrue, o.ID, "")
		o.Stamps = promos.stamps
	}
	o.PromotionDiscount = promos.discount
	res := CloseResult{Accrued: accrued, Redeemed: held, MoneyPaid: moneyPaid, Pending: pending, Coupons: coupons.results, CouponDiscount: coupons.discount,
		Promotions: promos.results, Items: promos.lines, PromotionDiscount: promos.discount,
		GiftCards: gifts.results, GiftCardPaid: gifts.total}
	if p != nil {
		planProgramDiscount(p, tier, req.Total, req.Total-promos.discount-coupons.discount, req.Items, promos.lines, now).
			report(&res.DiscountPercent, &res.Discount, &res.Items)
		// The order counts towards tiers (promotion as soon as met) and
		// towards the activity selections of bulk accruals.
		d.recordActivity(p, req.Total, 1, categorySpend(req.Items))
		o.StatsDay = dayIndex(now)
		if tier != nil {
			res.Tier = tier.Name
		}
		res.TierAfter = d.acct.Tier
	}
	res.Balance = d.acct.Balance()
	return d, &o, res, nil
}

// CancelResult reports a released hold.
type CancelResult struct {
	Released Points  `json:"released" minimum:"0"`
	Balance  Balance `json:"balance"`
}

// Cancel releases the hold of an open order. The order stays open and can
// still be closed (paid fully in money).
func Cancel(st MemberState, order *Order, now time.Time, by Caller) (*Draft, *Order, CancelResult, error) {
	if order.State == OrderClosed {
		return nil, nil, CancelResult{}, Errorf(CodeOrderClosed, "order %s is closed; refund it instead", order.ID)
	}
	d := NewDraft(st, now, by)
	o := *order
	released := releaseHold(d, &o)
	return d, &o, CancelResult{Released: released, Balance: d.acct.Balance()}, nil
}

// ReleaseStaleHold is the sweep's cancel: it releases a hold whose timeout
// has passed and does nothing otherwise.
func ReleaseStaleHold(st MemberState, order *Order, now time.Time) (*Draft, *Order) {
	d := NewDraft(st, now, Caller{KeyID: "sweep"})
	o := *order
	if o.State == OrderOpen && o.Held > 0 && !o.HoldExpiresAt.After(now) {
		releaseHold(d, &o)
	}
	return d, &o
}

// RefundRequest refunds part or all of a closed order's money.
type RefundRequest struct {
	RefundID string
	Amount   Money
	// promotions are the tenant's (their cycles turn stamps back).
	promotions []Promotion
	// cards are the gift cards the order was paid with, as read.
	cards map[string]GiftCard
}

// RefundResult reports what a refund did to points.
type RefundResult struct {
	RefundID        string `json:"refundId"`
	ReversedAccrual Points `json:"reversedAccrual" minimum:"0"`
	ReturnedPoints  Points `json:"returnedPoints" minimum:"0"`
	Shortfall       Points `json:"shortfall" minimum:"0"`
	RefundedTotal   Money  `json:"refundedTotal" minimum:"0"`
	// GiftCards say what went back to the gift cards the order was paid
	// with (their share of the refund); the rest is refunded in money.
	GiftCards []GiftCardReturn `json:"giftCards,omitempty"`
	Balance   Balance          `json:"balance"`
}

// Refund applies a (partial) refund. Cashback accrued on the order is
// reversed and points spent on it are returned, each in proportion to the
// money refunded so far (cumulative, so the last refund settles any rounding).
// Reversal takes from the order's own accrual lot first, then from available
// lots; what the member has already spent is reported as shortfall, never
// taken below zero. Returned points go back to the lots they were spent from,
// keeping their original expiry.
func Refund(p *Program, st MemberState, order *Order, req RefundRequest, now time.Time, by Caller) (*Draft, *Order, RefundResult, error) {
	if order.State != OrderClosed {
		return nil, nil, RefundResult{}, Errorf(CodeOrderNotClosed, "order %s is not closed; cancel it instead", order.ID)
	}
	for _, r := range order.Refunds {
		if r.ID == req.RefundID {
			if r.Amount != req.Amount {
				return nil, nil, RefundResult{}, Errorf(CodeRefundIDReused, "refund %s was applied with another amount", r.ID)
			}
			// Applied before: answer as then, change nothing.
			return NewDraft(st, now, by), order, RefundResult{RefundID: r.ID, ReversedAccrual: r.ReversedAccrual,
				ReturnedPoints: r.ReturnedPoints, Shortfall: r.Shortfall, RefundedTotal: order.Refunded, Balance: st.Account.Balance()}, nil
		}
	}
	bound := order.MoneyPaid + order.GiftCardPaid
	if bound == 0 {
		bound = order.Total // paid entirely with points: refunds are measured against the goods' value
	}
	before, after := order.Refunded, order.Refunded+req.Amount
	if after > bound {
		return nil, nil, RefundResult{}, &Error{Code: CodeRefundExceedsOrder,
			Message: "refunds would exceed what was paid for the order", Details: Details{Refundable: ref(bound - before)}}
	}
	returnSpent := p == nil || p.ReturnSpentOnRefund
	reverseDue := proportion(order.Accrued, after, bound) - proportion(order.Accrued, before, bound)
	var returnDue Points
	if returnSpent {
		returnDue = proportion(order.Redeemed, after, bound) - proportion(order.Redeemed, before, bound)
	}

	d := NewDraft(st, now, by)
	o := *order
	o.SpentLots = append([]LotTake(nil), order.SpentLots...)
	o.Coupons = append([]OrderCoupon(nil), order.Coupons...)
	o.GiftCards = append([]OrderGiftCard(nil), order.GiftCards...)
	giftReturns, giftChanges, err := refundGiftCards(&o, req.cards, before, after, bound, req.RefundID, by, now)
	if err != nil {
		return nil, nil, RefundResult{}, err
	}
	d.giftCards = giftChanges
	if after == bound {
		// The whole order is refunded: its single-use coupons are given
		// back, in this transaction (multi-use ones stay counted).
		d.couponUses = returnCoupons(&o)
	}
	e := Entry{Kind: KindRefund, OrderID: o.ID, RefundID: req.RefundID, Lots: map[string]Points{}}

	// Return spent points where they live longest: latest expiry first.
	var returned Points
	for _, i := range byLatestExpiry(o.SpentLots) {
		n := min(o.SpentLots[i].Points, returnDue-returned)
		if n <= 0 {
			continue
		}
		id, pending := d.give(o.SpentLots[i], n)
		o.SpentLots[i].Points -= n
		e.Lots[id] += n
		if pending {
			e.Pending += n
		} else {
			e.Available += n
		}
		returned += n
	}

	// Reverse cashback: the order's own lot first (pending or not), then others.
	var reversed Points
	if lot, ok := d.lots[o.AccrualLot]; ok && reverseDue > 0 && lot.Remaining > 0 {
		n := d.takeFrom(lot, reverseDue)
		e.Lots[lot.ID] -= n
		if lot.Pending {
			e.Pending -= n
		} else {
			e.Available -= n
		}
		reversed += n
	}
	if reversed < reverseDue {
		taken, got := d.takeAvailable(reverseDue-reversed, o.AccrualLot)
		for _, t := range taken {
			e.Lots[t.Lot] -= t.Points
		}
		e.Available -= got
		reversed += got
	}
	shortfall := reverseDue - reversed
	if returned > 0 || reversed > 0 {
		if shortfall > 0 {
			e.Note = "shortfall " + strconv.FormatInt(int64(shortfall), 10)
		}
		d.record(e)
	}
	// Stamps the order counted are reversed in proportion to the money
	// refunded, like its cashback (cumulative: the last refund settles).
	var stamps map[string]int
	for id, n := range o.Stamps {
		due := int(proportion(Points(n), after, bound) - proportion(Points(n), before, bound))
		if due > 0 {
			if stamps == nil {
				stamps = map[string]int{}
			}
			stamps[id] = -due
		}
	}
	d.recordStamps(req.promotions, stamps, KindRefund, o.ID, req.RefundID)
	if o.StatsDay != 0 && p != nil {
		// A refund takes its amount off the spend that qualifies for tiers.
		d.unspend(p, o.StatsDay, req.Amount)
	}
	r := AppliedRefund{ID: req.RefundID, Amount: req.Amount, ReversedAccrual: reversed, ReturnedPoints: returned, Shortfall: shortfall, At: now,
		StaffID: by.StaffID, PointOfSale: by.PointOfSale}
	o.Refunds = append(o.Refunds, r)
	o.Refunded, o.Reversed, o.Returned = after, o.Reversed+reversed, o.Returned+returned
	return d, &o, RefundResult{RefundID: r.ID, ReversedAccrual: reversed, ReturnedPoints: returned, Shortfall: shortfall,
		RefundedTotal: after, GiftCards: giftReturns, Balance: d.acct.Balance()}, nil
}

// SweepResult counts what one sweep did.
type SweepResult struct {
	ExpiredLots   int    `json:"expiredLots" minimum:"0"`
	ExpiredPoints Points `json:"expiredPoints" minimum:"0"`
	ReleasedHolds int    `json:"releasedHolds" minimum:"0"`
	MaturedLots   int    `json:"maturedLots" minimum:"0"`
	// BirthdayBonuses credited by this run.
	BirthdayBonuses int `json:"birthdayBonuses" minimum:"0"`
	// Gift cards expired with value left, and that value (breakage).
	ExpiredGiftCards int   `json:"expiredGiftCards,omitempty" minimum:"0"`
	GiftCardBreakage Money `json:"giftCardBreakage,omitempty" minimum:"0"`
}

// Add sums two results.
func (r *SweepResult) Add(o SweepResult) {
	r.ExpiredLots += o.ExpiredLots
	r.ExpiredPoints += o.ExpiredPoints
	r.ReleasedHolds += o.ReleasedHolds
	r.MaturedLots += o.MaturedLots
	r.BirthdayBonuses += o.BirthdayBonuses
	r.ExpiredGiftCards += o.ExpiredGiftCards
	r.GiftCardBreakage += o.GiftCardBreakage
}

// SweepMember matures the member's pending lots that are due and expires the
// lots whose time has come. Run twice, it does nothing the second time.
func SweepMember(st MemberState, now time.Time) (*Draft, SweepResult) {
	d := NewDraft(st, now, Caller{KeyID: "sweep"})
	var res SweepResult
	mature := Entry{Kind: KindMature, Lots: map[string]Points{}}
	expire := Entry{Kind: KindExpire, Lots: map[string]Points{}}
	for _, l := range d.spendOrder(func(*Lot) bool { return true }) {
		switch {
		case l.Expires() && !l.ExpiresAt.After(now):
			n := l.Remaining
			d.takeFrom(l, n)
			expire.Lots[l.ID] = -n
			if l.Pending {
				expire.Pending -= n
			} else {
				expire.Available -= n
			}
			res.ExpiredLots++
			res.ExpiredPoints += n
		case l.Pending && !l.AvailableFrom.After(now):
			d.touch(l.ID).Pending = false
			mature.Lots[l.ID] = l.Remaining
			mature.Pending -= l.Remaining
			mature.Available += l.Remaining
			res.MaturedLots++
		}
	}
	if len(mature.Lots) > 0 {
		d.record(mature)
	}
	if len(expire.Lots) > 0 {
		d.record(expire)
	}
	return d, res
}
