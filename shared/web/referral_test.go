package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

// The enrollment page takes a referral code (prefilled from a friend's
// ?ref= link), refuses an unknown one on the page with nothing sent, and
// the card page shows the member's own code and link while the program
// rewards referrals.
func TestReferralOnPages(t *testing.T) {
	prog := apitest.DefaultProgram()
	prog.Referral = &loyalty.Referral{ReferrerPoints: 1000, RefereePoints: 500}
	e := apitest.New(t, apitest.Options{Program: &prog})
	p := newPage(t, e)
	enroll, card := "/j/"+e.Slug, "/c/"+e.Slug

	// The referrer signs in on the card page and finds their code and link.
	m := e.Enroll("+7 912 000 05 01")
	r := p.post(card, url.Values{"state": {p.get(card).hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 05 01"}})
	r = p.post(card, url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, m.Phone)}})
	code, _ := e.Do("GET", "/v1/members/"+m.ID, nil, nil).Want(200).JSON()["referralCode"].(string)
	if r.status != 200 || code == "" || !strings.Contains(r.body, `id="referral-code">`+code+`<`) || !strings.Contains(r.body, enroll+"?ref="+code) {
		t.Fatalf("card page without the referral code %q: %d %s", code, r.status, r.body)
	}

	// A friend's link prefills the field.
	page := newPage(t, e)
	form := page.get(enroll + "?ref=" + code)
	if !strings.Contains(form.body, `id="referralCode" name="referralCode"`) || !strings.Contains(form.body, `value="`+code+`"`) {
		t.Fatalf("?ref= not prefilled: %s", form.body)
	}
	sent := len(e.Sender.Sent)
	bad := page.post(enroll, url.Values{"state": {form.hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 05 02"}, "terms": {"on"}, "referralCode": {"ABCDEFG"}})
	if bad.status != 422 || !strings.Contains(bad.body, `role="alert"`) || !strings.Contains(bad.body, "Такого кода приглашения нет") ||
		!strings.Contains(bad.body, `value="ABCDEFG" aria-invalid="true"`) || len(e.Sender.Sent) != sent {
		t.Fatalf("unknown code: %d, %d sent\n%s", bad.status, len(e.Sender.Sent)-sent, bad.body)
	}
	ok := page.post(enroll, url.Values{"state": {bad.hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 05 02"}, "terms": {"on"}, "referralCode": {strings.ToLower(code)}})
	done := page.post(enroll, url.Values{"state": {ok.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, "+79120000502")}})
	if done.status != 201 {
		t.Fatalf("enroll with a code: %d %s", done.status, done.body)
	}
	found := e.Do("GET", "/v1/members?phone=%2B79120000502", nil, nil).Want(200).JSON()
	if ref, _ := found["referral"].(map[string]any); ref == nil || ref["referrerId"] != m.ID || ref["status"] != "pending" {
		t.Fatalf("referee's referral: %v", found)
	}

	// Without referral rewards the field is not shown.
	plain := apitest.New(t)
	if body := newPage(t, plain).get("/j/" + plain.Slug + "?ref=" + code).body; strings.Contains(body, "referralCode") {
		t.Fatal("a program without referrals shows the referral field")
	}
}
