package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/web"
)

// partnerPage is a shop's page on another origin: it embeds the enrollment
// page with the iframe snippet the API hands out, and shows what the frame
// tells it (only from the service's origin).
func partnerPage(t *testing.T, iframe, service string) *httptest.Server {
	page := `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
		`<title>Partner shop</title></head><body><h1>Partner shop</h1><p>Outcome: <output id="outcome">waiting</output></p>` + iframe +
		`<script>addEventListener("message", function (e) { if (e.origin === "` + service + `" && e.data && e.data.type) document.getElementById("outcome").textContent = e.data.type; });</script></body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// localhostURL is the server's address under the name localhost: another
// site than 127.0.0.1 for the browser, as a partner's site is.
func localhostURL(srv *httptest.Server) string {
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

func TestBrowserEnrollCardCashier(t *testing.T) {
	for _, lang := range []string{"ru", "en"} {
		t.Run(lang, func(t *testing.T) { browserFlow(t, lang) })
	}
}

func browserFlow(t *testing.T, lang string) {
	// The default program with two tiers of the same rates: the card shows
	// the way to Silver (3 000.00 spent in 30 days).
	prog := apitest.DefaultProgram()
	prog.Tiers = []loyalty.Tier{
		{Name: "Base", Priority: 1, Qualify: loyalty.Qualify{Period: "P30D"}},
		{Name: "Silver", Priority: 2, Qualify: loyalty.Qualify{Period: "P30D", Spend: 300000}},
	}
	e, _ := walletPagesWith(t, &prog) // the cards show their wallet buttons
	// The till's recent operations follow the feed (drained below).
	e.Sinks = []feed.Sink{e.App.RecentOpsSink()}
	service := e.Server.URL
	tr := func(key string, args ...any) string { return web.TFor(lang, key, args...) }

	// The partner's origin is allowed; the API hands out the iframe snippet.
	partnerOrigin := ""
	partner := partnerPage(t, "", service) // replaced below once its origin is known
	partnerOrigin = localhostURL(partner)
	var embed struct {
		IFrame         string   `json:"iframe"`
		AllowedOrigins []string `json:"allowedOrigins"`
	}
	e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{partnerOrigin}}, nil).Want(200).Decode(&embed)
	if len(embed.AllowedOrigins) != 1 || embed.AllowedOrigins[0] != partnerOrigin {
		t.Fatalf("allowed origins %v", embed.AllowedOrigins)
	}
	iframe := embed.IFrame
	if lang == "en" {
		iframe = strings.Replace(iframe, "?embed=1", "?embed=1&amp;lang=en", 1)
	}
	partner.Close()
	partner = partnerPage(t, iframe, service)
	partnerOrigin = localhostURL(partner)
	e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{partnerOrigin}}, nil).Want(200)

	// A customer enrolls inside the partner's page.
	tab := newTab(t)
	run(t, tab, "open the partner page", chromedp.Navigate(partnerOrigin+"/"))
	waitIn(t, tab, `input[type=tel][autocomplete=tel]`)
	shoot(t, tab, lang+"-partner-enroll")
	run(t, tab, "fill the form",
		chromedp.SendKeys(chromedp.CSS("#phone"), "8 912 000-11-22", inFrame(t, tab)),
		chromedp.Click(chromedp.CSS("#terms"), inFrame(t, tab)),
		chromedp.Click(chromedp.CSS("button[type=submit]"), inFrame(t, tab)))
	waitIn(t, tab, `input[autocomplete=one-time-code]`)
	shoot(t, tab, lang+"-partner-code")
	code := e.Sender.LastCode(t, "+79120001122")
	run(t, tab, "enter the code", chromedp.SendKeys(chromedp.CSS("#code"), code+"\n", inFrame(t, tab)))
	waitIn(t, tab, "#card-number")
	card := textIn(t, tab, "#card-number")
	if len(card) != 16 {
		t.Fatalf("card number %q", card)
	}
	if got := textIn(t, tab, "h1"); got != tr("done.title") {
		t.Errorf("title %q, want %q", got, tr("done.title"))
	}
	if got := textIn(t, tab, "#wallet-apple"); got != tr("wallet.apple") {
		t.Errorf("Apple Wallet button %q in the enrollment result", got)
	}
	shoot(t, tab, lang+"-partner-done")
	// The parent was told, at its own origin.
	waitText(t, tab, "#outcome", "loyalty:enrolled")
	// And no cookie was needed: the service set none in the frame.
	cookies, err := chromedp.Call(tab, network.GetCookies, network.GetCookiesParams{URLs: []string{service + "/j/"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 0 {
		t.Errorf("the enrollment set cookies: %v", cookies.Cookies)
	}

	// Points from an earlier order paid in money: 5 % of 1 000.00 = 50 points.
	var m struct {
		MemberID string `json:"memberId"`
	}
	e.Do("GET", "/v1/members?card="+card, nil, nil).Want(200).Decode(&m)
	e.Close("earlier-"+lang, m.MemberID, 100000).Want(200)

	// The customer signs in on the card page.
	cardTab := newTab(t)
	q := ""
	if lang == "en" {
		q = "?lang=en"
	}
	run(t, cardTab, "open the card page", chromedp.Navigate(service+"/c/"+e.Slug+q),
		chromedp.WaitVisible(chromedp.CSS(`input[type=tel]`)))
	shoot(t, cardTab, lang+"-card-signin")
	run(t, cardTab, "ask for a code",
		chromedp.SendKeys(chromedp.CSS("#phone"), "+7 912 000 11 22"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`input[autocomplete=one-time-code]`)))
	run(t, cardTab, "sign in",
		chromedp.SendKeys(chromedp.CSS("#code"), e.Sender.LastCode(t, "+79120001122")),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#balance-available")))
	if got := text(t, cardTab, "#card-number"); got != card {
		t.Errorf("card page shows %q, want %q", got, card)
	}
	if got := text(t, cardTab, "#balance-available"); got != "50" {
		t.Errorf("available %q, want 50", got)
	}
	for sel, want := range map[string]string{"#wallet-apple": tr("wallet.apple"), "#wallet-google": tr("wallet.google")} {
		if got := text(t, cardTab, sel); got != want {
			t.Errorf("%s says %q, want %q", sel, got, want)
		}
	}
	shoot(t, cardTab, lang+"-card")

	// A cashier finds the member by card number (a scanner types the
	// digits and Enter), redeems 20 points on a 200.00 order and closes it.
	var pos struct {
		ID string `json:"pointOfSaleId"`
	}
	e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Main street"}, nil).Want(201).Decode(&pos)
	var staff struct {
		APIKey string `json:"apiKey"`
	}
	e.Do("POST", "/v1/staff", map[string]any{"name": "Anna", "role": "cashier", "pointOfSaleId": pos.ID}, nil).Want(201).Decode(&staff)
	till := newTab(t)
	run(t, till, "open the till", chromedp.Navigate(service+"/cashier"+q), chromedp.WaitVisible(chromedp.CSS(`input[type=password][autocomplete=current-password]`)))
	shoot(t, till, lang+"-cashier-signin")
	run(t, till, "sign in",
		chromedp.SendKeys(chromedp.CSS("#key"), staff.APIKey),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`input[type=search][name=q]`)),
		chromedp.SendKeys(chromedp.CSS("#q"), card+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#member-card")))
	if got := text(t, till, "#member-card"); got != card {
		t.Fatalf("found %q, want %q", got, card)
	}
	run(t, till, "redeem",
		chromedp.SendKeys(chromedp.CSS("#total"), "200"),
		chromedp.SendKeys(chromedp.CSS("#points"), "20"),
		chromedp.Click(chromedp.CSS(`button[value=redeem]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role=status]`)))
	if got, want := text(t, till, "[role=status]"), tr("cashier.redeemed", "20"); got != want {
		t.Fatalf("after redeem %q, want %q", got, want)
	}
	shoot(t, till, lang+"-cashier-redeemed")
	run(t, till, "close", chromedp.Click(chromedp.CSS(`button[value=close]`)), chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitVisible(chromedp.CSS(`[role=status]`)))
	// 200.00 − 20 points paid in money: 180.00 earns 5 % = 9 points.
	if got, want := text(t, till, "[role=status]"), tr("cashier.closed", "20", "9"); got != want {
		t.Fatalf("after close %q, want %q", got, want)
	}
	shoot(t, till, lang+"-cashier-closed")

	// The card page shows the new balance: 50 − 20 + 9.
	run(t, cardTab, "reload the card", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#balance-available")))
	if got := text(t, cardTab, "#balance-available"); got != "39" {
		t.Errorf("available after the order %q, want 39", got)
	}
	if got := text(t, cardTab, ".history li:first-child .amount"); got != "+9" {
		t.Errorf("newest history line %q, want +9", got)
	}
	// The capture at close shows the 20 points spent from the hold.
	if got := text(t, cardTab, ".history li:nth-child(2) .amount"); got != "20" {
		t.Errorf("capture line %q, want 20", got)
	}
	// Tier progress: 1 000.00 + 200.00 of 3 000.00 spent: 1 800.00 to go.
	if got := text(t, cardTab, "#tier-current"); got != "Base" {
		t.Errorf("tier %q, want Base", got)
	}
	if got, want := text(t, cardTab, "#tier-next"), tr("tier.next", "Silver"); got != want {
		t.Errorf("next tier %q, want %q", got, want)
	}
	left := map[string]string{"ru": "Осталось 1\u00a0800 ₽ покупок за 30 дней", "en": "1,800 more to spend in 30 days"}[lang]
	if got := text(t, cardTab, "#tier-progress label"); got != left {
		t.Errorf("tier goal %q, want %q", got, left)
	}
	bar, err := chromedp.Run(cardTab, chromedp.Attributes(chromedp.CSS("#tier-goal-0")))
	if err != nil {
		t.Fatal(err)
	}
	if bar["value"] != "120000" || bar["max"] != "300000" {
		t.Errorf("progress %s of %s, want 120000 of 300000", bar["value"], bar["max"])
	}
	shoot(t, cardTab, lang+"-card-after")

	// The till lists the close once the feed has carried it: the accrual
	// and the capture of this order, newest first, the card masked.
	e.Drain()
	run(t, till, "open the till again", chromedp.Navigate(service+"/cashier"+q), chromedp.WaitVisible(chromedp.CSS("#recent-ops")))
	var lines []string
	lines, err = chromedp.Run(till, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#recent-ops li")].map(li => li.innerText.replace(/\s+/g, " ").trim())`))
	if err != nil {
		t.Fatal(err)
	}
	masked := "•• " + card[12:]
	wantLines := []string{tr("kind.accrue") + " · " + masked, tr("kind.capture") + " · " + masked, tr("kind.redeem") + " · " + masked}
	if len(lines) != 3 {
		t.Fatalf("recent operations %q, want 3 lines", lines)
	}
	for i, w := range wantLines {
		if !strings.Contains(lines[i], w) {
			t.Errorf("recent line %d %q, want %q in it", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[0], "+9") || !strings.HasSuffix(lines[1], "20") || !strings.HasSuffix(lines[2], "−20") {
		t.Errorf("recent amounts %q, want +9, 20, −20", lines)
	}
	shoot(t, till, lang+"-cashier-recent")

	// A form whose CSRF token was tampered with is refused, readably.
	run(t, till, "tamper with the token",
		chromedp.SetValue(chromedp.CSS(`#q`), card),
		chromedp.SetValue(chromedp.CSS(`form.find input[name=csrf]`), "forged"),
		chromedp.Click(chromedp.CSS(`form.find button[type=submit]`)))
	waitText(t, till, "h1", tr("csrf.title"))
	shoot(t, till, lang+"-csrf-refused")

	// An unknown tenant is a 404 page in the page's language.
	run(t, cardTab, "unknown slug", chromedp.Navigate(service+"/j/no-such-shop"+q))
	waitText(t, cardTab, "h1", tr("notFound.title"))
	shoot(t, cardTab, lang+"-not-found")
}

// waitText waits until sel's text is want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		// A page being replaced may lose the node under the query: try again.
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if got = strings.TrimSpace(s); err == nil && got == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s says %q, want %q", sel, got, want)
}
