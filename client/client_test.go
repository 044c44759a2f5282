package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/loyalty/cashback/client"
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// The hot path through the typed client, as a shop backend would call it.
func TestHotPathThroughTheClient(t *testing.T) {
	e := apitest.New(t)
	ctx := context.Background()
	c := client.New(e.Server.URL, e.APIKey)
	c.HTTP = e.HTTP // every response the client gets is checked against the OpenAPI document

	var body api.EnrollBody
	body.Phone = "8 912 000-01-23"
	body.Consent.Terms = true
	ch, err := c.Enroll(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Verify(ctx, ch.ChallengeID, e.Sender.LastCode(t, "+79120000123"))
	if err != nil {
		t.Fatal(err)
	}
	m := client.Member{ID: v.MemberID}
	if _, _, err := c.Close(ctx, "close-1", "o1", m, 100000, nil); err != nil {
		t.Fatal(err)
	}
	q, err := c.Quote(ctx, "o2", client.Member{Card: v.CardNumber}, 6000, nil)
	if err != nil || q.MaxRedeemable != 3000 {
		t.Fatalf("quote %+v %v", q, err)
	}
	r, res, err := c.Redeem(ctx, "redeem-2", "o2", m, 6000, 3000)
	if err != nil || r.Held != 3000 || res.Replayed {
		t.Fatalf("redeem %+v %+v %v", r, res, err)
	}
	if _, res, err := c.Redeem(ctx, "redeem-2", "o2", m, 6000, 3000); err != nil || !res.Replayed {
		t.Fatalf("a retry with the same key is a replay: %+v %v", res, err)
	}
	if _, _, err := c.Close(ctx, "close-2", "o2", m, 6000, nil); err != nil {
		t.Fatal(err)
	}
	ref, _, err := c.Refund(ctx, "refund-2", "o2", "r1", 3000)
	if err != nil || ref.ReturnedPoints != 3000 {
		t.Fatalf("refund %+v %v", ref, err)
	}
	// Problems come back typed, with their stable code.
	_, _, err = c.Redeem(ctx, "redeem-3", "o3", m, 1000, 999999)
	var p *client.Problem
	if !errors.As(err, &p) || p.Code != "redeem_limit_exceeded" || p.Status != 422 {
		t.Fatalf("problem: %v", err)
	}
	for i := 0; i < 5; i++ {
		if _, _, err := c.Close(ctx, fmt.Sprintf("more-%d", i), fmt.Sprintf("m%d", i), m, 1000, nil); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := c.Ledger(ctx, v.MemberID, 2)
	if err != nil || len(entries) != 10 || entries[0].Seq != 10 || entries[9].Seq != 1 {
		t.Fatalf("paged ledger: %d entries %v", len(entries), err)
	}
	got, err := c.FindMember(ctx, "+7 912 000 01 23", "")
	if err != nil || got.MemberID != v.MemberID {
		t.Fatalf("find %+v %v", got, err)
	}
	e.Verify(v.MemberID)
}
