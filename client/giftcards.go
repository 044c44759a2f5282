package client

import (
	"context"
	"net/url"
	"time"
)

// GiftCardSpend is a gift card paying part of an order (Amount 0 in a
// quote: as much as it would cover).
type GiftCardSpend struct {
	Number string `json:"number"`
	Amount int64  `json:"amount,omitempty"`
}

// GiftCardResult says what a card paid (close) or would pay (quote), or why not.
type GiftCardResult struct {
	Number    string     `json:"number"`
	Applied   bool       `json:"applied"`
	Amount    int64      `json:"amount"`
	Balance   int64      `json:"balance"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

// GiftCardReturn is what a refund gave back to a card.
type GiftCardReturn struct {
	Number   string `json:"number"`
	Returned int64  `json:"returned"`
	Expired  bool   `json:"expired,omitempty"`
	Balance  int64  `json:"balance"`
}

type issueGiftCardRequest struct {
	Amount    int64  `json:"amount"`
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// IssuedGiftCard is a card sold.
type IssuedGiftCard struct {
	GiftCardID string     `json:"giftCardId"`
	Number     string     `json:"number"`
	Balance    int64      `json:"balance"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
}

// GiftCardEntry is one entry of a card's hash-chained ledger.
type GiftCardEntry struct {
	Seq         int64     `json:"seq"`
	Kind        string    `json:"kind"`
	Amount      int64     `json:"amount"`
	Balance     int64     `json:"balance"`
	OrderID     string    `json:"orderId,omitempty"`
	RefundID    string    `json:"refundId,omitempty"`
	KeyID       string    `json:"keyId,omitempty"`
	StaffID     string    `json:"staffId,omitempty"`
	PointOfSale string    `json:"pointOfSaleId,omitempty"`
	At          time.Time `json:"at"`
	PrevHash    string    `json:"prevHash"`
	Hash        string    `json:"hash"`
}

// GiftCardView is a card with its status, sums and latest history.
type GiftCardView struct {
	GiftCardID string          `json:"giftCardId"`
	Number     string          `json:"number"`
	Status     string          `json:"status"`
	Balance    int64           `json:"balance"`
	Issued     int64           `json:"issued"`
	Spent      int64           `json:"spent"`
	Refunded   int64           `json:"refunded"`
	Expired    int64           `json:"expired"`
	ExpiresAt  *time.Time      `json:"expiresAt,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	History    []GiftCardEntry `json:"history"`
}

// IssueGiftCard sells a gift card of amount (expiresIn: an ISO 8601
// duration, "" never expires).
func (c *Client) IssueGiftCard(ctx context.Context, idemKey string, amount int64, expiresIn string) (IssuedGiftCard, Result, error) {
	var out IssuedGiftCard
	r, err := c.do(ctx, "POST", "/v1/gift-cards", idemKey, issueGiftCardRequest{Amount: amount, ExpiresIn: expiresIn}, &out)
	return out, r, err
}

// GetGiftCard reads a card by number.
func (c *Client) GetGiftCard(ctx context.Context, number string) (GiftCardView, error) {
	var out GiftCardView
	_, err := c.do(ctx, "GET", "/v1/gift-cards/"+url.PathEscape(number), "", nil, &out)
	return out, err
}

// ClosePaidWith closes an order paid partly with gift cards (and coupons).
func (c *Client) ClosePaidWith(ctx context.Context, idemKey, orderID string, m Member, total int64, items []Item, cards []GiftCardSpend, coupons ...string) (CloseResult, Result, error) {
	var out CloseResult
	r, err := c.do(ctx, "POST", "/v1/orders/"+url.PathEscape(orderID)+"/close", idemKey,
		closeRequest{Member: m, Total: total, Items: items, Coupons: coupons, GiftCards: cards}, &out)
	return out, r, err
}
