package api

import (
	"context"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// registrations maps operation ids to the functions registering them.
// Inputs common to balance writes.
type OrderPath struct {
	OrderID string `path:"orderId" pattern:"^[A-Za-z0-9._:-]{1,128}$" doc:"The shop's order id"`
}

type IdemRequired struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"true" minLength:"1" maxLength:"255" doc:"Client key making a retry safe: the same key and body return the first response"`
}

type IdemOptional struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Optional client key making a retry safe"`
}

type ReplayedHeader struct {
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored response of an earlier request with the same Idempotency-Key"`
}

// ---- redeem ----

type RedeemInput struct {
	OrderPath
	IdemRequired
	RawBody []byte
	Body    struct {
		Member MemberRef   `json:"member"`
		Total  Money       `json:"total" minimum:"1" doc:"Order total, money minor units"`
		Points Points      `json:"points" minimum:"1" doc:"Points to hold (hundredths)"`
		Items  []ItemInput `json:"items,omitempty" maxItems:"500" doc:"Order lines; per-category limits on points apply when given"`
	}
}

func (s *server) registerRedeem(r routes.Route) {
	o := op(r, "Hold points on an open order", "orders")
	o.Description = "Places a hold of points on the order (replacing an earlier hold on it), within the program's maximum share of the total. Close captures the hold; cancel or the hold timeout releases it."
	registerWrite(s, o, func(ctx context.Context, in *RedeemInput) (res loyalty.RedeemResult, replayed bool, err error) {
		ref, err := in.Body.Member.domain(s.deps.Phones)
		if err != nil {
			return res, false, err
		}
		idem := idemOf(in.IdempotencyKey, r.OperationID, []string{in.OrderID}, in.RawBody)
		return s.deps.Orders.RedeemPoints(ctx, callerOf(ctx), idem, ref,
			loyalty.RedeemRequest{OrderID: in.OrderID, Total: loyalty.Money(in.Body.Total), Points: loyalty.Points(in.Body.Points), Items: itemsOf(in.Body.Items)})
	})
}

// ---- close ----

type ItemInput struct {
	SKU        string `json:"sku" minLength:"1" maxLength:"128"`
	Category   string `json:"category,omitempty" maxLength:"64"`
	Amount     Money  `json:"amount" doc:"Line amount, money minor units"`
	Discounted bool   `json:"discounted,omitempty" doc:"The line was sold at a discount"`
	Quantity   int    `json:"quantity,omitempty" minimum:"0" maximum:"1000" doc:"Units on the line (default 1); amount is the line's total"`
}

func itemsOf(in []ItemInput) []loyalty.Item {
	out := make([]loyalty.Item, len(in))
	for i, it := range in {
		out[i] = loyalty.Item{SKU: it.SKU, Category: it.Category, Amount: loyalty.Money(it.Amount), Discounted: it.Discounted, Quantity: it.Quantity}
	}
	return out
}

type CloseInput struct {
	OrderPath
	IdemRequired
	RawBody []byte
	Body    struct {
		Member    MemberRef       `json:"member"`
		Total     Money           `json:"total" doc:"Order total, money minor units"`
		MoneyPaid *Money          `json:"moneyPaid,omitempty" doc:"Money paid, when it differs from the total less coupon discounts and points (e.g. after discounts of the till's own)"`
		Items     []ItemInput     `json:"items,omitempty" maxItems:"500"`
		Coupons   []string        `json:"coupons,omitempty" maxItems:"10" doc:"Coupon codes presented; all must apply or the close is refused and nothing is used"`
		GiftCards []GiftCardInput `json:"giftCards,omitempty" maxItems:"5" doc:"Gift cards paying part of what is left after discounts and points, spent in the close's transaction; all must apply or nothing is spent"`
	}
}

