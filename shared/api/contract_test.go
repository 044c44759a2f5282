package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/routes"
)

type document struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func generated(t *testing.T) (document, []byte) {
	t.Helper()
	j, _, err := api.Document()
	if err != nil {
		t.Fatal(err)
	}
	var d document
	if err := json.Unmarshal(j, &d); err != nil {
		t.Fatal(err)
	}
	return d, j
}

// The committed contract is exactly what the code produces: regenerate it
// with `make openapi` when an operation changes.
func TestCommittedDocumentIsCurrent(t *testing.T) {
	_, j := generated(t)
	committed, err := os.ReadFile("../../api/openapi.json")
	if err != nil {
		t.Fatalf("api/openapi.json is missing: run make openapi: %v", err)
	}
	if !bytes.Equal(committed, j) {
		t.Fatal("api/openapi.json differs from the code's document: run make openapi and commit the result")
	}
}

// Every route of the table is documented with its operation id, and every
// documented operation is in the table: neither can drift from the other.
func TestEveryRouteIsDocumentedAndEveryOperationServed(t *testing.T) {
	t.Parallel()
	d, _ := generated(t)
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", d.OpenAPI)
	}
	documented := map[string]string{}
	for path, ops := range d.Paths {
		for method, raw := range ops {
			var op struct {
				ID string `json:"operationId"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			documented[op.ID] = strings.ToUpper(method) + " " + path
		}
	}
	inTable := map[string]bool{}
	for _, r := range routes.Routes {
		if strings.HasPrefix(r.OperationID, "get-openapi-") || routes.IsPage(r) || routes.IsWalletService(r) {
			continue // serves the document or a page, or is a wallet's call: not an operation in it
		}
		inTable[r.OperationID] = true
		if got := documented[r.OperationID]; got != r.Method+" "+r.Path {
			t.Errorf("route %s %s (%s) documented as %q", r.Method, r.Path, r.OperationID, got)
		}
	}
	for id, where := range documented {
		if !inTable[id] {
			t.Errorf("documented operation %s (%s) is not in the route table", id, where)
		}
	}

	// And each one is served by the local server's mux (not its catch-all).
	e := apitest.New(t)
	for _, r := range routes.Routes {
		if routes.IsPage(r) {
			continue // HTML, tested in shared/web
		}
		path := r.Path
		for _, p := range []string{"{orderId}", "{memberId}", "{programId}", "{staffId}", "{challengeId}", "{tenantSlug}"} {
			path = strings.ReplaceAll(path, p, "x")
		}
		resp := e.Do(r.Method, path, nil, nil)
		if resp.Status == 404 && strings.Contains(string(resp.Body), "no such route") {
			t.Errorf("%s %s is not served", r.Method, r.Path)
		}
		if resp.Status >= 500 {
			t.Errorf("%s %s: %d %s", r.Method, path, resp.Status, resp.Body)
		}
	}
}

// The admin function serves the whole document, not only its own routes:
// the committed file, byte for byte the generated one, in JSON and YAML.
func TestDocumentServedByAdminFunction(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	srv := httptest.NewServer(e.App.Handler(routes.FnAdmin))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var d document
	if err != nil || resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if _, ok := d.Paths["/v1/orders/{orderId}/redeem"]; !ok {
		t.Fatal("the admin function's document lacks the redeem operation")
	}
	wantJSON, wantYAML, err := api.Document()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, wantJSON) {
		t.Error("/openapi.json differs from the generated document: run make openapi")
	}
	y, err := http.Get(srv.URL + "/openapi.yaml")
	if err != nil || y.StatusCode != 200 || y.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("yaml: %v %v", err, y)
	}
	gotYAML, err := io.ReadAll(y.Body)
	y.Body.Close()
	if err != nil || !bytes.Equal(gotYAML, wantYAML) {
		t.Errorf("/openapi.yaml differs from the generated document's YAML (%v)", err)
	}
}

// The validator every HTTP test runs its responses through does catch a
// response that breaks the document: an undocumented status, a code the
// operation does not list, a body missing a required field. A validator
// that passed everything would prove nothing.
func TestContractValidatorCatchesBreaches(t *testing.T) {
	req := httptest.NewRequest("POST", "http://shop.test/v1/orders/o-1/redeem", nil)
	cases := []struct {
		name   string
		status int
		ctype  string
		body   string
		valid  bool
	}{
		{"documented problem", 409, "application/problem+json", `{"type":"t","title":"Conflict","status":409,"code":"insufficient_points"}`, true},
		{"code the operation does not list", 409, "application/problem+json", `{"type":"t","title":"Conflict","status":409,"code":"otp_used"}`, false},
		{"undocumented status", 418, "application/problem+json", `{"type":"t","title":"Teapot","status":418,"code":"insufficient_points"}`, false},
		{"success without its required fields", 200, "application/json", `{}`, false},
		{"problem as plain JSON", 409, "application/json", `{"type":"t","title":"Conflict","status":409,"code":"insufficient_points"}`, false},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {c.ctype}},
			Body: io.NopCloser(strings.NewReader(c.body)), Request: req}
		errs, err := apitest.ContractErrors(req, resp)
		if err != nil {
			t.Fatal(err)
		}
		if (len(errs) == 0) != c.valid {
			t.Errorf("%s: valid=%v, errors %v", c.name, len(errs) == 0, errs)
		}
	}
}

// Every code the API has is listed by at least one operation, and every
// listed code has a status: the per-operation lists cannot name a code that
// does not exist or leave one out of the document.
func TestEveryCodeIsListedByAnOperation(t *testing.T) {
	d, _ := generated(t)
	listed := map[string]bool{}
	for _, ops := range d.Paths {
		for _, raw := range ops {
			var op struct {
				Codes []string `json:"x-error-codes"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			for _, c := range op.Codes {
				listed[c] = true
			}
		}
	}
	// Codes only the HTTP layer answers outside any operation.
	outside := map[string]bool{"method_not_allowed": true, "not_found": true}
	for _, c := range api.AllCodes() {
		if !listed[c] && !outside[c] {
			t.Errorf("code %s is listed by no operation", c)
		}
	}
}

