package api_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

// enrollWithCard enrolls a phone at the till handing out a physical card;
// it returns the verify response.
func enrollWithCard(e *apitest.Env, phone, card string) *apitest.Response {
	e.T.Helper()
	e.Clock.Advance(15 * time.Second) // within the codes a key may send a minute
	r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": phone, "card": card, "consent": map[string]any{"terms": true}}, nil)
	if r.Status != 201 {
		return r
	}
	e164, _ := libphone.Normalize(phone)
	return e.Do("POST", "/v1/enrollments/"+r.JSON()["challengeId"].(string)+"/verify", map[string]any{"code": e.Sender.LastCode(e.T, e164)}, nil)
}

func cardProgram(rule *loyalty.CardRule) *loyalty.Program {
	p := apitest.DefaultProgram()
	p.CardNumbers = rule
	return &p
}

// Auto numbers carry a Luhn check digit; a number of their shape with a
// wrong check digit is refused at lookup (a typo), not "not found".
func TestCardNumbersAuto(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79121110001")
	if !loyalty.ValidCardNumber(m.Card) || !loyalty.ClaimsOurs(m.Card) {
		t.Fatalf("auto card %s: no check digit", m.Card)
	}
	e.Do("GET", "/v1/members?card="+m.Card, nil, nil).Want(200)
	typo := m.Card[:15] + fmt.Sprint((int(m.Card[15]-'0')+1)%10)
	if r := e.Do("GET", "/v1/members?card="+typo, nil, nil); r.Status != 422 || r.Code() != "validation_failed" {
		t.Fatalf("typo at lookup: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/v1/orders/o1/close", map[string]any{"member": map[string]any{"card": typo}, "total": 1000}, apitest.Key()); r.Status != 422 {
		t.Fatalf("typo at close: %d %s", r.Status, r.Body)
	}
	// A number not of our shape is looked up as it is.
	if r := e.Do("GET", "/v1/members?card=12345678", nil, nil); r.Status != 404 {
		t.Fatalf("foreign number: %d %s", r.Status, r.Body)
	}
	// The cashier hands out a card: under auto it must carry its check digit.
	if r := enrollWithCard(e, "+79121110002", typo); r.Status != 422 {
		t.Fatalf("bad check digit accepted: %d %s", r.Status, r.Body)
	}
}

func TestCardNumbersPattern(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Program: cardProgram(&loyalty.CardRule{Mode: loyalty.CardsPattern, Pattern: `2000[1-3]\d{7}`})})
	re := regexp.MustCompile(`^2000[1-3][0-9]{7}$`)
	for i := 0; i < 5; i++ {
		e.Clock.Advance(15 * time.Second)
		m := e.Enroll(fmt.Sprintf("+7912222%04d", i))
		if !re.MatchString(m.Card) {
			t.Fatalf("drawn card %s does not match the pattern", m.Card)
		}
	}
	// A number the till gives must match the pattern.
	if r := enrollWithCard(e, "+79122229998", "200041234567"); r.Status != 422 || r.Code() != "validation_failed" {
		t.Fatalf("number outside the pattern: %d %s", r.Status, r.Body)
	}
	v := enrollWithCard(e, "+79122229999", "200021234567").Want(201).JSON()
	if v["cardNumber"] != "200021234567" {
		t.Fatalf("given number: %v", v)
	}
	// Bad patterns: 422, nothing saved.
	for _, bad := range []string{`[5-3]\d{8}`, `12\d{2}`, `\d{25}`, `ab\d{8}`, `[0-9\d{8}`, `\w{8}`, `12\d{3,2}`, ``, `1{0}`} {
		body := map[string]any{"name": "P", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 10, "cardNumbers": map[string]any{"mode": "pattern", "pattern": bad}}
		if r := e.Do("POST", "/v1/programs", body, apitest.Key()); r.Status != 422 || !strings.Contains(string(r.Body), "cardNumbers.pattern") {
			t.Errorf("pattern %q: %d %s", bad, r.Status, r.Body)
		}
	}
	body := map[string]any{"name": "P", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 10, "cardNumbers": map[string]any{"mode": "pattern", "pattern": `77[0-4]\d{6,8}`}}
	p := e.Do("POST", "/v1/programs", body, apitest.Key()).Want(201).JSON()
	if cn, _ := p["cardNumbers"].(map[string]any); cn["pattern"] != `77[0-4]\d{6,8}` {
		t.Fatalf("rule not kept: %v", p)
	}
}

