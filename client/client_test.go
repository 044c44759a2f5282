package client_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/loyalty/cashback/client"
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

	ch, err := c.Enroll(ctx, client.EnrollRequest{Phone: "8 912 000-01-23", Consent: client.EnrollConsent{Terms: true}})
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

// The program and admin calls through the client, on a tenant without a
// program: ProgramSettings (percents as exact decimal text, a tier, a
// category) is accepted and read back as sent, and Adjust and Sweep answer.
func TestProgramsThroughTheClient(t *testing.T) {
	e := apitest.New(t, apitest.Options{NoProgram: true})
	ctx := context.Background()
	c := client.New(e.Server.URL, e.APIKey)
	c.HTTP = e.HTTP // every response the client gets is checked against the OpenAPI document

	lifetime := "P180D"
	p, err := c.CreateProgram(ctx, client.ProgramSettings{
		Name: "Café", Type: "bonus", CashbackPercent: "12.5", MaxRedeemPercent: "50", PointsLifetime: lifetime,
		Tiers: []client.Tier{
			{Name: "Base", Priority: 1, Qualify: client.Qualify{Period: "P30D"}},
			{Name: "Gold", Priority: 2, CashbackPercent: "15", Qualify: client.Qualify{Period: "P30D", Spend: 500000}},
		},
		Categories: map[string]client.CategoryRates{"coffee": {CashbackPercent: "0.75"}},
	})
	if err != nil || p.Status != "new" || p.CashbackPercent != "12.5" || p.Categories["coffee"].CashbackPercent != "0.75" ||
		len(p.Tiers) != 2 || p.Tiers[1].CashbackPercent != "15" || p.PointsLifetime != lifetime {
		t.Fatalf("create program: %+v %v", p, err)
	}
	if a, err := c.ActivateProgram(ctx, p.ProgramID); err != nil || a.Status != "active" {
		t.Fatalf("activate: %+v %v", a, err)
	}
	ch, err := c.Enroll(ctx, client.EnrollRequest{Phone: "+79120000124", Consent: client.EnrollConsent{Terms: true}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Verify(ctx, ch.ChallengeID, e.Sender.LastCode(t, "+79120000124"))
	if err != nil {
		t.Fatal(err)
	}
	adj, res, err := c.Adjust(ctx, "adj-1", v.MemberID, 700, "goodwill")
	if err != nil || adj.Adjusted != 700 || adj.Balance.Available != 700 || res.Replayed {
		t.Fatalf("adjust %+v %+v %v", adj, res, err)
	}
	if _, err := c.Sweep(ctx); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if s, err := c.StopProgram(ctx, p.ProgramID); err != nil || s.Status != "stopped" {
		t.Fatalf("stop: %+v %v", s, err)
	}
	e.Verify(v.MemberID)
}
