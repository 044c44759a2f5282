package web_test

import (
	"encoding/base64"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/wallet"
	"github.com/loyalty/cashback/shared/wallet/wallettest"
)

// walletPages is an env whose wallets have (throwaway) Apple and Google keys.
func walletPages(t *testing.T) (*apitest.Env, *wallet.Keys) {
	t.Helper()
	return walletPagesWith(t, nil)
}

// walletPagesWith is walletPages over a program of the test's (nil: the
// default one).
func walletPagesWith(t *testing.T, program *loyalty.Program) (*apitest.Env, *wallet.Keys) {
	t.Helper()
	keys, err := wallet.LocalKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys.GoogleIssuerID = "3388000000033"
	return apitest.New(t, apitest.Options{Program: program, Wallet: app.WalletConfig{Keys: keys}}), keys
}

// signIn signs a new browser in on the card page as the member of phone.
func signIn(t *testing.T, e *apitest.Env, m apitest.Member) *page {
	t.Helper()
	card := "/c/" + e.Slug
	p := newPage(t, e)
	r := p.post(card, url.Values{"state": {p.get(card).hidden(t, "state")}, "step": {"start"}, "phone": {m.Phone}})
	r = p.post(card, url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, m.Phone)}})
	if r.status != 200 || !strings.Contains(r.body, m.Card) {
		t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	return p
}

var walletLinkRe = regexp.MustCompile(`id="wallet-(apple|google)" href="([^"]*)"`)

