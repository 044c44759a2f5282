package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

func marketingOf(t *testing.T, e *apitest.Env, memberID string) bool {
	t.Helper()
	return e.Do("GET", "/v1/members/"+memberID, nil, nil).Want(200).JSON()["consent"].(map[string]any)["marketing"].(bool)
}

func TestConsentOnTheCardPageAndByUnsubscribeLink(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+7 912 000 00 41") // terms only: no marketing consent
	card := "/c/" + e.Slug
	p := newPage(t, e)
	r := p.post(card, url.Values{"state": {p.get(card).hidden(t, "state")}, "step": {"start"}, "phone": {m.Phone}})
	r = p.post(card, url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, m.Phone)}})
	if r.status != 200 || !strings.Contains(r.body, `id="marketing" name="marketing" type="checkbox" value="1">`) {
		t.Fatalf("signed-in card page without an unchecked consent box: %d\n%s", r.status, r.body)
	}
	// A form without the page's CSRF token changes nothing.
	if r := p.post(card, url.Values{"step": {"consent"}, "marketing": {"1"}, "csrf": {"forged"}}); r.status != 403 || marketingOf(t, e, m.ID) {
		t.Fatalf("forged consent form: %d, consent %v", r.status, marketingOf(t, e, m.ID))
	}
	p.post(card, url.Values{"step": {"consent"}, "marketing": {"1"}, "csrf": {r.hidden(t, "csrf")}})
	if !marketingOf(t, e, m.ID) {
		t.Fatal("ticking the box did not give consent")
	}
	if r := p.get(card); !strings.Contains(r.body, `value="1" checked>`) {
		t.Fatalf("the box is not ticked after saving:\n%s", r.body)
	}

	// The unsubscribe link: GET only asks, POST withdraws, no sign-in.
	token := e.App.Campaigns.Tokens.Sign(e.TenantID, m.ID)
	anon := newPage(t, e)
	if r := anon.get("/u/" + token); r.status != 200 || !strings.Contains(r.body, `<button type="submit">`) || !marketingOf(t, e, m.ID) {
		t.Fatalf("GET of the link: %d, consent %v\n%s", r.status, marketingOf(t, e, m.ID), r.body)
	}
	if r := anon.post("/u/"+token[:len(token)-2]+"xx", nil); r.status != 404 || !marketingOf(t, e, m.ID) {
		t.Fatalf("tampered link: %d, consent %v", r.status, marketingOf(t, e, m.ID))
	}
	if r := anon.post("/u/"+token, url.Values{"List-Unsubscribe": {"One-Click"}}); r.status != 200 || marketingOf(t, e, m.ID) {
		t.Fatalf("unsubscribe: %d, consent %v\n%s", r.status, marketingOf(t, e, m.ID), r.body)
	}
}
