package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// CouponBody is a coupon as clients create it (the code aside).
type CouponBody struct {
	Usage           string     `json:"usage" enum:"single,multi" doc:"single: one use in all; multi: up to limit uses (none: no limit)"`
	Limit           int64      `json:"limit,omitempty" minimum:"0" maximum:"1000000000" doc:"Uses in all (multi-use coupons); 0 or absent: no limit"`
	PerMemberLimit  int64      `json:"perMemberLimit,omitempty" minimum:"0" maximum:"1000000" doc:"Uses per member; 0 or absent: no limit"`
	DiscountPercent *Percent   `json:"discountPercent,omitempty" doc:"Percent off what is left of the total (exactly one of discountPercent, discountAmount, points)"`
	DiscountAmount  *Money     `json:"discountAmount,omitempty" doc:"Money off the total, minor units"`
	Points          *Points    `json:"points,omitempty" doc:"Bonus points (hundredths) credited with the order's cashback"`
	FreeSku         string     `json:"freeSku,omitempty" maxLength:"128" doc:"One unit of this product free (its cheapest line's unit price off); an order without it does not take the coupon (reason coupon_not_applicable)"`
	ValidFrom       *time.Time `json:"validFrom,omitempty"`
	ValidUntil      *time.Time `json:"validUntil,omitempty" doc:"Exclusive"`
	Group           string     `json:"group,omitempty" maxLength:"64" doc:"Combination group: coupons of one group do not combine on an order"`
}

func (b CouponBody) domain() loyalty.Coupon {
	c := loyalty.Coupon{Usage: b.Usage, Limit: b.Limit, PerMemberLimit: b.PerMemberLimit, Group: b.Group, FreeSKU: b.FreeSku}
	if b.DiscountPercent != nil {
		c.DiscountPercent = b.DiscountPercent.BP
	}
	if b.DiscountAmount != nil {
		c.DiscountAmount = loyalty.Money(*b.DiscountAmount)
	}
	if b.Points != nil {
		c.Points = loyalty.Points(*b.Points)
	}
	if b.ValidFrom != nil {
		c.ValidFrom = b.ValidFrom.UTC()
	}
	if b.ValidUntil != nil {
		c.ValidUntil = b.ValidUntil.UTC()
	}
	return c
}

// CouponView is a coupon as clients read it.
type CouponView struct {
	CouponID string `json:"couponId"`
	Code     string `json:"code"`
	CouponBody
	BatchID   string    `json:"batchId,omitempty"`
	Uses      int64     `json:"uses" minimum:"0" doc:"Orders closed with the coupon (less single-use coupons given back by a full refund)"`
	CreatedAt time.Time `json:"createdAt"`
}

func couponView(c loyalty.Coupon) CouponView {
	v := CouponView{CouponID: c.ID, Code: c.Code, BatchID: c.BatchID, Uses: c.Uses, CreatedAt: c.CreatedAt,
		CouponBody: CouponBody{Usage: c.Usage, Limit: c.Limit, PerMemberLimit: c.PerMemberLimit, Group: c.Group, FreeSku: c.FreeSKU}}
	if c.DiscountPercent > 0 {
		v.DiscountPercent = &Percent{c.DiscountPercent}
	}
	if c.DiscountAmount > 0 {
		m := Money(c.DiscountAmount)
		v.DiscountAmount = &m
	}
	if c.Points > 0 {
		p := Points(c.Points)
		v.Points = &p
	}
	if !c.ValidFrom.IsZero() {
		t := c.ValidFrom
		v.ValidFrom = &t
	}
	if !c.ValidUntil.IsZero() {
		t := c.ValidUntil
		v.ValidUntil = &t
	}
	return v
}

// ---- create ----

type CreateCouponInput struct {
	IdemOptional
	RawBody []byte
	Body    struct {
		Code string `json:"code,omitempty" maxLength:"32" doc:"4-32 letters, digits or '-', matched case-insensitively; absent: one is drawn"`
		CouponBody
	}
}

func (s *server) registerCreateCoupon(r routes.Route) {
	o := op(r, "Create a coupon", "coupons")
	o.DefaultStatus = http.StatusCreated
	o.Description = "A coupon gives a percent or a fixed discount, or bonus points, when an order closes with it (`coupons` in the close); quote shows what it would do without using it."
	registerWrite(s, o, func(ctx context.Context, in *CreateCouponInput) (res CouponView, replayed bool, err error) {
		cp := in.Body.domain()
		cp.Code = in.Body.Code
		out, replayed, err := s.deps.Coupons.CreateCoupon(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody), cp)
		if err != nil {
			return res, false, err
		}
		return couponView(out.Coupon), replayed, nil
	})
}

