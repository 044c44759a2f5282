package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Bad input gets a 4xx problem with a stable code and changes nothing; what
// the OpenAPI document refuses, the API refuses too. Each test below states
// one kind of bad input that used to be accepted (issue 16, point 6).

// refused asserts a problem with the status and code.
func refused(t *testing.T, r *apitest.Response, status int, code, what string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
}

// schemaRefuses asserts that the OpenAPI document itself refuses a request,
// so the API's refusal is the contract's, not a handler's whim.
func schemaRefuses(t *testing.T, method, target, body string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://shop.test"+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	errs, err := apitest.RequestContractErrors(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Errorf("the document accepts %s %s %s", method, target, body)
	}
}

// ledgerLen is the number of a member's ledger entries.
func ledgerLen(e *apitest.Env, memberID string) int {
	e.T.Helper()
	var l struct {
		Entries []map[string]any `json:"entries"`
	}
	e.Do("GET", "/v1/members/"+memberID+"/ledger?limit=200", nil, nil).Want(200).Decode(&l)
	return len(l.Entries)
}

// listLen is the length of the list under key of a GET.
func listLen(e *apitest.Env, path, key string) int {
	e.T.Helper()
	l, _ := e.Do("GET", path, nil, nil).Want(200).JSON()[key].([]any)
	return len(l)
}

// usageTotal is the tenant's metered operations this month.
func usageTotal(e *apitest.Env) float64 {
	e.T.Helper()
	return e.Do("GET", "/v1/usage", nil, nil).Want(200).JSON()["total"].(float64)
}

// Invalid UTF-8, raw or as a lone surrogate escape, used to be stored as
// U+FFFD. Every JSON body is checked before decoding: 400 invalid_request,
// nothing written.
func TestInvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001602")
	e.Close("o-1", m.ID, 10000).Want(200)
	bal, entries, pos := e.Balance(m.ID), ledgerLen(e, m.ID), listLen(e, "/v1/points-of-sale", "pointsOfSale")
	sent := len(e.Sender.Sent)
	for _, bad := range []string{"\xff", "caf\xc3", "\xed\xa0\x80", `\ud800`, `\udc00x`, `\ud800\u0041`} {
		refused(t, e.Do("POST", "/v1/points-of-sale", `{"name":"shop `+bad+`"}`, nil), 400, "invalid_request", "point of sale name "+bad)
		refused(t, e.Do("POST", "/v1/members/"+m.ID+"/adjustments", `{"points":100,"reason":"gift `+bad+`"}`, apitest.Key()),
			400, "invalid_request", "adjustment reason "+bad)
		refused(t, e.Do("POST", "/v1/enrollments", `{"phone":"+79120001603","consent":{"terms":true},"profile":{"name":"`+bad+`"}}`, nil),
			400, "invalid_request", "profile name "+bad)
		refused(t, e.Do("POST", "/v1/orders/o-2/close", `{"member":{"id":"`+m.ID+`"},"total":1000,"items":[{"sku":"`+bad+`","amount":1000}]}`, apitest.Key()),
			400, "invalid_request", "item sku "+bad)
		// A key may be invalid as well as a value.
		refused(t, e.Do("POST", "/v1/points-of-sale", `{"name":"shop","`+bad+`":1}`, nil), 400, "invalid_request", "key "+bad)
	}
	if b := e.Balance(m.ID); b != bal || ledgerLen(e, m.ID) != entries {
		t.Fatalf("balance %+v → %+v, ledger %d → %d", bal, b, entries, ledgerLen(e, m.ID))
	}
	if n := listLen(e, "/v1/points-of-sale", "pointsOfSale"); n != pos {
		t.Fatalf("points of sale %d → %d", pos, n)
	}
	if len(e.Sender.Sent) != sent {
		t.Fatal("a refused enrollment sent a code")
	}
	// Valid escapes and multi-byte text still pass.
	e.Do("POST", "/v1/points-of-sale", `{"name":"Кофе \u2615 \ud83d\ude00 \"quoted\""}`, nil).Want(201)
}

