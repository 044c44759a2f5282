package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

func issueGiftCard(t *testing.T, e *apitest.Env, amount int64, expiresIn string) string {
	t.Helper()
	body := map[string]any{"amount": amount}
	if expiresIn != "" {
		body["expiresIn"] = expiresIn
	}
	g := e.Do("POST", "/v1/gift-cards", body, apitest.Key()).Want(201).JSON()
	n := g["number"].(string)
	if !loyalty.ValidGiftCardNumber(n) || num(g, "balance") != amount {
		t.Fatalf("issued card: %v", g)
	}
	return n
}

func giftClose(member string, total int64, cards ...any) map[string]any {
	var gs []map[string]any
	for i := 0; i+1 < len(cards); i += 2 {
		gs = append(gs, map[string]any{"number": cards[i], "amount": cards[i+1]})
	}
	return map[string]any{"member": map[string]any{"id": member}, "total": total, "giftCards": gs}
}

type giftCardRead struct {
	Status                                    string
	Balance, Issued, Spent, Refunded, Expired int64
	History                                   []loyalty.GiftCardEntry
}

func readGiftCard(t *testing.T, e *apitest.Env, number string) giftCardRead {
	t.Helper()
	var g giftCardRead
	e.Do("GET", "/v1/gift-cards/"+number, nil, nil).Want(200).Decode(&g)
	if err := e.Store.VerifyGiftCard(context.Background(), e.TenantID, number); err != nil {
		t.Fatalf("gift card ledger: %v", err)
	}
	return g
}