// Imported cards: CSV import with bad rows reported, export, binding at
// enrollment and on replacement, at most once even under concurrency, and
// numbers outside the pool refused.
func TestCardNumbersImported(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Program: cardProgram(&loyalty.CardRule{Mode: loyalty.CardsImported})})
	before := e.Enroll("+79123330000") // enrolled without a card: a digital number
	var b strings.Builder
	b.WriteString("number\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "90000%05d\n", i)
	}
	b.WriteString("12ab34\n123\n9000000001\n7712345678901234\n\"1,2\",x\n")
	rep := e.Do("POST", "/v1/cards/import", b.String(), csvHeader).Want(200).JSON()
	if num(rep, "rows") != 35 || num(rep, "imported") != 30 || len(rep["failed"].([]any)) != 5 {
		t.Fatalf("import report: %v", rep)
	}
	failed := fmt.Sprint(rep["failed"])
	for _, want := range []string{"line:32", "line:33", "already on line 3", "check digit", "line:36"} {
		if !strings.Contains(failed, want) {
			t.Errorf("report lacks %q: %s", want, failed)
		}
	}
	again := e.Do("POST", "/v1/cards/import", "number\n9000000000\n9000000031\n", csvHeader).Want(200).JSON()
	if num(again, "imported") != 1 || num(again, "existing") != 1 {
		t.Fatalf("second import: %v", again)
	}
	if r := e.Do("POST", "/v1/cards/import", "numbr\n1234\n", csvHeader); r.Status != 422 {
		t.Fatalf("bad header: %d %s", r.Status, r.Body)
	}

	// Not in the pool: refused, nothing written.
	if r := enrollWithCard(e, "+79123330001", "5555444433"); r.Status != 422 || r.Code() != "card_not_in_pool" {
		t.Fatalf("number outside the pool: %d %s", r.Status, r.Body)
	}
	m := enrollWithCard(e, "+79123330001", "9000000005").Want(201).JSON()
	if m["cardNumber"] != "9000000005" {
		t.Fatalf("bound card: %v", m)
	}
	e.Do("GET", "/v1/members?card=9000000005", nil, nil).Want(200)
	if r := enrollWithCard(e, "+79123330002", "9000000005"); r.Status != 409 || r.Code() != "card_taken" {
		t.Fatalf("bound twice: %d %s", r.Status, r.Body)
	}

	// Ten tills hand out the same card at once (challenges started, then
	// verified together): exactly one member gets it.
	const n = 10
	chs, codes := make([]string, n), make([]string, n)
	for i := 0; i < n; i++ {
		phone := fmt.Sprintf("+7912444%04d", i)
		e.Clock.Advance(15 * time.Second)
		r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": phone, "card": "9000000007", "consent": map[string]any{"terms": true}}, nil).Want(201)
		chs[i], codes[i] = r.JSON()["challengeId"].(string), e.Sender.LastCode(t, phone)
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := e.Try("POST", "/v1/enrollments/"+chs[i]+"/verify", map[string]any{"code": codes[i]}, nil)
			if err == nil {
				statuses[i] = r.Status
			}
		}(i)
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case 201:
			won++
		case 409:
		default:
			t.Fatalf("concurrent binding answered %d", s)
		}
	}
	if won != 1 {
		t.Fatalf("card bound %d times: %v", won, statuses)
	}

	// Replacement with a physical card: binds it; the member who had a
	// digital number keeps their balance and takes the card.
	r := e.Do("POST", "/v1/members/"+before.ID+"/card", map[string]any{"number": "9000000009"}, nil).Want(200).JSON()
	if r["cardNumber"] != "9000000009" {
		t.Fatalf("replaced: %v", r)
	}
	if r := e.Do("POST", "/v1/members/"+before.ID+"/card", map[string]any{"number": "9000000005"}, nil); r.Status != 409 || r.Code() != "card_taken" {
		t.Fatalf("another member's card: %d %s", r.Status, r.Body)
	}
	if r := e.Do("POST", "/v1/members/"+before.ID+"/card", map[string]any{"number": "1111222233"}, nil); r.Status != 422 || r.Code() != "card_not_in_pool" {
		t.Fatalf("replacement outside the pool: %d %s", r.Status, r.Body)
	}

	// Export: every number once, the bound ones with their member.
	exp := e.Do("GET", "/v1/cards/export", nil, nil).Want(200)
	lines := strings.Split(strings.TrimSpace(string(exp.Body)), "\n")
	if len(lines) != 32 || lines[0] != "number,memberId,boundAt" {
		t.Fatalf("export: %d lines, header %q", len(lines), lines[0])
	}
	bound := 0
	for _, l := range lines[1:] {
		if f := strings.Split(l, ","); f[1] != "" {
			bound++
			if f[2] == "" {
				t.Fatalf("bound without a time: %s", l)
			}
		}
	}
	if bound != 3 || !strings.Contains(string(exp.Body), "9000000009,"+before.ID+",") {
		t.Fatalf("bound cards in export: %d\n%s", bound, exp.Body)
	}
	// The public route cannot claim pool cards.
	if r := e.Do("POST", "/v1/public/"+e.Slug+"/enrollments", map[string]any{"phone": "+79123339999", "card": "9000000010", "consent": map[string]any{"terms": true}}, nil); r.Status != 422 {
		t.Fatalf("public route with a card: %d %s", r.Status, r.Body)
	}
}
