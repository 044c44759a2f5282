// Package events_test feeds the Lambda event fixtures of events/ to each
// function's handler exactly as functions/<fn>/main.go serves them: the
// API Gateway HTTP API (payload 2.0) adapter over the function's routes.
package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/app/pages"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/store/storetest"
	"github.com/loyalty/cashback/shared/wallet"
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

// decodeStrict decodes a fixture into the event type its function receives,
// refusing a field the type does not have (a misspelt "detail-type" or
// "rawPath" would otherwise vanish without a word) and anything after the
// object.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the event: %v", err)
	}
	return nil
}

// roundTrips checks that v, decoded from the fixture b, encodes back to
// every field of b, spelt the same (a decoder matches field names without
// regard to case) and with the same value.
func roundTrips(b []byte, v any) error {
	out, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var want, got any
	if err := json.Unmarshal(b, &want); err != nil {
		return err
	}
	if err := json.Unmarshal(out, &got); err != nil {
		return err
	}
	return contains("", want, got)
}

// contains reports the first field of want that got lacks or holds another value in.
func contains(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %v became %v", path, want, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: lost (the type has no field of that exact name)", path, k)
			}
			if err := contains(path+"."+k, wv, gv); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: %v became %v", path, want, got)
		}
		for i := range w {
			if err := contains(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Errorf("%s: %v became %v", path, want, got)
		}
		return nil
	}
}

// Every fixture decodes strictly into the typed event its function gets:
// the HTTP functions an API Gateway HTTP API (payload 2.0) request whose
// route matches its path, the sweep an EventBridge Scheduler event from a
// schedule in the event's own account and region. Every field of each
// fixture survives the trip through its type, spelt and valued the same.
func TestFixturesDecodeIntoTheirEventTypes(t *testing.T) {
	files, _ := filepath.Glob("*/*.json")
	if len(files) < 10 {
		t.Fatalf("only %d fixtures", len(files))
	}
	sweeps := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f, routes.FnDeliverWebhooks+"/") {
			// The worker's events: an SQS batch of kicks, or the schedule's "{}".
			var ev events.SQSEvent
			if err := decodeStrict(b, &ev); err != nil {
				t.Errorf("%s is not an SQS event: %v", f, err)
				continue
			}
			for _, r := range ev.Records {
				if r.EventSource != "aws:sqs" || r.MessageId == "" || !strings.HasPrefix(r.EventSourceARN, "arn:aws:sqs:") {
					t.Errorf("%s: not an SQS record: %+v", f, r)
				}
			}
			if err := roundTrips(b, ev); err != nil && len(ev.Records) > 0 {
				t.Errorf("%s does not round-trip: %v", f, err)
			}
			continue
		}
		if strings.HasPrefix(f, routes.FnDispatch+"/") {
			var ev events.DynamoDBTimeWindowEvent
			if err := decodeStrict(b, &ev); err != nil {
				t.Errorf("%s is not a DynamoDB stream event with a time window: %v", f, err)
				continue
			}
			if ev.ShardID == "" || len(ev.Records) == 0 || !strings.Contains(ev.EventSourceARN, ":table/") {
				t.Errorf("%s: shard %q, %d records, source %q", f, ev.ShardID, len(ev.Records), ev.EventSourceARN)
			}
			for _, r := range ev.Records {
				if r.EventSource != "aws:dynamodb" || r.EventSourceArn != ev.EventSourceARN || r.Change.StreamViewType != "NEW_AND_OLD_IMAGES" {
					t.Errorf("%s: record %s from %s (%s), view %s", f, r.EventID, r.EventSource, r.EventSourceArn, r.Change.StreamViewType)
				}
			}
			if err := roundTrips(b, ev); err != nil {
				t.Errorf("%s does not round-trip: %v", f, err)
			}
			continue
		}
		if strings.HasPrefix(f, routes.FnExpireSweep+"/") {
			sweeps++
			var ev events.EventBridgeEvent
			if err := decodeStrict(b, &ev); err != nil {
				t.Errorf("%s is not an EventBridge event: %v", f, err)
				continue
			}
			arn := "arn:aws:scheduler:" + ev.Region + ":" + ev.AccountID + ":schedule/"
			if ev.Version != "0" || ev.ID == "" || ev.Source != "aws.scheduler" || ev.DetailType != "Scheduled Event" ||
				ev.Time.IsZero() || ev.Region == "" || ev.AccountID == "" || string(ev.Detail) != "{}" ||
				len(ev.Resources) != 1 || !strings.HasPrefix(ev.Resources[0], arn) {
				t.Errorf("%s is not a scheduled event of an EventBridge Scheduler schedule: version %q, id %q, source %q, detail-type %q, time %v, detail %s, resources %v (want one %s…)",
					f, ev.Version, ev.ID, ev.Source, ev.DetailType, ev.Time, ev.Detail, ev.Resources, arn)
			}
			if err := roundTrips(b, ev); err != nil {
				t.Errorf("%s does not round-trip: %v", f, err)
			}
			continue
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := decodeStrict(b, &ev); err != nil {
			t.Errorf("%s is not an API Gateway HTTP API request: %v", f, err)
			continue
		}
		method, pattern, _ := strings.Cut(ev.RouteKey, " ")
		if ev.Version != "2.0" || ev.RequestContext.RouteKey != ev.RouteKey || ev.RequestContext.HTTP.Method != method ||
			ev.RequestContext.HTTP.Path != ev.RawPath || !routeMatches(pattern, ev.RawPath) {
			t.Errorf("%s: version %q, route %q (context %q), %s %s (context path %s): not one request of that route",
				f, ev.Version, ev.RouteKey, ev.RequestContext.RouteKey, ev.RequestContext.HTTP.Method, ev.RawPath, ev.RequestContext.HTTP.Path)
		}
		if err := roundTrips(b, ev); err != nil {
			t.Errorf("%s does not round-trip: %v", f, err)
		}
	}
	if sweeps == 0 {
		t.Error("no fixture of the scheduled sweep")
	}
}

