package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/web"
)

// consoleSignIn signs a page client in to the console with key.
func consoleSignIn(t *testing.T, p *page, key string) {
	t.Helper()
	r := p.get("/console")
	state := hidden(t, r.body, "state")
	r = p.post("/console", url.Values{"action": {"signin"}, "state": {state}, "key": {key}})
	if r.status != 200 || !strings.Contains(r.body, `id="who"`) {
		t.Fatalf("sign in: %d %.300s", r.status, r.body)
	}
}

// hidden reads a hidden field of a page.
func hidden(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden %s in %.400s", name, body)
	}
	return m[1]
}

// consoleForm posts a console form with the page's CSRF token and form key.
func consolePost(p *page, path string, from resp, fields url.Values) resp {
	p.t.Helper()
	fields.Set("csrf", hidden(p.t, from.body, "csrf"))
	if !fields.Has("formKey") {
		fields.Set("formKey", hidden(p.t, from.body, "formKey"))
	}
	return p.post(path, fields)
}

var unresolved = regexp.MustCompile(`console\.[a-z]+\.[a-zA-Z.]+`)

func TestConsoleOverHTTP(t *testing.T) {
	e := apitest.New(t)
	p := newPage(t, e)
	consoleSignIn(t, p, e.APIKey)
	m := e.Enroll("+79120003344")

	t.Run("every section renders in both languages", func(t *testing.T) {
		for _, s := range []string{"", "/programs", "/staff", "/members", "/bulk", "/reports", "/data", "/settings", "/audit", "/members/" + m.ID} {
			for _, lang := range []string{"ru", "en"} {
				r := p.get("/console" + s + "?lang=" + lang)
				if r.status != 200 {
					t.Fatalf("%s: %d %.300s", s, r.status, r.body)
				}
				if k := unresolved.FindString(r.body); k != "" {
					t.Errorf("%s %s: message %s has no text", s, lang, k)
				}
				csp := r.header.Get("Content-Security-Policy")
				if strings.Contains(csp, "unsafe-inline") || !strings.HasSuffix(csp, "frame-ancestors 'none'") || r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("%s headers %v", s, r.header)
				}
			}
		}
	})

	t.Run("a forged CSRF token is refused", func(t *testing.T) {
		before := e.Balance(m.ID).Available
		r := p.post("/console/members/"+m.ID, url.Values{"csrf": {"forged"}, "formKey": {"k"}, "action": {"adjust"}, "points": {"5"}, "reason": {"x"}})
		if r.status != 403 || e.Balance(m.ID).Available != before {
			t.Fatalf("forged token: %d", r.status)
		}
		if r := p.get("/console/nope"); r.status != 404 {
			t.Errorf("unknown section: %d", r.status)
		}
		if r := newPage(t, e).get("/console/data/members.csv"); r.status != 200 || !strings.Contains(r.body, `type="password"`) {
			t.Errorf("an export without a session: %d", r.status)
		}
	})

	t.Run("an invalid tier combination is refused next to the field", func(t *testing.T) {
		form := p.get("/console/programs")
		r := consolePost(p, "/console/programs", form, url.Values{"action": {"create"}, "name": {"Tiers"}, "type": {"bonus"},
			"cashbackPercent": {"5"}, "maxRedeemPercent": {"30"}, "tierRows": {"2"},
			"tiers-0-name": {"Silver"}, "tiers-0-priority": {"1"}, "tiers-0-qualify-period": {"P30D"},
			"tiers-1-name": {"Gold"}, "tiers-1-priority": {"1"}, "tiers-1-qualify-period": {"P30D"}})
		if r.status != 422 || !strings.Contains(r.body, `id="tiers-1-priority" name="tiers-1-priority" type="text" inputmode="numeric" maxlength="3" value="1" aria-invalid="true" aria-describedby="tiers-1-priority-error"`) ||
			!strings.Contains(r.body, `role="alert" id="tiers-1-priority-error"`) {
			t.Fatalf("duplicate priority: %d %s", r.status, r.body)
		}
		// The typed form comes back; nothing was created.
		if !strings.Contains(r.body, `value="Gold"`) || strings.Contains(r.body, `<a href="/console/programs/p_`) && strings.Contains(r.body, ">Tiers</a>") {
			t.Error("the form was not kept, or a program was created")
		}
		r = consolePost(p, "/console/programs", form, url.Values{"action": {"create"}, "name": {"Bad"}, "type": {"bonus"},
			"cashbackPercent": {"150"}, "tierRows": {"0"}})
		if r.status != 422 || !strings.Contains(r.body, `id="cashbackPercent-error"`) {
			t.Fatalf("150 %%: %d %.500s", r.status, r.body)
		}
		r = consolePost(p, "/console/programs", form, url.Values{"action": {"create"}, "name": {"Bad"}, "type": {"bonus"},
			"cashbackPercent": {"five"}, "tierRows": {"0"}})
		if r.status != 422 || !strings.Contains(r.body, `id="cashbackPercent-error"`) {
			t.Fatalf("not a number: %d", r.status)
		}
		var list struct {
			Programs []struct{ Name string } `json:"programs"`
		}
		e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
		if len(list.Programs) != 1 {
			t.Errorf("programs after refused forms: %v", list.Programs)
		}
	})

	t.Run("one form creates one program; the type is locked once cards exist", func(t *testing.T) {
		form := p.get("/console/programs")
		f := func() url.Values {
			return url.Values{"action": {"create"}, "name": {"Discount"}, "type": {"discount"}, "discountPercent": {"5"}, "tierRows": {"0"}}
		}
		r1 := consolePost(p, "/console/programs", form, f())
		r2 := consolePost(p, "/console/programs", form, f())
		if r1.status != 200 || r2.status != 200 {
			t.Fatalf("create: %d %d", r1.status, r2.status)
		}
		var list struct {
			Programs []struct {
				ID   string `json:"programId"`
				Name string `json:"name"`
			} `json:"programs"`
		}
		e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
		id, n := "", 0
		for _, pr := range list.Programs {
			if pr.Name == "Discount" {
				id, n = pr.ID, n+1
			}
		}
		if n != 1 {
			t.Fatalf("%d programs from one form", n)
		}
		// Members hold bonus cards: a discount program cannot start.
		r := consolePost(p, "/console/programs", r2, url.Values{"action": {"activate"}, "program": {id}})
		if r.status != 422 || !strings.Contains(r.body, `id="form-error">`+web.TFor("ru", "console.err.typeLocked")) {
			t.Fatalf("activate a discount program: %d %.600s", r.status, r.body)
		}
	})

	t.Run("adjust twice with one form is one change", func(t *testing.T) {
		card := p.get("/console/members/" + m.ID)
		before := e.Balance(m.ID).Available
		f := url.Values{"action": {"adjust"}, "points": {"25"}, "reason": {"goodwill"}}
		r1 := consolePost(p, "/console/members/"+m.ID, card, f)
		r2 := consolePost(p, "/console/members/"+m.ID, card, url.Values{"action": {"adjust"}, "points": {"25"}, "reason": {"goodwill"}})
		if r1.status != 200 || r2.status != 200 || !strings.Contains(r2.body, web.TFor("ru", "cashier.replayed")) {
			t.Fatalf("adjust: %d %d %.300s", r1.status, r2.status, r2.body)
		}
		if got := e.Balance(m.ID).Available - before; got != 2500 {
			t.Errorf("balance changed by %d, want 2500", got)
		}
		// No reason: the domain refuses, next to the field, nothing changed.
		r := consolePost(p, "/console/members/"+m.ID, p.get("/console/members/"+m.ID), url.Values{"action": {"adjust"}, "points": {"5"}, "reason": {""}})
		if r.status != 422 || !strings.Contains(r.body, `id="reason-error"`) {
			t.Errorf("adjust without a reason: %d", r.status)
		}
		if got := e.Balance(m.ID).Available - before; got != 2500 {
			t.Errorf("after a refused adjustment the balance moved by %d", got)
		}
	})

	t.Run("a bulk accrual with an empty selection changes nothing", func(t *testing.T) {
		form := p.get("/console/bulk")
		before := e.Balance(m.ID).Available
		r := consolePost(p, "/console/bulk", form, url.Values{"action": {"preview"}, "points": {"10"}, "reason": {"promo"}, "period": {"P30D"}, "spendFrom": {"100000"}})
		if r.status != 422 || !strings.Contains(r.body, web.TFor("ru", "console.err.emptySelection")) || strings.Contains(r.body, `id="run"`) {
			t.Fatalf("empty preview: %d %.400s", r.status, r.body)
		}
		r = consolePost(p, "/console/bulk", form, url.Values{"action": {"run"}, "points": {"10"}, "reason": {"promo"}, "period": {"P30D"}, "spendFrom": {"100000"}})
		if r.status != 422 || e.Balance(m.ID).Available != before {
			t.Fatalf("empty run: %d, balance %d → %d", r.status, before, e.Balance(m.ID).Available)
		}
		r = consolePost(p, "/console/bulk", form, url.Values{"action": {"preview"}, "points": {"10"}, "reason": {"promo"}, "period": {"P1Y"}})
		if r.status != 422 || !strings.Contains(r.body, `id="period-error"`) {
			t.Errorf("a period over 92 days: %d", r.status)
		}
	})

	t.Run("an import with bad rows reports them", func(t *testing.T) {
		form := p.get("/console/data")
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range map[string]string{"csrf": hidden(t, form.body, "csrf"), "formKey": "k1", "action": "members"} {
			_ = mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "members.csv")
		_, _ = fw.Write([]byte("phone,name,points\n+79120005566,Ivan,10\nnot-a-phone,Bad,5\n+79120005577,Olga,-3\n"))
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.Server.URL+"/console/data", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		r := p.do(req)
		if r.status != 200 || !strings.Contains(r.body, `id="failed-rows"`) || !strings.Contains(r.body, web.TFor("ru", "console.data.membersDone", 1, 0, 2)) {
			t.Fatalf("import: %d %s", r.status, r.body)
		}
		csv := p.get("/console/data/members.csv")
		if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.body, "+79120005566") {
			t.Errorf("export: %d %v %.200s", csv.status, csv.header, csv.body)
		}
	})

	t.Run("an admin is refused what only the owner may do", func(t *testing.T) {
		var staff struct {
			APIKey string `json:"apiKey"`
		}
		e.Do("POST", "/v1/staff", map[string]any{"name": "Admin", "role": "admin"}, nil).Want(201).Decode(&staff)
		a := newPage(t, e)
		consoleSignIn(t, a, staff.APIKey)
		sp := a.get("/console/staff")
		if strings.Contains(sp.body, `<option value="admin"`) {
			t.Error("an admin is offered to appoint admins")
		}
		r := consolePost(a, "/console/staff", sp, url.Values{"action": {"staff"}, "staffName": {"Boss"}, "role": {"admin"}})
		if r.status != 403 || !strings.Contains(r.body, web.TFor("ru", "console.err.forbidden")) || strings.Contains(r.body, `id="new-key"`) {
			t.Fatalf("admin appoints an admin: %d %.300s", r.status, r.body)
		}
		if st := a.get("/console/settings"); strings.Contains(st.body, `name="origins"`) {
			t.Error("an admin is shown the embedding form")
		}
		r = consolePost(a, "/console/settings", a.get("/console/settings"), url.Values{"action": {"embed"}, "origins": {"https://evil.example"}})
		if r.status != 403 {
			t.Errorf("admin sets embedding: %d", r.status)
		}
		var emb struct {
			AllowedOrigins []string `json:"allowedOrigins"`
		}
		e.Do("GET", "/v1/embed", nil, nil).Want(200).Decode(&emb)
		if len(emb.AllowedOrigins) != 0 {
			t.Errorf("origins changed by an admin: %v", emb.AllowedOrigins)
		}
	})

	t.Run("a cashier's key and an expired session are refused", func(t *testing.T) {
		var pos struct {
			ID string `json:"pointOfSaleId"`
		}
		e.Do("POST", "/v1/points-of-sale", map[string]any{"name": "Till"}, nil).Want(201).Decode(&pos)
		var staff struct {
			APIKey string `json:"apiKey"`
		}
		e.Do("POST", "/v1/staff", map[string]any{"name": "Kate", "role": "cashier", "pointOfSaleId": pos.ID}, nil).Want(201).Decode(&staff)
		c := newPage(t, e)
		r := c.get("/console")
		r = c.post("/console", url.Values{"action": {"signin"}, "state": {hidden(t, r.body, "state")}, "key": {staff.APIKey}})
		if r.status != 403 || !strings.Contains(r.body, web.TFor("ru", "console.err.cashier")) {
			t.Fatalf("cashier key: %d", r.status)
		}
		card := p.get("/console/members/" + m.ID)
		before := e.Balance(m.ID).Available
		e.Clock.Advance(9 * 60 * 60 * 1e9) // past the session's 8 hours
		r = consolePost(p, "/console/members/"+m.ID, card, url.Values{"action": {"adjust"}, "points": {"5"}, "reason": {"late"}})
		if r.status != 401 || !strings.Contains(r.body, web.TFor("ru", "console.expired")) || !strings.Contains(r.body, `type="password"`) {
			t.Fatalf("expired session: %d %.300s", r.status, r.body)
		}
		if e.Balance(m.ID).Available != before {
			t.Error("an expired session changed the balance")
		}
	})
}

