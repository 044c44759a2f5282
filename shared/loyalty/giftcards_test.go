package loyalty

import (
	"testing"
	"time"
)

func TestGiftCardNumbers(t *testing.T) {
	for i := 0; i < 200; i++ {
		n := newGiftCardNumber()
		if !ValidGiftCardNumber(n) || n[0] == '0' {
			t.Fatalf("drawn number %s is not valid", n)
		}
		// Any single mistyped digit fails the check digit.
		for pos := 0; pos < len(n); pos++ {
			b := []byte(n)
			b[pos] = '0' + (b[pos]-'0'+1)%10
			if ValidGiftCardNumber(string(b)) {
				t.Fatalf("%s with digit %d changed passes", n, pos)
			}
		}
	}
	if NormalizeGiftCardNumber(" 4000-0000 0000-0002 ") != "4000000000000002" || !ValidGiftCardNumber("4000000000000002") {
		t.Fatal("grouped numbers")
	}
}

// Refunds return to each card its share, cumulatively: after the last
// refund every card has all of its amount back, whatever the split.
func TestRefundGiftCardsSettleRounding(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cards := map[string]GiftCard{}
	for _, n := range []string{"a", "b"} {
		ch := newGiftCardChange(GiftCard{Number: n})
		ch.record(GiftIssue, 1000, "", "", Caller{}, now)
		cards[n] = ch.card
	}
	o := &Order{ID: "o", GiftCards: []OrderGiftCard{{Number: "a", Amount: 333}, {Number: "b", Amount: 334}}}
	bound := Money(1000) // 333 money + 667 by card
	var before Money
	back := map[string]Money{}
	for _, amt := range []Money{1, 333, 7, 659} {
		ret, changes, err := refundGiftCards(o, cards, before, before+amt, bound, "r", Caller{}, now)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range ret {
			back[r.Number] += r.Returned
			cards[r.Number] = changes[i].card
		}
		before += amt
	}
	if back["a"] != 333 || back["b"] != 334 || o.GiftCards[0].Returned != 333 || o.GiftCards[1].Returned != 334 {
		t.Fatalf("returned %v, order %+v", back, o.GiftCards)
	}
}

// A card's chain catches an edited entry, and a change that does not add
// up to the balance.
func TestVerifyGiftCard(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ch := newGiftCardChange(GiftCard{Number: "n"})
	ch.record(GiftIssue, 1000, "", "", Caller{KeyID: "k"}, now)
	ch.record(GiftSpend, -400, "o1", "", Caller{KeyID: "k"}, now)
	ch.record(GiftRefund, 100, "o1", "r1", Caller{KeyID: "k"}, now)
	if err := VerifyGiftCard(ch.card, ch.entries); err != nil {
		t.Fatal(err)
	}
	edited := append([]GiftCardEntry(nil), ch.entries...)
	edited[1].Amount = -300
	if VerifyGiftCard(ch.card, edited) == nil {
		t.Fatal("an edited amount passes")
	}
	g := ch.card
	g.Balance += 50
	if VerifyGiftCard(g, ch.entries) == nil {
		t.Fatal("a balance off its ledger passes")
	}
	if w, left, ok := ExpireGiftCard(ch.card, now); ok || left != 0 || len(w.Entries) != 0 {
		t.Fatal("a card without expiry expired")
	}
	c := ch.card
	c.ExpiresAt = now.Add(time.Hour)
	if _, _, ok := ExpireGiftCard(c, now); ok {
		t.Fatal("expired early")
	}
	w, left, ok := ExpireGiftCard(c, now.Add(time.Hour))
	if !ok || left != 700 || w.Card.Balance != 0 || w.Card.Expired != 700 || VerifyGiftCard(w.Card, append(ch.entries, w.Entries...)) != nil {
		t.Fatalf("expiry: %v %d %+v", ok, left, w.Card)
	}
}