// routeMatches tells whether a path fits a route pattern such as
// /v1/orders/{orderId}/close (a fixture's {{placeholder}} fits a {param}).
func routeMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") && xs[i] != "" {
			continue
		}
		if ps[i] != xs[i] {
			return false
		}
	}
	return true
}

// The fixtures, in order, drive each function's own Lambda handler through
// the hot path; each route answers only in its own function.
func TestFixturesThroughEachFunction(t *testing.T) {
	walletKeys, err := wallet.LocalKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t, apitest.Options{Wallet: app.WalletConfig{Keys: walletKeys}})
	ctx := context.Background()
	vars := map[string]string{"apiKey": e.APIKey, "orderId": "fx-o1", "orderId2": "fx-o2", "tenantSlug": e.Slug}
	// Each function's handler as its main.go builds it: the web function
	// serves the pages (wired apart from the API's functions).
	handler := func(fn string) http.Handler {
		if fn != routes.FnWeb {
			return e.App.Handler(fn)
		}
		h, err := pages.WebFunction(e.App)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
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
		resp, err := httpadapter.NewV2(handler(fn)).ProxyWithContext(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", s.Fixture, err)
		}
		if resp.StatusCode != s.Status {
			t.Fatalf("%s: status %d, want %d: %s", s.Fixture, resp.StatusCode, s.Status, resp.Body)
		}
		if fn == routes.FnWeb {
			// A page, not an operation of the document: HTML in Russian
			// with its policy.
			if !strings.Contains(resp.Body, `autocomplete="tel"`) || !strings.Contains(resp.Body, `lang="ru"`) ||
				!strings.Contains(resp.Headers["Content-Security-Policy"], "frame-ancestors 'self'") {
				t.Errorf("%s: %v\n%s", s.Fixture, resp.Headers, resp.Body)
			}
		} else {
			checkContract(t, s.Fixture, ev, resp)
		}
		served[fn] = true
		var out map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &out)
		switch s.Fixture {
		case "enroll/start.json":
			vars["challengeId"] = out["challengeId"].(string)
			vars["code"] = e.Sender.LastCode(t, "+79125550001")
		case "verify-otp/verify.json":
			vars["memberId"], vars["card"] = out["memberId"].(string), out["cardNumber"].(string)
		case "webhooks/create.json":
			vars["webhookId"] = out["webhookId"].(string)
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
		if routes.ServedOverHTTP(fn) && !served[fn] {
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

	// The webhook worker: a batch with a kick of an (empty) lane and a
	// malformed message fails neither (a malformed kick can never succeed,
	// so it is dropped, not retried); the schedule's "{}" reconciles.
	vars["tenantId"] = e.TenantID
	for _, fx := range []string{"deliver-webhooks/kicks.json", "deliver-webhooks/reconcile.json"} {
		b, err := os.ReadFile(fx)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{{"+k+"}}", v)
		}
		var ev app.WorkerEvent
		if err := json.Unmarshal([]byte(s), &ev); err != nil {
			t.Fatalf("%s: %v", fx, err)
		}
		resp, err := e.App.WebhookWorkerHandler(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %+v %v", fx, resp, err)
		}
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
