// Package client is a typed Go client of the loyalty API for shop backends
// and POS systems. It depends on the standard library only: its request and
// response types (types.go) are its own, checked against the contract
// api/openapi.json by its tests rather than shared with the server, so a
// shop's build does not pull in huma, the AWS SDK or the service's packages.
// Every balance-changing call takes an Idempotency-Key: retrying a call with
// the same key is always safe.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client calls one tenant's API with one key.
type Client struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
}

// New returns a client for baseURL (e.g. http://127.0.0.1:8080) and key.
func New(baseURL, apiKey string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), APIKey: apiKey, HTTP: http.DefaultClient}
}

// Result tells whether a write was answered from its idempotency record.
type Result struct {
	Replayed bool
}

func (c *Client) do(ctx context.Context, method, path, idemKey string, in, out any) (Result, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Result{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Result{}, err
	}
	if resp.StatusCode >= 400 {
		p := &Problem{Status: resp.StatusCode}
		if json.Unmarshal(b, p) != nil || p.Code == "" {
			p.Code, p.Detail = "http_"+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(b))
		}
		p.RetryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After")) // seconds, on 429
		return Result{}, p
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return Result{}, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return Result{Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}

// Enroll starts enrolling a customer: a code goes to their phone.
func (c *Client) Enroll(ctx context.Context, body EnrollRequest) (EnrollResult, error) {
	var out EnrollResult
	_, err := c.do(ctx, "POST", "/v1/enrollments", "", body, &out)
	return out, err
}

// Verify checks the code and creates the member.
func (c *Client) Verify(ctx context.Context, challengeID, code string) (VerifyResult, error) {
	var out VerifyResult
	_, err := c.do(ctx, "POST", "/v1/enrollments/"+url.PathEscape(challengeID)+"/verify", "", verifyRequest{Code: code}, &out)
	return out, err
}

// Quote says what an order may use and earn, and what each coupon would
// do (or why not); it changes nothing.
func (c *Client) Quote(ctx context.Context, orderID string, m Member, total int64, items []Item, coupons ...string) (QuoteResult, error) {
	var out QuoteResult
	_, err := c.do(ctx, "POST", "/v1/orders/"+url.PathEscape(orderID)+"/quote", "", quoteRequest{Member: m, Total: total, Items: items, Coupons: coupons}, &out)
	return out, err
}

// Redeem holds points on an open order.
func (c *Client) Redeem(ctx context.Context, idemKey, orderID string, m Member, total, points int64) (RedeemResult, Result, error) {
	var out RedeemResult
	r, err := c.do(ctx, "POST", "/v1/orders/"+url.PathEscape(orderID)+"/redeem", idemKey, redeemRequest{Member: m, Total: total, Points: points}, &out)
	return out, r, err
}

// Close captures the hold and accrues cashback on the money part; the
// coupons given are used with it (all apply, or the close is refused).
func (c *Client) Close(ctx context.Context, idemKey, orderID string, m Member, total int64, items []Item, coupons ...string) (CloseResult, Result, error) {
	var out CloseResult
	r, err := c.do(ctx, "POST", "/v1/orders/"+url.PathEscape(orderID)+"/close", idemKey, closeRequest{Member: m, Total: total, Items: items, Coupons: coupons}, &out)
	return out, r, err
}

// Cancel releases the hold of an open order.
func (c *Client) Cancel(ctx context.Context, idemKey, orderID string) (CancelResult, Result, error) {
	var out CancelResult
	r, err := c.do(ctx, "POST", "/v1/orders/"+url.PathEscape(orderID)+"/cancel", idemKey, nil, &out)
	return out, r, err
}

// Refund refunds money of a closed order.
func (c *Client) Refund(ctx context.Context, idemKey, orderID, refundID string, amount int64) (RefundResult, Result, error) {
	var out RefundResult
	r, err := c.do(ctx, "POST", "/v1/orders/"+url.PathEscape(orderID)+"/refunds", idemKey, refundRequest{RefundID: refundID, Amount: amount}, &out)
	return out, r, err
}

// Adjust credits (points > 0) or debits (points < 0) a member by hand, with
// the reason kept in the ledger and the audit trail. Needs an admin key.
func (c *Client) Adjust(ctx context.Context, idemKey, memberID string, points int64, reason string) (AdjustResult, Result, error) {
	var out AdjustResult
	r, err := c.do(ctx, "POST", "/v1/members/"+url.PathEscape(memberID)+"/adjustments", idemKey, adjustRequest{Points: points, Reason: reason}, &out)
	return out, r, err
}

// GetMember reads a member and balance.
func (c *Client) GetMember(ctx context.Context, memberID string) (MemberView, error) {
	var out MemberView
	_, err := c.do(ctx, "GET", "/v1/members/"+url.PathEscape(memberID), "", nil, &out)
	return out, err
}

// FindMember finds a member by phone or card.
func (c *Client) FindMember(ctx context.Context, phone, card string) (MemberView, error) {
	q := url.Values{}
	if phone != "" {
		q.Set("phone", phone)
	}
	if card != "" {
		q.Set("card", card)
	}
	var out MemberView
	_, err := c.do(ctx, "GET", "/v1/members?"+q.Encode(), "", nil, &out)
	return out, err
}

// LedgerPage reads one page of at most limit entries, starting after cursor
// ("" for the newest).
func (c *Client) LedgerPage(ctx context.Context, memberID string, limit int, cursor string) (LedgerPage, error) {
	var out LedgerPage
	path := fmt.Sprintf("/v1/members/%s/ledger?limit=%d", url.PathEscape(memberID), limit)
	if cursor != "" {
		path += "&cursor=" + url.QueryEscape(cursor)
	}
	_, err := c.do(ctx, "GET", path, "", nil, &out)
	return out, err
}

// Ledger returns every ledger entry of a member, newest first, following
// the cursor page by page.
func (c *Client) Ledger(ctx context.Context, memberID string, pageSize int) ([]LedgerEntry, error) {
	var all []LedgerEntry
	cursor := ""
	for {
		page, err := c.LedgerPage(ctx, memberID, pageSize, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// CreateProgram creates a program (status new).
func (c *Client) CreateProgram(ctx context.Context, body ProgramSettings) (ProgramView, error) {
	var out ProgramView
	_, err := c.do(ctx, "POST", "/v1/programs", "", body, &out)
	return out, err
}

// ActivateProgram makes a program the active one.
func (c *Client) ActivateProgram(ctx context.Context, programID string) (ProgramView, error) {
	var out ProgramView
	_, err := c.do(ctx, "POST", "/v1/programs/"+url.PathEscape(programID)+"/activate", "", nil, &out)
	return out, err
}

// StopProgram stops a program.
func (c *Client) StopProgram(ctx context.Context, programID string) (ProgramView, error) {
	var out ProgramView
	_, err := c.do(ctx, "POST", "/v1/programs/"+url.PathEscape(programID)+"/stop", "", nil, &out)
	return out, err
}

// Sweep runs the expiry sweep now for the tenant.
func (c *Client) Sweep(ctx context.Context) (SweepResult, error) {
	var out SweepResult
	_, err := c.do(ctx, "POST", "/v1/admin/expiry-sweep", "", nil, &out)
	return out, err
}