// Duplicate keys at any depth used to be read last-one-wins (the body
// hashed for idempotency said one thing, the order another). Refused as
// malformed, nothing written.
func TestDuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001604")
	other := e.Enroll("+79120001605")
	e.Close("o-1", m.ID, 10000).Want(200)
	bal, entries := e.Balance(m.ID), ledgerLen(e, m.ID)
	progs := listLen(e, "/v1/programs", "programs")
	id := `"` + m.ID + `"`
	cases := map[string]string{
		"top level":        `{"member":{"id":` + id + `},"total":1000,"total":1000000}`,
		"nested":           `{"member":{"id":` + id + `,"id":"` + other.ID + `"},"total":1000}`,
		"escaped the same": `{"member":{"id":` + id + `},"total":1000,"\u0074otal":1000000}`,
		"in an array item": `{"member":{"id":` + id + `},"total":1000,"items":[{"sku":"a","amount":500,"amount":1000}]}`,
	}
	for name, body := range cases {
		refused(t, e.Do("POST", "/v1/orders/o-2/close", body, apitest.Key()), 400, "invalid_request", name)
	}
	refused(t, e.Do("POST", "/v1/members/"+m.ID+"/adjustments", `{"points":1,"reason":"x","points":100000}`, apitest.Key()),
		400, "invalid_request", "adjustment")
	refused(t, e.Do("POST", "/v1/programs", `{"name":"p","type":"bonus","cashbackPercent":5,"maxRedeemPercent":50,`+
		`"tiers":[{"name":"t","priority":1,"qualify":{"period":"P30D","spend":1,"spend":2}}]}`, nil), 400, "invalid_request", "program tier")
	if b := e.Balance(m.ID); b != bal || ledgerLen(e, m.ID) != entries {
		t.Fatalf("balance %+v → %+v, ledger %d → %d", bal, b, entries, ledgerLen(e, m.ID))
	}
	if b := e.Balance(other.ID); b != (loyalty.Balance{}) {
		t.Fatalf("the other member's balance changed: %+v", b)
	}
	if n := listLen(e, "/v1/programs", "programs"); n != progs {
		t.Fatalf("programs %d → %d", progs, n)
	}
	// The same keys in sibling objects are not duplicates.
	e.Do("POST", "/v1/orders/o-3/close", `{"member":{"id":`+id+`},"total":1000,"items":[{"sku":"a","amount":500},{"sku":"b","amount":500}]}`, apitest.Key()).Want(200)
}

// Enrollment without consent, or without terms accepted, is the contract's
// 422 consent_required on both enrollment routes, whatever shape the
// missing consent takes, and sends nothing.
func TestEnrollmentWithoutConsent(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	sent := len(e.Sender.Sent)
	bodies := map[string]string{
		"no consent":     `{"phone":"+79120001606"}`,
		"consent null":   `{"phone":"+79120001606","consent":null}`,
		"empty consent":  `{"phone":"+79120001606","consent":{}}`,
		"terms null":     `{"phone":"+79120001606","consent":{"terms":null}}`,
		"terms false":    `{"phone":"+79120001606","consent":{"terms":false,"marketing":true}}`,
		"terms a string": `{"phone":"+79120001606","consent":{"terms":"yes"}}`,
		"consent a list": `{"phone":"+79120001606","consent":[true]}`,
	}
	for name, body := range bodies {
		refused(t, e.Do("POST", "/v1/enrollments", body, nil), 422, "consent_required", name)
		refused(t, e.Do("POST", "/v1/public/"+e.Slug+"/enrollments", body, map[string]string{"Authorization": ""}),
			422, "consent_required", "public, "+name)
	}
	if len(e.Sender.Sent) != sent {
		t.Fatal("an enrollment without consent sent a code")
	}
	// Other validation errors keep their own code.
	refused(t, e.Do("POST", "/v1/enrollments", `{"phone":"+79120001606","consent":{"terms":true},"channel":"fax"}`, nil),
		422, "validation_failed", "bad channel")
}