// JSON is the only body the API takes: another declared type is refused
// with a problem and changes nothing.
func TestNonJSONBodyRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79123450001")
	body := `{"member":{"id":"` + m.ID + `"},"total":1000}`
	h := apitest.Key()
	h["Content-Type"] = "application/octet-stream"
	r := e.Do("POST", "/v1/orders/o-1/close", body, h)
	if r.Status != 415 || r.Code() != "unsupported_media_type" {
		t.Fatalf("octet-stream body: %d %s", r.Status, r.Body)
	}
	if b := e.Balance(m.ID); b.Available != 0 || b.Pending != 0 {
		t.Fatalf("a refused request changed the balance: %+v", b)
	}
}

// The examples in the document are valid requests and responses of their
// operations, and the hot path has them.
func TestDocumentExamplesValidate(t *testing.T) {
	params := strings.NewReplacer("{orderId}", "A-1002", "{memberId}", "m_nj4sstddkrmrtab7ftraxzf4",
		"{challengeId}", "ch_7dam7zh7sssnxqanlsj3ogip.t_xub32hlfilul32mefhdtthgd")
	seen := map[string]bool{}
	for _, x := range api.Examples() {
		r, ok := routes.RouteByOperation(x.OperationID)
		if !ok {
			t.Fatalf("example of unknown operation %s", x.OperationID)
		}
		seen[x.OperationID] = true
		url := "http://shop.test" + params.Replace(r.Path)
		var body io.Reader
		if x.Request != nil {
			body = bytes.NewReader(x.Request)
		}
		req := httptest.NewRequest(r.Method, url, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer lk_live_example")
		req.Header.Set("Idempotency-Key", "6f1c2a9e-4b7d-4c1e-9a55-1b0c8e7d3f01")
		errs, err := apitest.RequestContractErrors(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range errs {
			t.Errorf("%s request example: %s", x.OperationID, e)
		}
		req = httptest.NewRequest(r.Method, url, nil)
		resp := &http.Response{StatusCode: x.Status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(x.Response)), Request: req}
		if errs, err = apitest.ContractErrors(req, resp); err != nil {
			t.Fatal(err)
		}
		for _, e := range errs {
			t.Errorf("%s response example: %s", x.OperationID, e)
		}
	}
	for _, id := range []string{"start-enrollment", "verify-enrollment", "redeem-points", "close-order", "refund-order", "cancel-order", "quote-order", "get-member"} {
		if !seen[id] {
			t.Errorf("hot-path operation %s has no example", id)
		}
	}
}

// Bounds the document states on list elements and map sizes are enforced:
// the request is refused with the field named, and nothing changes.
func TestSchemaBoundsOnListsAndMaps(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79123450002")
	r := e.Do("PUT", "/v1/members/"+m.ID+"/groups", map[string]any{"groups": []string{"vip", strings.Repeat("я", 65)}}, nil)
	if r.Status != 422 || r.Code() != "validation_failed" || r.JSON()["field"] != "groups[1]" {
		t.Fatalf("65-character group: %d %s", r.Status, r.Body)
	}
	e.Do("PUT", "/v1/members/"+m.ID+"/groups", map[string]any{"groups": []string{strings.Repeat("я", 64)}}, nil).Want(200)

	cats := map[string]any{}
	for i := 0; i < 101; i++ {
		cats[fmt.Sprintf("c%d", i)] = map[string]any{"cashbackPercent": 1}
	}
	r = e.Do("POST", "/v1/programs", map[string]any{"name": "Many", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50, "categories": cats}, nil)
	if r.Status != 422 || r.JSON()["field"] != "categories" {
		t.Fatalf("101 categories: %d %s", r.Status, r.Body)
	}
	r = e.Do("POST", "/v1/programs", map[string]any{"name": "Neg", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50,
		"tiers": []any{map[string]any{"name": "A", "priority": 1, "qualify": map[string]any{"period": "P30D", "categorySpend": map[string]any{"food": -1}}}}}, nil)
	if r.Status != 422 {
		t.Fatalf("negative category spend: %d %s", r.Status, r.Body)
	}
	var list struct {
		Programs []any `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
	if len(list.Programs) != 1 {
		t.Fatalf("a refused program was created: %d programs", len(list.Programs))
	}
}

// A member is named by exactly one of id, card or phone: the schema says so
// (one property) and a request naming none or two is refused, unchanged.
func TestMemberRefExactlyOne(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79123450003")
	for name, ref := range map[string]map[string]any{
		"none":        {},
		"id and card": {"id": m.ID, "card": m.Card},
		"empty phone": {"phone": ""},
	} {
		r := e.Do("POST", "/v1/orders/x-1/close", map[string]any{"member": ref, "total": 1000}, apitest.Key())
		if r.Status != 422 || r.Code() != "validation_failed" || !strings.HasPrefix(fmt.Sprint(r.JSON()["field"]), "member") {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if b := e.Balance(m.ID); b.Available != 0 || b.Pending != 0 {
		t.Fatalf("a refused close changed the balance: %+v", b)
	}
}