// A gift card pays for three orders, refunds (partial and full) give its
// share back, and what it holds always equals its hash-chained ledger.
func TestGiftCardAcrossThreeOrdersAndRefunds(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	key := apitest.Key()
	sold := e.Do("POST", "/v1/gift-cards", map[string]any{"amount": 30000, "expiresIn": "P1Y"}, key).Want(201)
	number := sold.JSON()["number"].(string)
	again := e.Do("POST", "/v1/gift-cards", map[string]any{"amount": 30000, "expiresIn": "P1Y"}, key).Want(201)
	if string(again.Body) != string(sold.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a retried sale sold another card: %s / %s", sold.Body, again.Body)
	}
	if g := readGiftCard(t, e, number); g.Status != "active" || g.Balance != 30000 || len(g.History) != 1 {
		t.Fatalf("new card: %+v", g)
	}
	m := members(t, e, 1)[0]

	// Quote: what the card would cover of 5000, nothing spent.
	q := e.Do("POST", "/v1/orders/q/quote", map[string]any{"member": map[string]any{"id": m}, "total": 5000,
		"giftCards": []map[string]any{{"number": number}}}, nil).Want(200).JSON()
	if gc := q["giftCards"].([]any)[0].(map[string]any); gc["applied"] != true || num(gc, "amount") != 5000 || num(gc, "balance") != 30000 {
		t.Fatalf("quote: %v", q)
	}

	c1 := e.Do("POST", "/v1/orders/g1/close", giftClose(m, 10000, number, 10000), apitest.Key()).Want(200).JSON()
	if num(c1, "giftCardPaid") != 10000 || num(c1, "moneyPaid") != 0 || num(c1, "accrued") != 500 {
		t.Fatalf("order paid by the card: %v", c1)
	}
	c2 := e.Do("POST", "/v1/orders/g2/close", giftClose(m, 20000, number, 8000), apitest.Key()).Want(200).JSON()
	if num(c2, "giftCardPaid") != 8000 || num(c2, "moneyPaid") != 12000 {
		t.Fatalf("order paid partly by the card: %v", c2)
	}
	e.Do("POST", "/v1/orders/g3/close", giftClose(m, 15000, number, 12000), apitest.Key()).Want(200)
	if g := readGiftCard(t, e, number); g.Balance != 0 || g.Spent != 30000 {
		t.Fatalf("after three orders: %+v", g)
	}
	// An empty card is refused and nothing is written.
	if r := e.Do("POST", "/v1/orders/g4/close", giftClose(m, 5000, number, 1), apitest.Key()); r.Status != 409 || r.Code() != "gift_card_insufficient" {
		t.Fatalf("spending an empty card: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/v1/orders/g4", nil, nil); r.Status != 404 {
		t.Fatalf("a refused close wrote its order: %d", r.Status)
	}

	// Half of g2 refunded: the card gets half of its 8000 back; replayed, once.
	rk := apitest.Key()
	r1 := e.Do("POST", "/v1/orders/g2/refunds", map[string]any{"refundId": "r1", "amount": 10000}, rk).Want(200)
	e.Do("POST", "/v1/orders/g2/refunds", map[string]any{"refundId": "r1", "amount": 10000}, rk).Want(200)
	if gc := r1.JSON()["giftCards"].([]any)[0].(map[string]any); num(gc, "returned") != 4000 || num(gc, "balance") != 4000 {
		t.Fatalf("partial refund: %s", r1.Body)
	}
	e.Do("POST", "/v1/orders/g1/refunds", map[string]any{"refundId": "r2", "amount": 10000}, apitest.Key()).Want(200)
	e.Do("POST", "/v1/orders/g3/refunds", map[string]any{"refundId": "r3", "amount": 15000}, apitest.Key()).Want(200)
	if g := readGiftCard(t, e, number); g.Balance != 26000 || g.Refunded != 26000 {
		t.Fatalf("after refunds: %+v", g)
	}
	e.Do("POST", "/v1/orders/g2/refunds", map[string]any{"refundId": "r4", "amount": 10000}, apitest.Key()).Want(200)
	g := readGiftCard(t, e, number)
	if g.Balance != 30000 || g.Spent != 30000 || g.Refunded != 30000 || len(g.History) != 1+3+4 {
		t.Fatalf("every order refunded: %+v", g)
	}
	// Refunds beyond what was paid (money and card) are refused.
	if r := e.Do("POST", "/v1/orders/g2/refunds", map[string]any{"refundId": "r5", "amount": 1}, apitest.Key()); r.Code() != "refund_exceeds_order" {
		t.Fatalf("over-refund: %d %s", r.Status, r.Body)
	}
	e.Verify(m)
}

// Bad input: a clear problem and nothing spent.
func TestGiftCardBadInput(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	number := issueGiftCard(t, e, 5000, "PT1H")
	m := members(t, e, 1)[0]
	unknown := "4000000000000002" // a valid check digit, never issued
	for _, c := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{giftClose(m, 5000, unknown, 100), 404, "gift_card_not_found"},
		{giftClose(m, 5000, "1234", 100), 404, "gift_card_not_found"},
		{giftClose(m, 5000, number, 0), 422, "validation_failed"},
		{giftClose(m, 5000, number, -5), 422, "validation_failed"},
		{giftClose(m, 3000, number, 4000), 422, "gift_card_exceeds_order"},
		{giftClose(m, 9000, number, 6000), 409, "gift_card_insufficient"},
		{giftClose(m, 9000, number, 100, number, 100), 422, "validation_failed"},
	} {
		r := e.Do("POST", "/v1/orders/bad/close", c.body, apitest.Key())
		if r.Status != c.status || r.Code() != c.code {
			t.Errorf("%v: %d %s (want %d %s)", c.body, r.Status, r.Body, c.status, c.code)
		}
	}
	for _, body := range []map[string]any{{"amount": 0}, {"amount": 100, "expiresIn": "1 year"}, {"amount": 100, "expiresIn": "P20Y"}} {
		if r := e.Do("POST", "/v1/gift-cards", body, apitest.Key()); r.Status != 422 {
			t.Errorf("issue %v: %d %s", body, r.Status, r.Body)
		}
	}
	if r := e.Do("POST", "/v1/gift-cards", map[string]any{"amount": 100}, nil); r.Code() != "idempotency_key_required" {
		t.Errorf("issue without a key: %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", "/v1/gift-cards/"+unknown, nil, nil); r.Status != 404 || r.Code() != "gift_card_not_found" {
		t.Errorf("unknown card: %d %s", r.Status, r.Body)
	}
	if g := readGiftCard(t, e, number); g.Balance != 5000 || len(g.History) != 1 {
		t.Fatalf("refused closes changed the card: %+v", g)
	}
	if r := e.Do("GET", "/v1/orders/bad", nil, nil); r.Status != 404 {
		t.Fatalf("a refused close wrote its order: %d", r.Status)
	}

	// Expired: refused at the till; the sweep records what was left as breakage, once.
	e.Clock.Advance(2 * time.Hour)
	if r := e.Do("POST", "/v1/orders/late/close", giftClose(m, 5000, number, 100), apitest.Key()); r.Status != 422 || r.Code() != "gift_card_expired" {
		t.Fatalf("expired card: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 2; i++ {
		res, err := e.App.Service.Sweep(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]int{0: 1, 1: 0}[i]; res.ExpiredGiftCards != want || (i == 0 && res.GiftCardBreakage != 5000) {
			t.Fatalf("sweep %d: %+v", i, res)
		}
	}
	if g := readGiftCard(t, e, number); g.Status != "expired" || g.Balance != 0 || g.Expired != 5000 {
		t.Fatalf("expired card: %+v", g)
	}
}

// 20 closes at once spend one card of 10 000, 1 000 each: exactly ten
// commit, the others are refused, the card ends at 0 and never below.
func TestGiftCardConcurrentCloses(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	number := issueGiftCard(t, e, 10000, "")
	ids := members(t, e, 20)
	var wg sync.WaitGroup
	results := make([]string, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := apitest.Key() // a careful till retries a lost race with the same key
			for attempt := 0; attempt < 20; attempt++ {
				r, err := e.Try("POST", fmt.Sprintf("/v1/orders/c%d/close", i), giftClose(id, 2000, number, 1000), key)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Status == 200 {
					results[i] = "ok"
					return
				}
				if results[i] = r.Code(); results[i] != "concurrent_update" {
					return
				}
			}
		}()
	}
	wg.Wait()
	ok, refused := 0, 0
	for i, r := range results {
		switch r {
		case "ok":
			ok++
		case "gift_card_insufficient":
			refused++
			if r := e.Do("GET", fmt.Sprintf("/v1/orders/c%d", i), nil, nil); r.Status != 404 {
				t.Errorf("a refused close wrote its order: %d", r.Status)
			}
		default:
			t.Errorf("close %d: %s", i, r)
		}
	}
	g := readGiftCard(t, e, number)
	if ok != 10 || refused != 10 || g.Balance != 0 || g.Spent != 10000 || len(g.History) != 11 {
		t.Fatalf("%d closes spent the card, %d refused; card %+v", ok, refused, g)
	}
}

// Replays: a close retried with its key spends the card once and answers
// as the first time; the key with another body is refused.
func TestGiftCardIdempotentReplays(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	number := issueGiftCard(t, e, 10000, "")
	m := members(t, e, 1)[0]
	key := apitest.Key()
	first := e.Do("POST", "/v1/orders/i1/close", giftClose(m, 6000, number, 6000), key).Want(200)
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Try("POST", "/v1/orders/i1/close", giftClose(m, 6000, number, 6000), key)
			if err != nil || r.Status != 200 || string(r.Body) != string(first.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("replay: %v %+v", err, r)
			}
		}()
	}
	wg.Wait()
	if r := e.Do("POST", "/v1/orders/i1/close", giftClose(m, 6000, number, 5000), key); r.Code() != "idempotency_key_reused" {
		t.Fatalf("key reused with another body: %d %s", r.Status, r.Body)
	}
	rk := apitest.Key()
	for i := 0; i < 3; i++ {
		e.Do("POST", "/v1/orders/i1/refunds", map[string]any{"refundId": "r1", "amount": 3000}, rk).Want(200)
	}
	if g := readGiftCard(t, e, number); g.Balance != 7000 || g.Spent != 6000 || g.Refunded != 3000 || len(g.History) != 3 {
		t.Fatalf("card after replays: %+v", g)
	}
}
