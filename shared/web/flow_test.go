package web_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/web"
)

func TestCatalogueComplete(t *testing.T) {
	for k, m := range web.Messages {
		if strings.TrimSpace(m[0]) == "" || strings.TrimSpace(m[1]) == "" {
			t.Errorf("message %s lacks a language: %q", k, m)
		}
	}
}

// The pages over plain HTTP: headers, refusals and bad input, each with a
// readable message and nothing changed.
func TestPagesOverHTTP(t *testing.T) {
	e := apitest.New(t)
	p := newPage(t, e)
	enroll := "/j/" + e.Slug

	t.Run("headers and frame-ancestors", func(t *testing.T) {
		r := p.get(enroll)
		csp := r.header.Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, "frame-ancestors 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Referrer-Policy") == "" {
			t.Errorf("headers %v", r.header)
		}
		e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{"https://Shop.example", "http://localhost:8081"}}, nil).Want(200)
		csp = p.get(enroll).header.Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, "; frame-ancestors https://shop.example http://localhost:8081") {
			t.Errorf("CSP with allowed origins %q", csp)
		}
		// The cashier page is framed by nobody.
		if csp := p.get("/cashier").header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'none'") {
			t.Errorf("cashier CSP %q", csp)
		}
		e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{"https://shop.example/path"}}, nil).Want(422)
		e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{"*"}}, nil).Want(422)
		e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{}}, nil).Want(200)
		if csp := p.get(enroll).header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "frame-ancestors 'self'") {
			t.Errorf("CSP after clearing %q", csp)
		}
		emb := e.Do("GET", "/v1/embed", nil, nil).Want(200).JSON()
		if !strings.Contains(emb["iframe"].(string), e.Server.URL+enroll+"?embed=1") || !strings.Contains(emb["script"].(string), "/embed.js") {
			t.Errorf("snippets %v", emb)
		}
	})

	t.Run("404, language, assets, QR", func(t *testing.T) {
		r := p.get("/j/no-such-shop")
		if r.status != 404 || !strings.Contains(r.body, "Страница не найдена") {
			t.Errorf("unknown slug: %d %s", r.status, r.body)
		}
		r = p.get("/j/no-such-shop", "Accept-Language", "en-GB,en;q=0.9")
		if r.status != 404 || !strings.Contains(r.body, "Page not found") || !strings.Contains(r.body, `lang="en"`) {
			t.Errorf("unknown slug in English: %d %s", r.status, r.body)
		}
		css := strings.SplitN(strings.SplitN(p.get(enroll).body, `rel="stylesheet" href="`, 2)[1], `"`, 2)[0]
		a := p.get(css)
		if a.status != 200 || !strings.Contains(a.header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/css") {
			t.Errorf("asset %s: %d %v", css, a.status, a.header)
		}
		if p.get("/static/app.css").status != 404 {
			t.Error("an unhashed asset name is served")
		}
		png := p.get(enroll + "/qr.png")
		if png.status != 200 || png.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix([]byte(png.body), []byte("\x89PNG")) {
			t.Errorf("qr.png: %d %v", png.status, png.header)
		}
		if svg := p.get(enroll + "/qr.svg"); svg.status != 200 || !strings.HasPrefix(svg.body, "<svg") {
			t.Errorf("qr.svg: %d %.80s", svg.status, svg.body)
		}
	})

	t.Run("enrollment refusals keep what was typed", func(t *testing.T) {
		sent := len(e.Sender.Sent)
		r := p.post(enroll, url.Values{"step": {"start"}, "phone": {"+79120000001"}, "terms": {"on"}})
		if r.status != 403 || !strings.Contains(r.body, "Форма устарела") {
			t.Errorf("no form state: %d %s", r.status, r.body)
		}
		state := p.get(enroll).hidden(t, "state")
		r = p.post(enroll, url.Values{"state": {state}, "step": {"start"}, "phone": {"12"}, "name": {"Анна"}, "terms": {"on"}})
		if r.status != 422 || !strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, "Проверьте номер телефона") ||
			!strings.Contains(r.body, `value="Анна"`) || !strings.Contains(r.body, `value="12"`) {
			t.Errorf("invalid phone: %d %s", r.status, r.body)
		}
		r = p.post(enroll, url.Values{"state": {r.hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 00 01"}, "lang": {"en"}})
		if r.status != 422 || !strings.Contains(r.body, "please accept the program terms") || !strings.Contains(r.body, `value="&#43;7 912 000 00 01"`) {
			t.Errorf("no consent: %d %s", r.status, r.body)
		}
		if len(e.Sender.Sent) != sent {
			t.Errorf("refused forms sent %d messages", len(e.Sender.Sent)-sent)
		}
		// A double submit of one form sends one code.
		form := url.Values{"state": {r.hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 00 01"}, "terms": {"on"}}
		first, second := p.post(enroll, form), p.post(enroll, form)
		if first.status != 200 || second.status != 200 || first.hidden(t, "state") == "" || len(e.Sender.Sent) != sent+1 {
			t.Fatalf("double submit: %d %d, %d messages", first.status, second.status, len(e.Sender.Sent)-sent)
		}
		r = p.post(enroll, url.Values{"state": {first.hidden(t, "state")}, "step": {"verify"}, "code": {"0000"}})
		if r.status != 422 || !strings.Contains(r.body, "Неверный код. Осталось попыток: 4.") || !strings.Contains(r.body, `autocomplete="one-time-code"`) {
			t.Errorf("wrong code: %d %s", r.status, r.body)
		}
	})

	t.Run("card sign-in does not tell who is a member", func(t *testing.T) {
		sent := len(e.Sender.Sent)
		card := "/c/" + e.Slug
		r := p.post(card, url.Values{"state": {p.get(card).hidden(t, "state")}, "step": {"start"}, "phone": {"+7 912 000 00 09"}})
		if r.status != 200 || !strings.Contains(r.body, `autocomplete="one-time-code"`) || len(e.Sender.Sent) != sent {
			t.Fatalf("non-member: %d, %d messages\n%s", r.status, len(e.Sender.Sent)-sent, r.body)
		}
		r = p.post(card, url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {"1234"}})
		if r.status != 422 || !strings.Contains(r.body, "Неверный код") {
			t.Errorf("non-member code: %d %s", r.status, r.body)
		}
	})

	t.Run("a sign-in code signs in once; wrong codes run out", func(t *testing.T) {
		m := e.Enroll("+7 912 000 00 03")
		card := "/c/" + e.Slug
		member := newPage(t, e)
		r := member.post(card, url.Values{"state": {member.get(card).hidden(t, "state")}, "step": {"start"}, "phone": {"8 912 000-00-03"}})
		verify := url.Values{"state": {r.hidden(t, "state")}, "step": {"verify"}, "code": {e.Sender.LastCode(t, m.Phone)}}
		r = member.post(card, verify)
		if r.status != 200 || !strings.Contains(r.body, m.Card) || !strings.Contains(r.body, `id="balance-available"`) {
			t.Fatalf("sign in: %d %s", r.status, r.body)
		}
		// The same form again (another browser holding it): the code is spent.
		r = newPage(t, e).post(card, verify)
		if r.status != 422 || !strings.Contains(r.body, "уже использован") || strings.Contains(r.body, m.Card) {
			t.Errorf("code reused: %d %s", r.status, r.body)
		}
		// Five wrong codes lock the challenge; the right one no longer opens it.
		other := newPage(t, e)
		r = other.post(card, url.Values{"state": {other.get(card).hidden(t, "state")}, "step": {"start"}, "phone": {m.Phone}})
		state, code := r.hidden(t, "state"), e.Sender.LastCode(t, m.Phone)
		for i := 0; i < 5; i++ {
			r = other.post(card, url.Values{"state": {state}, "step": {"verify"}, "code": {"99999"}})
		}
		r = other.post(card, url.Values{"state": {state}, "step": {"verify"}, "code": {code}})
		if r.status != 422 || !strings.Contains(r.body, "Слишком много неверных кодов") || strings.Contains(r.body, m.Card) {
			t.Errorf("after five wrong codes: %d %s", r.status, r.body)
		}
		// Signing out ends the session.
		r = member.get(card)
		r = member.post(card, url.Values{"csrf": {r.hidden(t, "csrf")}, "step": {"signout"}})
		if r = member.get(card); strings.Contains(r.body, m.Card) || !strings.Contains(r.body, `type="tel"`) {
			t.Errorf("after sign-out: %s", r.body)
		}
	})

	t.Run("a cashier of another point of sale is refused readably", func(t *testing.T) {
		m := e.Enroll("+7 912 000 00 02")
		e.Close("pos-seed", m.ID, 100000).Want(200)
		key := func(pos string) string {
			id := e.Do("POST", "/v1/points-of-sale", map[string]any{"name": pos}, nil).Want(201).JSON()["pointOfSaleId"].(string)
			return e.Do("POST", "/v1/staff", map[string]any{"name": pos, "role": "cashier", "pointOfSaleId": id}, nil).Want(201).JSON()["apiKey"].(string)
		}
		first, second := key("First"), key("Second")
		e.Do("POST", "/v1/orders/o-first/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 1000},
			map[string]string{"Authorization": "Bearer " + first, "Idempotency-Key": "k-first"}).Want(200)
		till := newPage(t, e)
		r := till.post("/cashier", url.Values{"state": {till.get("/cashier").hidden(t, "state")}, "action": {"signin"}, "key": {second}})
		if r.status != 200 || !strings.Contains(r.body, `name="q"`) {
			t.Fatalf("sign in: %d %s", r.status, r.body)
		}
		csrf := r.hidden(t, "csrf")
		r = till.post("/cashier", url.Values{"csrf": {csrf}, "action": {"cancel"}, "member": {m.ID}, "formKey": {"fk1"}, "order": {"o-first"}})
		if r.status != 403 || !strings.Contains(r.body, "другой точки продаж") {
			t.Errorf("cancel at another point of sale: %d %s", r.status, r.body)
		}
		if b := e.Balance(m.ID); b.Held != 1000 {
			t.Errorf("the hold changed: %+v", b)
		}
		// At its own point of sale, a form sent twice redeems once.
		own := newPage(t, e)
		r = own.post("/cashier", url.Values{"state": {own.get("/cashier").hidden(t, "state")}, "action": {"signin"}, "key": {first}})
		form := url.Values{"csrf": {r.hidden(t, "csrf")}, "action": {"redeem"}, "member": {m.ID}, "formKey": {"fk-twice"}, "order": {"o-twice"}, "total": {"100"}, "points": {"5"}}
		one, two := own.post("/cashier", form), own.post("/cashier", form)
		if one.status != 200 || two.status != 200 || !strings.Contains(two.body, "повтор ничего не изменил") || strings.Contains(one.body, "повтор") {
			t.Errorf("double submit: %d %d\n%s", one.status, two.status, two.body)
		}
		if b := e.Balance(m.ID); b.Held != 1500 {
			t.Errorf("held after a double submit: %+v, want 1500", b)
		}
		// Without the session's token nothing runs.
		r = till.post("/cashier", url.Values{"csrf": {"forged"}, "action": {"find"}, "q": {m.Card}})
		if r.status != 403 {
			t.Errorf("forged token: %d", r.status)
		}
		// A wrong key is a readable refusal, no session.
		other := newPage(t, e)
		r = other.post("/cashier", url.Values{"state": {other.get("/cashier").hidden(t, "state")}, "action": {"signin"}, "key": {"lk_wrong"}})
		if r.status != 401 || !strings.Contains(r.body, "Ключ не подходит") || strings.Contains(r.header.Get("Set-Cookie"), "lc_cashier=ey") {
			t.Errorf("wrong key: %d %s", r.status, r.body)
		}
	})

	t.Run("the till issues a card to a new phone", func(t *testing.T) {
		till := newPage(t, e)
		r := till.post("/cashier", url.Values{"state": {till.get("/cashier").hidden(t, "state")}, "action": {"signin"}, "key": {e.APIKey}})
		csrf := r.hidden(t, "csrf")
		r = till.post("/cashier", url.Values{"csrf": {csrf}, "action": {"find"}, "q": {"8 912 000-00-07"}})
		if r.status != 422 || !strings.Contains(r.body, "Клиент не найден") || !strings.Contains(r.body, `value="issue"`) || !strings.Contains(r.body, `value="issue-link"`) {
			t.Fatalf("unknown phone: %d %s", r.status, r.body)
		}
		formKey := strings.SplitN(strings.SplitN(r.body, `name="formKey" value="`, 2)[1], `"`, 2)[0]
		issue := url.Values{"csrf": {csrf}, "action": {"issue"}, "formKey": {formKey}, "phone": {"+79120000007"}}
		r = till.post("/cashier", issue)
		if r.status != 422 || !strings.Contains(r.body, "примите условия") {
			t.Errorf("no consent: %d %s", r.status, r.body)
		}
		issue.Set("terms", "on")
		r = till.post("/cashier", issue)
		if r.status != 200 || !strings.Contains(r.body, `value="issue-verify"`) {
			t.Fatalf("issue: %d %s", r.status, r.body)
		}
		// Offline: a text with the form's link goes to another new phone.
		r2 := till.post("/cashier", url.Values{"csrf": {csrf}, "action": {"issue-link"}, "formKey": {formKey}, "phone": {"+79120000008"}})
		if r2.status != 200 || !strings.Contains(r2.body, "Ссылка на анкету отправлена") {
			t.Errorf("link: %d %s", r2.status, r2.body)
		}
		if last := e.Sender.Sent[len(e.Sender.Sent)-1]; last.To != "+79120000008" || !strings.Contains(last.Body, e.Server.URL+"/j/"+e.Slug) {
			t.Errorf("link message %+v", last)
		}
		challenge := strings.SplitN(strings.SplitN(r.body, `name="challenge" value="`, 2)[1], `"`, 2)[0]
		r = till.post("/cashier", url.Values{"csrf": {csrf}, "action": {"issue-verify"}, "formKey": {formKey}, "challenge": {challenge},
			"code": {e.Sender.LastCode(t, "+79120000007")}})
		if r.status != 200 || !strings.Contains(r.body, "выпущена") || !strings.Contains(r.body, `id="member-card"`) {
			t.Errorf("verify at the till: %d %s", r.status, r.body)
		}
	})

	t.Run("a stopped program takes nobody new", func(t *testing.T) {
		progs := e.Do("GET", "/v1/programs", nil, nil).Want(200).JSON()["programs"].([]any)
		id := progs[0].(map[string]any)["programId"].(string)
		e.Do("POST", "/v1/programs/"+id+"/stop", nil, nil).Want(200)
		r := p.get(enroll)
		if !strings.Contains(r.body, "не принимает новых участников") || strings.Contains(r.body, `type="tel"`) {
			t.Errorf("stopped program: %s", r.body)
		}
	})
}

// Whatever a form sends, a page answers with a readable page, never a 5xx:
// missing, forged, oversized and strange values on every page's POST.
func TestPagesRefuseAnyFormWithout5xx(t *testing.T) {
	e := apitest.New(t)
	p := newPage(t, e)
	enrollState := p.get("/j/"+e.Slug).hidden(t, "state")
	cardState := p.get("/c/"+e.Slug).hidden(t, "state")
	till := newPage(t, e)
	r := till.post("/cashier", url.Values{"state": {till.get("/cashier").hidden(t, "state")}, "action": {"signin"}, "key": {e.APIKey}})
	csrf := r.hidden(t, "csrf")
	long := strings.Repeat("9", 5000)
	values := []string{"", "0", "-1", "1e400", "\x00", "<script>", long, "+7 (912) 000-00-00", "9223372036854775807", "1,234.567", "ch_x.t_other"}
	fields := []string{"phone", "code", "email", "birthDate", "name", "q", "member", "order", "total", "points", "refund", "giftCard", "giftAmount", "formKey", "challenge", "lang"}
	for _, target := range []struct {
		path   string
		client *page
		base   url.Values
		steps  []string
	}{
		{"/j/" + e.Slug, p, url.Values{"state": {enrollState}}, []string{"start", "verify", "x"}},
		{"/c/" + e.Slug, p, url.Values{"state": {cardState}}, []string{"start", "verify", "signout", "x"}},
		{"/cashier", till, url.Values{"csrf": {csrf}}, []string{"find", "select", "quote", "redeem", "close", "cancel", "refund", "issue", "issue-verify", "issue-link", "x"}},
	} {
		for _, step := range target.steps {
			for i, v := range values {
				form := url.Values{}
				for k, vs := range target.base {
					form[k] = vs
				}
				form.Set("step", step)
				form.Set("action", step)
				for j, f := range fields {
					form.Set(f, values[(i+j)%len(values)])
				}
				form.Set(fields[i%len(fields)], v)
				if r := target.client.post(target.path, form); r.status >= 500 {
					t.Errorf("POST %s step %s: %d\n%.300s", target.path, step, r.status, r.body)
				}
			}
		}
	}
	// A body past the limit is refused before it is read.
	if r := p.post("/j/"+e.Slug, url.Values{"state": {enrollState}, "name": {strings.Repeat("x", 20000)}}); r.status != 400 {
		t.Errorf("oversized form: %d", r.status)
	}
}
