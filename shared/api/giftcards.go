package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
)

// GiftCardInput is a gift card a close (or a quote) pays with.
type GiftCardInput struct {
	Number string `json:"number" minLength:"1" maxLength:"40" doc:"The card's 16 digits (spaces and '-' ignored)"`
	Amount Money  `json:"amount,omitempty" doc:"Minor units to take from the card; in a quote 0 or absent asks how much the card would cover"`
}

func giftCardsOf(in []GiftCardInput) []loyalty.GiftCardSpend {
	out := make([]loyalty.GiftCardSpend, len(in))
	for i, g := range in {
		out[i] = loyalty.GiftCardSpend{Number: g.Number, Amount: loyalty.Money(g.Amount)}
	}
	return out
}

// ---- issue ----

type IssueGiftCardInput struct {
	IdemRequired
	RawBody []byte
	Body    struct {
		Amount    Money  `json:"amount" minimum:"1" maximum:"100000000" doc:"The card's value, money minor units (the till took that money)"`
		ExpiresIn string `json:"expiresIn,omitempty" maxLength:"32" doc:"ISO 8601 duration the card lasts (P1Y); absent: it never expires"`
	}
}

func (s *server) registerIssueGiftCard(r routes.Route) {
	o := op(r, "Sell a gift card", "gift-cards")
	o.DefaultStatus = http.StatusCreated
	o.Description = "Issues a gift card of the given value, sold for money at the till (any staff key may: cashiers sell gift cards). Its number (16 digits, Luhn check digit) is drawn at random. The card pays for orders through `giftCards` in the close; refunds return to it; past its expiry what is left is breakage."
	registerWrite(s, o, func(ctx context.Context, in *IssueGiftCardInput) (loyalty.IssuedGiftCard, bool, error) {
		return s.deps.GiftCards.IssueGiftCard(ctx, callerOf(ctx), idemOf(in.IdempotencyKey, r.OperationID, nil, in.RawBody),
			loyalty.IssueRequest{Amount: loyalty.Money(in.Body.Amount), ExpiresIn: in.Body.ExpiresIn})
	})
}

// ---- read ----

type GiftCardNumberPath struct {
	Number string `path:"number" minLength:"1" maxLength:"40"`
}

// GiftCardView is a card as clients read it.
type GiftCardView struct {
	GiftCardID string                  `json:"giftCardId"`
	Number     string                  `json:"number"`
	Status     string                  `json:"status" enum:"active,expired"`
	Balance    Money                   `json:"balance" minimum:"0"`
	Issued     Money                   `json:"issued" minimum:"0"`
	Spent      Money                   `json:"spent" minimum:"0"`
	Refunded   Money                   `json:"refunded" minimum:"0"`
	Expired    Money                   `json:"expired" minimum:"0" doc:"Value lost at expiry (breakage)"`
	ExpiresAt  *time.Time              `json:"expiresAt,omitempty"`
	CreatedAt  time.Time               `json:"createdAt"`
	History    []loyalty.GiftCardEntry `json:"history" doc:"The latest entries of the card's hash-chained ledger, oldest first"`
}

type GiftCardOutput struct {
	Body GiftCardView
}

func (s *server) registerGetGiftCard(r routes.Route) {
	o := op(r, "Read a gift card: balance, status, expiry, history", "gift-cards")
	huma.Register(s.api, o, func(ctx context.Context, in *GiftCardNumberPath) (*GiftCardOutput, error) {
		v, err := s.deps.GiftCards.GetGiftCard(ctx, callerOf(ctx), in.Number)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		g := v.Card
		out := GiftCardView{GiftCardID: g.ID, Number: g.Number, Status: v.Status, Balance: Money(g.Balance), Issued: Money(g.Issued),
			Spent: Money(g.Spent), Refunded: Money(g.Refunded), Expired: Money(g.Expired), CreatedAt: g.CreatedAt, History: v.History}
		if !g.ExpiresAt.IsZero() {
			t := g.ExpiresAt
			out.ExpiresAt = &t
		}
		if out.History == nil {
			out.History = []loyalty.GiftCardEntry{}
		}
		return &GiftCardOutput{out}, nil
	})
}
