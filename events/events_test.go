// Package events_test feeds the Lambda event fixtures of events/ to each
// function's handler exactly as functions/<fn>/main.go serves them: the
// API Gateway HTTP API (payload 2.0) adapter over the function's routes.
package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type step struct {
	Fixture string `json:"fixture"`
	Status  int    `json:"status"`
}

func load(t *testing.T, path string, vars map[string]string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if strings.Contains(s, "{{") {
		t.Fatalf("%s: a placeholder has no value yet: %s", path, s)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ev
}

// Every fixture round-trips through the event type unchanged.
func TestFixturesRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("*/*.json")
	if len(files) < 10 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var first, second events.APIGatewayV2HTTPRequest
		if strings.HasPrefix(f, "expire-sweep/") {
			var a, c map[string]any
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out, _ := json.Marshal(a)
			_ = json.Unmarshal(out, &c)
			if !reflect.DeepEqual(a, c) {
				t.Errorf("%s does not round-trip", f)
			}
			continue
		}
		if err := json.Unmarshal(b, &first); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out, _ := json.Marshal(first)
		if err := json.Unmarshal(out, &second); err != nil || !reflect.DeepEqual(first, second) {
			t.Errorf("%s does not round-trip: %v", f, err)
		}
	}
}

// The fixtures, in order, drive each function's own Lambda handler through
// the hot path; each route answers only in its own function.
func TestFixturesThroughEachFunction(t *testing.T) {
	e := apitest.New(t)
	ctx := context.Background()
	vars := map[string]string{"apiKey": e.APIKey, "orderId": "fx-o1", "orderId2": "fx-o2"}
	var steps []step
	b, err := os.ReadFile("order.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &steps); err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, s := range steps {
		fn := filepath.Dir(s.Fixture)
		ev := load(t, s.Fixture, vars)
		resp, err := httpadapter.NewV2(e.App.Handler(fn)).ProxyWithContext(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", s.Fixture, err)
		}
		if resp.StatusCode != s.Status {
			t.Fatalf("%s: status %d, want %d: %s", s.Fixture, resp.StatusCode, s.Status, resp.Body)
		}
		checkContract(t, s.Fixture, ev, resp)
		served[fn] = true
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		switch s.Fixture {
		case "enroll/start.json":
			vars["challengeId"] = out["challengeId"].(string)
			vars["code"] = e.Sender.LastCode(t, "+79125550001")
		case "verify-otp/verify.json":
			vars["memberId"], vars["card"] = out["memberId"].(string), out["cardNumber"].(string)
		case "refund/refund.json":
			if out["reversedAccrual"].(float64) != 2500 {
				t.Fatalf("refund of half of 1000.00 reverses 25.00 points: %v", out)
			}
		}
		// The same event sent to another function's handler finds no route.
		other := routes.FnMembers
		if fn == routes.FnMembers {
			other = routes.FnRedeem
		}
		if r, _ := httpadapter.NewV2(e.App.Handler(other)).ProxyWithContext(ctx, ev); r.StatusCode != 404 {
			t.Errorf("%s answered %d in function %s", s.Fixture, r.StatusCode, other)
		}
	}
	for _, fn := range routes.AllFunctions() {
		if fn != routes.FnExpireSweep && !served[fn] {
			t.Errorf("no fixture drives function %s", fn)
		}
	}
	e.Verify(vars["memberId"])

	raw, err := os.ReadFile("expire-sweep/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.SweepHandler(ctx, raw); err != nil {
		t.Fatalf("sweep handler: %v", err)
	}
}

// checkContract validates what API Gateway would return for the event
// against the OpenAPI document, as the HTTP suites do for their responses.
func checkContract(t *testing.T, fixture string, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	req := httptest.NewRequest(ev.RequestContext.HTTP.Method, "https://api.test"+ev.RawPath, nil)
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	hr := &http.Response{StatusCode: resp.StatusCode, Header: h, Body: io.NopCloser(strings.NewReader(resp.Body)), Request: req}
	errs, err := apitest.ContractErrors(req, hr)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s: the response breaks the OpenAPI document: %s", fixture, e)
	}
}
