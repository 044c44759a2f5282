package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// PromotionBody is a gift promotion as clients create it.
type PromotionBody struct {
	Name            string     `json:"name" minLength:"1" maxLength:"200"`
	Kind            string     `json:"kind" enum:"buyNgetM"`
	N               int        `json:"n" minimum:"1" maximum:"100" doc:"Units bought"`
	M               int        `json:"m" minimum:"1" maximum:"100" doc:"Units given (the cheapest of every n+m)"`
	SKUs            []string   `json:"skus,omitempty" maxItems:"200"`
	Categories      []string   `json:"categories,omitempty" maxItems:"200"`
	Scope           string     `json:"scope" enum:"receipt,acrossReceipts,both" doc:"receipt: within one order; acrossReceipts: a stamp card, the gift on a later order; both: a stamp card whose gift may fall in the same order"`
	DiscountPercent *Percent   `json:"discountPercent,omitempty" doc:"Discount on the given units (default 100: free)"`
	Group           string     `json:"group,omitempty" maxLength:"64" doc:"Combination group shared with coupons: one per group applies on an order"`
	ValidFrom       *time.Time `json:"validFrom,omitempty"`
	ValidUntil      *time.Time `json:"validUntil,omitempty"`
}

// PromotionView is a promotion as clients read it.
type PromotionView struct {
	PromotionID string `json:"promotionId"`
	PromotionBody
	CreatedAt time.Time `json:"createdAt"`
}

func promotionView(p loyalty.Promotion) PromotionView {
	v := PromotionView{PromotionID: p.ID, CreatedAt: p.CreatedAt, PromotionBody: PromotionBody{Name: p.Name, Kind: p.Kind, N: p.N, M: p.M,
		SKUs: p.SKUs, Categories: p.Categories, Scope: p.Scope, DiscountPercent: &Percent{p.DiscountPercent}, Group: p.Group}}
	if !p.ValidFrom.IsZero() {
		t := p.ValidFrom
		v.ValidFrom = &t
	}
	if !p.ValidUntil.IsZero() {
		t := p.ValidUntil
		v.ValidUntil = &t
	}
	return v
}

type CreatePromotionInput struct {
	Body PromotionBody
}

type PromotionOutput struct {
	Body PromotionView
}

func (s *server) registerCreatePromotion(r routes.Route) {
	o := op(r, "Create a buy-n-get-m gift promotion", "promotions")
	o.DefaultStatus = http.StatusCreated
	o.Description = "Of every n+m eligible units (lines of the SKUs or categories named, quantity counted) the m cheapest are discounted. A stamp card (acrossReceipts, both) keeps the member's progress on the account, moved by the close and reversed by refunds in their own transactions."
	huma.Register(s.api, o, func(ctx context.Context, in *CreatePromotionInput) (*PromotionOutput, error) {
		b := in.Body
		p := loyalty.Promotion{Name: b.Name, Kind: b.Kind, N: b.N, M: b.M, SKUs: b.SKUs, Categories: b.Categories, Scope: b.Scope, Group: b.Group}
		if b.DiscountPercent != nil {
			p.DiscountPercent = b.DiscountPercent.BP
			if p.DiscountPercent == 0 {
				return nil, s.problem(ctx, loyalty.Invalid("discountPercent", "percent must be above 0, at most 100"))
			}
		}
		if b.ValidFrom != nil {
			p.ValidFrom = b.ValidFrom.UTC()
		}
		if b.ValidUntil != nil {
			p.ValidUntil = b.ValidUntil.UTC()
		}
		out, err := s.deps.Promotions.CreatePromotion(ctx, callerOf(ctx), p)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &PromotionOutput{promotionView(out)}, nil
	})
}

type ListPromotionsOutput struct {
	Body struct {
		Promotions []PromotionView `json:"promotions"`
	}
}

func (s *server) registerListPromotions(r routes.Route) {
	huma.Register(s.api, op(r, "List the gift promotions", "promotions"), func(ctx context.Context, _ *struct{}) (*ListPromotionsOutput, error) {
		ps, err := s.deps.Promotions.ListPromotions(ctx, callerOf(ctx))
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &ListPromotionsOutput{}
		out.Body.Promotions = []PromotionView{}
		for _, p := range ps {
			out.Body.Promotions = append(out.Body.Promotions, promotionView(p))
		}
		return out, nil
	})
}