// An explicit null where the schema does not allow null is refused (422
// validation_failed), at any depth; nothing is written. Arrays, which the
// schema declares nullable, still take null.
func TestExplicitNullRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001607")
	e.Close("o-1", m.ID, 10000).Want(200)
	bal, entries := e.Balance(m.ID), ledgerLen(e, m.ID)
	pos := listLen(e, "/v1/points-of-sale", "pointsOfSale")
	staff := listLen(e, "/v1/staff", "staff")
	progs := listLen(e, "/v1/programs", "programs")

	cases := []struct{ name, method, path, body string }{
		{"bulk accrual limit", "POST", "/v1/bulk-accruals", `{"batchId":"b-1","points":100,"reason":"gift","limit":null}`},
		{"bulk accrual filter", "POST", "/v1/bulk-accruals", `{"batchId":"b-2","points":100,"reason":"gift","filter":null}`},
		{"bulk accrual filter field", "POST", "/v1/bulk-accruals", `{"batchId":"b-3","points":100,"reason":"gift","filter":{"spendFrom":null}}`},
		{"point of sale address", "POST", "/v1/points-of-sale", `{"name":"shop","address":null}`},
		{"staff point of sale", "POST", "/v1/staff", `{"name":"ann","role":"admin","pointOfSaleId":null}`},
		{"close moneyPaid", "POST", "/v1/orders/o-2/close", `{"member":{"id":"` + m.ID + `"},"total":1000,"moneyPaid":null}`},
		{"close member id", "POST", "/v1/orders/o-2/close", `{"member":{"id":"` + m.ID + `","card":null},"total":1000}`},
		{"item category", "POST", "/v1/orders/o-2/close", `{"member":{"id":"` + m.ID + `"},"total":1000,"items":[{"sku":"a","amount":1000,"category":null}]}`},
		{"program welcome bonus", "POST", "/v1/programs", `{"name":"p","type":"bonus","cashbackPercent":5,"maxRedeemPercent":50,"welcomeBonus":null}`},
		{"program tier percent", "POST", "/v1/programs", `{"name":"p","type":"bonus","cashbackPercent":5,"maxRedeemPercent":50,"tiers":[{"name":"t","priority":1,"cashbackPercent":null,"qualify":{"period":"P30D"}}]}`},
		{"program category map value", "POST", "/v1/programs", `{"name":"p","type":"bonus","cashbackPercent":5,"maxRedeemPercent":50,"categories":{"tea":null}}`},
		{"whole body", "POST", "/v1/points-of-sale", `null`},
	}
	for _, c := range cases {
		r := e.Do(c.method, c.path, c.body, apitest.Key())
		if r.Status != 422 && r.Status != 400 || r.Code() != "validation_failed" && r.Code() != "invalid_request" {
			t.Errorf("%s: %d %s, want 422 validation_failed", c.name, r.Status, r.Body)
		}
		if c.name != "whole body" {
			schemaRefuses(t, c.method, c.path, c.body)
		}
	}
	if b := e.Balance(m.ID); b != bal || ledgerLen(e, m.ID) != entries {
		t.Fatalf("balance %+v → %+v, ledger %d → %d", bal, b, entries, ledgerLen(e, m.ID))
	}
	if n := listLen(e, "/v1/points-of-sale", "pointsOfSale"); n != pos {
		t.Fatalf("points of sale %d → %d", pos, n)
	}
	if n := listLen(e, "/v1/staff", "staff"); n != staff {
		t.Fatalf("staff %d → %d", staff, n)
	}
	if n := listLen(e, "/v1/programs", "programs"); n != progs {
		t.Fatalf("programs %d → %d", progs, n)
	}
	// A nullable array still takes null.
	e.Do("POST", "/v1/orders/o-3/close", `{"member":{"id":"`+m.ID+`"},"total":1000,"items":null}`, apitest.Key()).Want(200)
}

// Quote refuses what its schema refuses: more items than maxItems, a phone
// longer than maxLength. It reads only, so nothing is metered either.
func TestQuoteRefusesWhatItsSchemaRefuses(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120001608")
	used := usageTotal(e)
	items := make([]string, 501)
	for i := range items {
		items[i] = `{"sku":"s","amount":1}`
	}
	cases := map[string]string{
		"501 items":        `{"member":{"id":"` + m.ID + `"},"total":1000,"items":[` + strings.Join(items, ",") + `]}`,
		"33-rune phone":    `{"member":{"phone":"+7 912 000 16 08` + strings.Repeat(" ", 17) + `"},"total":1000}`,
		"phone of 40":      `{"member":{"phone":"` + strings.Repeat("9", 40) + `"},"total":1000}`,
		"two member keys":  `{"member":{"id":"` + m.ID + `","card":"1"},"total":1000}`,
		"empty member ref": `{"member":{},"total":1000}`,
	}
	for name, body := range cases {
		refused(t, e.Do("POST", "/v1/orders/q-1/quote", body, nil), 422, "validation_failed", name)
		schemaRefuses(t, "POST", "/v1/orders/q-1/quote", body)
	}
	// More items than maxItems, each at its longest, is more than the API
	// reads at all: refused before parsing, with 413 (which schemathesis'
	// negative check did not count as a refusal; see scripts/schemathesis.toml).
	big := make([]string, 501)
	for i := range big {
		big[i] = `{"sku":"` + strings.Repeat("s", 128) + `","category":"` + strings.Repeat("c", 64) + `","amount":1}`
	}
	refused(t, e.Do("POST", "/v1/orders/q-1/quote", `{"member":{"id":"`+m.ID+`"},"total":1000,"items":[`+strings.Join(big, ",")+`]}`, nil),
		413, "body_too_large", "501 items of 128-character skus")
	if u := usageTotal(e); u != used {
		t.Fatalf("usage %v → %v", used, u)
	}
	e.Do("POST", "/v1/orders/q-1/quote", `{"member":{"phone":"+7 912 000 16 08"},"total":1000,"items":[`+strings.Join(items[:500], ",")+`]}`, nil).Want(200)
}