func (s *server) registerClose(r routes.Route) {
	o := op(r, "Close an order: capture the hold and accrue cashback", "orders")
	o.Description = "Captures the order's hold (the points are spent) and accrues cashback on the part paid in money. An order closes once."
	registerWrite(s, o, func(ctx context.Context, in *CloseInput) (res loyalty.CloseResult, replayed bool, err error) {
		ref, err := in.Body.Member.domain(s.deps.Phones)
		if err != nil {
			return res, false, err
		}
		req := loyalty.CloseRequest{OrderID: in.OrderID, Total: loyalty.Money(in.Body.Total), Items: itemsOf(in.Body.Items), Coupons: in.Body.Coupons, GiftCards: giftCardsOf(in.Body.GiftCards)}
		if in.Body.MoneyPaid != nil {
			m := loyalty.Money(*in.Body.MoneyPaid)
			req.MoneyPaid = &m
		}
		idem := idemOf(in.IdempotencyKey, r.OperationID, []string{in.OrderID}, in.RawBody)
		return s.deps.Orders.CloseOrder(ctx, callerOf(ctx), idem, ref, req)
	})
}

// ---- refund ----

type RefundInput struct {
	OrderPath
	IdemRequired
	RawBody []byte
	Body    struct {
		RefundID string `json:"refundId" minLength:"1" maxLength:"128" doc:"The shop's refund id; applying it again changes nothing"`
		Amount   Money  `json:"amount" doc:"Money refunded, minor units"`
	}
}

func (s *server) registerRefund(r routes.Route) {
	o := op(r, "Refund a closed order, fully or partly", "orders")
	o.Description = "Reverses the cashback accrued and returns the points spent, in proportion to the money refunded. Refunds in total may not exceed the money paid."
	registerWrite(s, o, func(ctx context.Context, in *RefundInput) (res loyalty.RefundResult, replayed bool, err error) {
		idem := idemOf(in.IdempotencyKey, r.OperationID, []string{in.OrderID}, in.RawBody)
		return s.deps.Orders.RefundOrder(ctx, callerOf(ctx), idem, in.OrderID,
			loyalty.RefundRequest{RefundID: in.Body.RefundID, Amount: loyalty.Money(in.Body.Amount)})
	})
}

// ---- cancel ----

type CancelInput struct {
	OrderPath
	IdemRequired
}

func (s *server) registerCancel(r routes.Route) {
	o := op(r, "Release the hold of an open order", "orders")
	registerWrite(s, o, func(ctx context.Context, in *CancelInput) (res loyalty.CancelResult, replayed bool, err error) {
		idem := idemOf(in.IdempotencyKey, r.OperationID, []string{in.OrderID}, nil)
		return s.deps.Orders.CancelOrder(ctx, callerOf(ctx), idem, in.OrderID)
	})
}

// ---- quote ----

type QuoteInput struct {
	OrderPath
	Body struct {
		Member    MemberRef       `json:"member"`
		Total     Money           `json:"total" doc:"Order total, money minor units"`
		Items     []ItemInput     `json:"items,omitempty" maxItems:"500"`
		Coupons   []string        `json:"coupons,omitempty" maxItems:"10" doc:"Coupon codes: the answer says what each would do, or why not; nothing is used"`
		GiftCards []GiftCardInput `json:"giftCards,omitempty" maxItems:"5" doc:"Gift cards: the answer says what each would cover, or why not; nothing is spent"`
	}
}

type QuoteOutput struct {
	Body loyalty.QuoteResult
}

func (s *server) registerQuote(r routes.Route) {
	o := op(r, "What the order may use and earn (reads only)", "orders")
	huma.Register(s.api, o, func(ctx context.Context, in *QuoteInput) (*QuoteOutput, error) {
		ref, err := in.Body.Member.domain(s.deps.Phones)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		res, err := s.deps.Orders.Quote(ctx, callerOf(ctx), ref,
			loyalty.QuoteRequest{OrderID: in.OrderID, Total: loyalty.Money(in.Body.Total), Items: itemsOf(in.Body.Items), Coupons: in.Body.Coupons, GiftCards: giftCardsOf(in.Body.GiftCards)})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &QuoteOutput{res}, nil
	})
}

// ---- get order ----

type GetOrderInput struct {
	OrderPath
}

type GetOrderOutput struct {
	Body loyalty.Order
}

func (s *server) registerGetOrder(r routes.Route) {
	o := op(r, "Read an order's points state", "orders")
	huma.Register(s.api, o, func(ctx context.Context, in *GetOrderInput) (*GetOrderOutput, error) {
		ord, err := s.deps.Orders.GetOrder(ctx, callerOf(ctx), in.OrderID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &GetOrderOutput{*ord}, nil
	})
}
