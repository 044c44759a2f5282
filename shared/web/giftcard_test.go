package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// The till closes an order paid partly by gift card: the card pays its
// amount once (a form sent twice spends nothing twice), a card without
// enough value is refused readably.
func TestCashierClosesWithGiftCard(t *testing.T) {
	e := apitest.New(t)
	number := e.Do("POST", "/v1/gift-cards", map[string]any{"amount": 50000}, apitest.Key()).Want(201).JSON()["number"].(string)
	m := e.Enroll("+7 912 000 00 41")
	till := newPage(t, e)
	r := till.post("/cashier", url.Values{"state": {till.get("/cashier").hidden(t, "state")}, "action": {"signin"}, "key": {e.APIKey}})
	csrf := r.hidden(t, "csrf")
	if r = till.post("/cashier", url.Values{"csrf": {csrf}, "action": {"select"}, "member": {m.ID}}); !strings.Contains(r.body, `name="giftCard"`) {
		t.Fatalf("no gift card field on the order form: %s", r.body)
	}
	form := url.Values{"csrf": {csrf}, "action": {"close"}, "member": {m.ID}, "formKey": {"fk-gift"}, "order": {"o-gift"}, "total": {"800"},
		"giftCard": {number[:4] + " " + number[4:]}, "giftAmount": {"300"}}
	one, two := till.post("/cashier", form), till.post("/cashier", form)
	if one.status != 200 || !strings.Contains(one.body, "С подарочной карты списано 300") || !strings.Contains(one.body, "осталось 200") || two.status != 200 {
		t.Fatalf("close with a gift card: %d %d\n%s", one.status, two.status, one.body)
	}
	if g := e.Do("GET", "/v1/gift-cards/"+number, nil, nil).Want(200).JSON(); g["balance"].(float64) != 20000 {
		t.Fatalf("card after a double submit: %v", g)
	}
	form.Set("formKey", "fk-gift-2")
	form.Set("order", "o-gift-2")
	form.Set("giftAmount", "250")
	if r := till.post("/cashier", form); r.status < 400 || r.status >= 500 || !strings.Contains(r.body, "недостаточно средств") {
		t.Fatalf("a card without enough value: %d %s", r.status, r.body)
	}
}