// ---- batch ----

type CreateCouponBatchInput struct {
	IdemOptional
	RawBody []byte
	Body    struct {
		Count    int    `json:"count" minimum:"1" maximum:"1000"`
		Pattern  string `json:"pattern,omitempty" maxLength:"32" doc:"'#' a digit, '?' a letter, '*' a character of the alphabet, anything else itself: SUMMER-####"`
		Alphabet string `json:"alphabet,omitempty" maxLength:"36" doc:"Characters codes are drawn from (default without look-alikes 0/O, 1/I/L)"`
		Length   int    `json:"length,omitempty" minimum:"0" maximum:"32" doc:"Code length without a pattern (default 10)"`
		CouponBody
	}
}

func (s *server) registerCreateCouponBatch(r routes.Route) {
	o := op(r, "Generate a batch of coupons", "coupons")
	o.DefaultStatus = http.StatusCreated
	o.Description = "Generates count coupons alike but for their codes, drawn from a pattern or from an alphabet and a length; the pattern must allow at least 1000 times as many codes as asked for."
	registerWrite(s, o, func(ctx context.Context, in *CreateCouponBatchInput) (res loyalty.BatchResult, replayed bool, err error) {
		b := in.Body
		return s.deps.Coupons.CreateCouponBatch(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody),
			loyalty.BatchRequest{Count: b.Count, Pattern: b.Pattern, Alphabet: b.Alphabet, Length: b.Length, Template: b.CouponBody.domain()})
	})
}

// ---- import ----

type ImportCouponsInput struct {
	IdemOptional
	RawBody []byte
	Body    struct {
		Codes []string `json:"codes" minItems:"1" maxItems:"1000" doc:"The codes, one coupon each (a CSV file goes through the CLI: loyalty coupons import)"`
		CouponBody
	}
}

func (s *server) registerImportCoupons(r routes.Route) {
	o := op(r, "Import coupons: codes the shop brings, sharing one definition", "coupons")
	o.Description = "Creates one coupon per code, alike but for their codes (printed vouchers, a partner's list). Good rows are written; bad codes, codes listed twice and codes of existing coupons are reported by row (`failed`) and change nothing else. With an Idempotency-Key a retry answers with the first report."
	registerWrite(s, o, func(ctx context.Context, in *ImportCouponsInput) (loyalty.CouponImportReport, bool, error) {
		return s.deps.Coupons.ImportCoupons(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody), in.Body.Codes, in.Body.CouponBody.domain())
	})
}

// ---- read ----

type CouponCodePath struct {
	Code string `path:"code" minLength:"1" maxLength:"32"`
}

type CouponOutput struct {
	Body CouponView
}

func (s *server) registerGetCoupon(r routes.Route) {
	huma.Register(s.api, op(r, "Read a coupon by code", "coupons"), func(ctx context.Context, in *CouponCodePath) (*CouponOutput, error) {
		c, err := s.deps.Coupons.GetCoupon(ctx, callerOf(ctx), in.Code)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &CouponOutput{couponView(*c)}, nil
	})
}

type ListCouponsInput struct {
	After string `query:"after" maxLength:"32" doc:"The last code of the previous page"`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

type ListCouponsOutput struct {
	Body struct {
		Coupons []CouponView `json:"coupons"`
		Next    string       `json:"next,omitempty" doc:"Pass as after for the next page; absent on the last page"`
	}
}

func (s *server) registerListCoupons(r routes.Route) {
	huma.Register(s.api, op(r, "List coupons in code order", "coupons"), func(ctx context.Context, in *ListCouponsInput) (*ListCouponsOutput, error) {
		limit := in.Limit
		if limit == 0 {
			limit = 100
		}
		cs, err := s.deps.Coupons.ListCoupons(ctx, callerOf(ctx), in.After, limit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListCouponsOutput{}
		out.Body.Coupons = []CouponView{}
		for _, c := range cs {
			out.Body.Coupons = append(out.Body.Coupons, couponView(c))
		}
		if len(cs) == limit {
			out.Body.Next = cs[len(cs)-1].Code
		}
		return out, nil
	})
}