// walletLinks are the hrefs of the page's wallet buttons by wallet.
func walletLinks(body string) map[string]string {
	out := map[string]string{}
	for _, m := range walletLinkRe.FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// passCard is the card number a pkpass carries, checked as a device would.
func passCard(t *testing.T, r resp, keys *wallet.Keys) string {
	t.Helper()
	if r.status != 200 || r.header.Get("Content-Type") != wallet.ContentType {
		t.Fatalf("pass: %d %v %.200s", r.status, r.header, r.body)
	}
	pass := wallettest.CheckPass(t, []byte(r.body), keys.Root)
	bc, _ := pass["barcodes"].([]any)
	if len(bc) != 1 {
		t.Fatalf("pass barcodes %v", pass["barcodes"])
	}
	return bc[0].(map[string]any)["message"].(string)
}

func TestCardShowsWalletButtonsAndServesOnlyTheMembersPass(t *testing.T) {
	e, keys := walletPages(t)
	card := "/c/" + e.Slug
	anna, boris := e.Enroll("+7 912 000 00 21"), e.Enroll("+7 912 000 00 22")
	p := signIn(t, e, anna)

	r := p.get(card)
	links := walletLinks(r.body)
	if links["apple"] != card+"/pass.pkpass" || !strings.HasPrefix(links["google"], wallet.GoogleSaveBase) {
		t.Fatalf("wallet buttons %v in\n%s", links, r.body)
	}
	if !strings.Contains(r.body, "Добавить в Apple Wallet") || !strings.Contains(r.body, "Сохранить в Google Wallet") ||
		!strings.Contains(r.body, `<nav class="wallets" aria-label="Добавить карту в кошелёк телефона">`) {
		t.Errorf("Russian labels missing:\n%s", r.body)
	}
	en := p.get(card + "?lang=en")
	if !strings.Contains(en.body, "Add to Apple Wallet") || !strings.Contains(en.body, "Save to Google Wallet") ||
		walletLinks(en.body)["apple"] != card+"/pass.pkpass?lang=en" {
		t.Errorf("English buttons: %v", walletLinks(en.body))
	}
	// The Google link's JWT carries this member's card.
	jwt := strings.Split(strings.TrimPrefix(links["google"], wallet.GoogleSaveBase), ".")
	claims, err := base64.RawURLEncoding.DecodeString(jwt[1])
	if len(jwt) != 3 || err != nil || !strings.Contains(string(claims), anna.Card) || strings.Contains(string(claims), boris.Card) {
		t.Errorf("save link claims %s (%v)", claims, err)
	}

	// The pass is the session's member's, whatever the URL adds.
	if got := passCard(t, p.get(card+"/pass.pkpass"), keys); got != anna.Card {
		t.Errorf("pass of card %s, want %s", got, anna.Card)
	}
	if got := passCard(t, p.get(card+"/pass.pkpass?memberId="+boris.ID+"&m="+boris.ID), keys); got != anna.Card {
		t.Errorf("a member id in the URL chose card %s", got)
	}
	if got := passCard(t, signIn(t, e, boris).get(card+"/pass.pkpass"), keys); got != boris.Card {
		t.Errorf("another session got card %s, want %s", got, boris.Card)
	}
	// No session, a forged grant, or a card cookie offered to another path: refused.
	for _, path := range []string{card + "/pass.pkpass", card + "/pass.pkpass?t=" + boris.ID, card + "/pass.pkpass?memberId=" + anna.ID} {
		if r := newPage(t, e).get(path); r.status != 403 || strings.Contains(r.body, anna.Card) || r.header.Get("Content-Type") == wallet.ContentType {
			t.Errorf("%s without a session: %d %.200s", path, r.status, r.body)
		}
	}
	if r := newPage(t, e).get("/c/no-such-shop/pass.pkpass"); r.status != 404 {
		t.Errorf("unknown tenant: %d", r.status)
	}
}

func TestEnrollmentResultOffersTheNewMembersPass(t *testing.T) {
	e, keys := walletPages(t)
	enroll := "/j/" + e.Slug
	p := newPage(t, e)
	r := p.post(enroll, url.Values{"state": {p.get(enroll).hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 00 31"}, "terms": {"on"}})
	r = p.post(enroll, url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, "+79120000031")}})
	if r.status != 201 {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	newCard := regexp.MustCompile(`id="card-number">([^<]+)<`).FindStringSubmatch(r.body)[1]
	links := walletLinks(r.body)
	if !strings.HasPrefix(links["apple"], "/c/"+e.Slug+"/pass.pkpass?t=") || !strings.HasPrefix(links["google"], wallet.GoogleSaveBase) {
		t.Fatalf("wallet buttons %v in\n%s", links, r.body)
	}
	// The sealed grant works without any cookie (the page may be framed
	// cross-site), for the new member only, and expires with the form.
	if got := passCard(t, newPage(t, e).get(links["apple"]), keys); got != newCard {
		t.Errorf("pass of card %s, want %s", got, newCard)
	}
	tampered := links["apple"][:len(links["apple"])-2] + "AA"
	if r := newPage(t, e).get(tampered); r.status != 403 {
		t.Errorf("tampered grant: %d", r.status)
	}
	e.Clock.Advance(2 * time.Hour)
	if r := newPage(t, e).get(links["apple"]); r.status != 403 {
		t.Errorf("expired grant: %d", r.status)
	}
}

func TestNoWalletButtonsWithoutWalletKeys(t *testing.T) {
	e := apitest.New(t)
	m := e.Enroll("+7 912 000 00 41")
	p := signIn(t, e, m)
	r := p.get("/c/" + e.Slug)
	if len(walletLinks(r.body)) != 0 || strings.Contains(r.body, "Wallet") {
		t.Errorf("wallet buttons without keys:\n%s", r.body)
	}
	if r := p.get("/c/" + e.Slug + "/pass.pkpass"); r.status != 404 || r.header.Get("Content-Type") == wallet.ContentType {
		t.Errorf("pass without keys: %d %v", r.status, r.header)
	}
	enroll := "/j/" + e.Slug
	q := newPage(t, e)
	r = q.post(enroll, url.Values{"state": {q.get(enroll).hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 00 42"}, "terms": {"on"}})
	r = q.post(enroll, url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, "+79120000042")}})
	if r.status != 201 || len(walletLinks(r.body)) != 0 {
		t.Errorf("enrollment result without keys: %d %v", r.status, walletLinks(r.body))
	}
}