// A program's form reads back what it shows: saving it unchanged keeps
// every number (thousands and decimals in both languages).
func TestConsoleProgramFormRoundTrip(t *testing.T) {
	e := apitest.New(t)
	p := newPage(t, e)
	consoleSignIn(t, p, e.APIKey)
	form := p.get("/console/programs")
	r := consolePost(p, "/console/programs", form, url.Values{"action": {"create"}, "name": {"Round"}, "type": {"bonus"},
		"cashbackPercent": {"7,5"}, "maxRedeemPercent": {"30"}, "welcomePoints": {"1500,25"}, "tierRows": {"1"},
		"tiers-0-name": {"Gold"}, "tiers-0-priority": {"1"}, "tiers-0-qualify-period": {"P30D"}, "tiers-0-qualify-spend": {"12345,67"}})
	if r.status != 200 {
		t.Fatalf("create: %d", r.status)
	}
	id := regexp.MustCompile(`href="/console/programs/(p_[a-z0-9]+)">Round<`).FindStringSubmatch(r.body)
	if id == nil {
		t.Fatal("no link to the new program")
	}
	for _, lang := range []string{"en", "ru"} {
		pg := p.get("/console/programs/" + id[1] + "?lang=" + lang)
		vals := url.Values{"action": {"save"}, "lang": {lang}}
		for _, m := range regexp.MustCompile(`<input id="[^"]+" name="([^"]+)" type="(?:text|url)"[^>]*value="([^"]*)"`).FindAllStringSubmatch(pg.body, -1) {
			vals.Set(m[1], m[2])
		}
		vals.Set("type", "bonus")
		vals.Set("returnSpentOnRefund", "on")
		vals.Set("tierRows", hidden(t, pg.body, "tierRows"))
		if s := consolePost(p, "/console/programs/"+id[1], pg, vals); s.status != 200 {
			t.Fatalf("%s: save unchanged: %d %.400s", lang, s.status, s.body)
		}
		var got struct {
			CashbackPercent float64 `json:"cashbackPercent"`
			WelcomeBonus    struct {
				Points int64 `json:"points"`
			} `json:"welcomeBonus"`
			Tiers []struct {
				Qualify struct {
					Spend int64 `json:"spend"`
				} `json:"qualify"`
			} `json:"tiers"`
		}
		e.Do("GET", "/v1/programs/"+id[1], nil, nil).Want(200).Decode(&got)
		if got.CashbackPercent != 7.5 || got.WelcomeBonus.Points != 150025 || len(got.Tiers) != 1 || got.Tiers[0].Qualify.Spend != 1234567 {
			t.Errorf("%s: after saving unchanged %+v", lang, got)
		}
	}
}
