package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The client keeps its own copy of the wire types instead of importing the
// server's; these tests are what keeps that copy honest. They read the
// committed contract api/openapi.json (regenerated from the handlers by
// make openapi, and checked to be current by shared/api's tests), so a
// handler change that reaches the contract fails here until the client
// follows it.

// operation ties a Client method to the operation it calls.
type operation struct {
	method   string // Client method
	verb     string // the operation in the document
	path     string
	request  any // request body type; nil: the operation takes none
	response any // success body type
	// pages is set for a method that returns something other than the
	// response (Ledger collects the pages of LedgerPage).
	pages bool
	// call invokes the method with placeholder arguments.
	call func(context.Context, *Client) error
}

var member = Member{ID: "m_1"}

var operations = []operation{
	{"Enroll", "POST", "/v1/enrollments", EnrollRequest{}, EnrollResult{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.Enroll(ctx, EnrollRequest{Phone: "+79120000000", Consent: EnrollConsent{Terms: true}})
		return err
	}},
	{"Verify", "POST", "/v1/enrollments/{challengeId}/verify", verifyRequest{}, VerifyResult{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.Verify(ctx, "ch_1.t_1", "1234")
		return err
	}},
	{"Quote", "POST", "/v1/orders/{orderId}/quote", quoteRequest{}, QuoteResult{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.Quote(ctx, "o1", member, 100, []Item{{SKU: "s", Amount: 100}})
		return err
	}},
	{"Redeem", "POST", "/v1/orders/{orderId}/redeem", redeemRequest{}, RedeemResult{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.Redeem(ctx, "k", "o1", member, 100, 50)
		return err
	}},
	{"Close", "POST", "/v1/orders/{orderId}/close", closeRequest{}, CloseResult{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.Close(ctx, "k", "o1", member, 100, []Item{{SKU: "s", Amount: 100}})
		return err
	}},
	{"Cancel", "POST", "/v1/orders/{orderId}/cancel", nil, CancelResult{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.Cancel(ctx, "k", "o1")
		return err
	}},
	{"Refund", "POST", "/v1/orders/{orderId}/refunds", refundRequest{}, RefundResult{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.Refund(ctx, "k", "o1", "r1", 100)
		return err
	}},
	{"Adjust", "POST", "/v1/members/{memberId}/adjustments", adjustRequest{}, AdjustResult{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.Adjust(ctx, "k", "m_1", 100, "goodwill")
		return err
	}},
	{"GetMember", "GET", "/v1/members/{memberId}", nil, MemberView{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.GetMember(ctx, "m_1")
		return err
	}},
	{"FindMember", "GET", "/v1/members", nil, MemberView{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.FindMember(ctx, "+79120000000", "")
		return err
	}},
	{"LedgerPage", "GET", "/v1/members/{memberId}/ledger", nil, LedgerPage{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.LedgerPage(ctx, "m_1", 10, "5")
		return err
	}},
	{"Ledger", "GET", "/v1/members/{memberId}/ledger", nil, LedgerPage{}, true, func(ctx context.Context, c *Client) error {
		_, err := c.Ledger(ctx, "m_1", 10)
		return err
	}},
	{"CreateProgram", "POST", "/v1/programs", ProgramSettings{}, ProgramView{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.CreateProgram(ctx, ProgramSettings{Name: "p", Type: "bonus", CashbackPercent: "5", MaxRedeemPercent: "50"})
		return err
	}},
	{"ActivateProgram", "POST", "/v1/programs/{programId}/activate", nil, ProgramView{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.ActivateProgram(ctx, "p1")
		return err
	}},
	{"StopProgram", "POST", "/v1/programs/{programId}/stop", nil, ProgramView{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.StopProgram(ctx, "p1")
		return err
	}},
	{"IssueGiftCard", "POST", "/v1/gift-cards", issueGiftCardRequest{}, IssuedGiftCard{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.IssueGiftCard(ctx, "k", 5000, "P1Y")
		return err
	}},
	{"GetGiftCard", "GET", "/v1/gift-cards/{number}", nil, GiftCardView{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.GetGiftCard(ctx, "4000000000000002")
		return err
	}},
	{"ClosePaidWith", "POST", "/v1/orders/{orderId}/close", closeRequest{}, CloseResult{}, false, func(ctx context.Context, c *Client) error {
		_, _, err := c.ClosePaidWith(ctx, "k", "o1", member, 100, nil, []GiftCardSpend{{Number: "4000000000000002", Amount: 50}})
		return err
	}},
	{"Sweep", "POST", "/v1/admin/expiry-sweep", nil, SweepResult{}, false, func(ctx context.Context, c *Client) error {
		_, err := c.Sweep(ctx)
		return err
	}},
}

// Every method of Client is in the table above, so a new method cannot
// escape the checks.
func TestEveryMethodIsChecked(t *testing.T) {
	listed := map[string]bool{}
	for _, op := range operations {
		if listed[op.method] {
			t.Errorf("%s is listed twice", op.method)
		}
		listed[op.method] = true
	}
	ct := reflect.TypeFor[*Client]()
	for i := range ct.NumMethod() {
		m := ct.Method(i)
		if !listed[m.Name] {
			t.Errorf("Client.%s is not in the operations table of contract_test.go", m.Name)
		}
		delete(listed, m.Name)
	}
	for name := range listed {
		t.Errorf("the operations table lists %s, which Client does not have", name)
	}
}

// Each method's request body has exactly the properties of its operation's
// request schema (required ones always sent, optional ones left out when
// empty), its response type exactly the properties of the success response,
// and Problem those of every error response; recursively, through nested
// objects, arrays and maps, with matching JSON types.
func TestTypesMatchTheContract(t *testing.T) {
	doc := loadContract(t)
	ck := &checker{t: t, schemas: doc.Components.Schemas, seen: map[string]bool{}}
	for _, op := range operations {
		o := doc.operation(op.verb, op.path)
		if o == nil {
			t.Errorf("%s: the contract has no operation %s %s", op.method, op.verb, op.path)
			continue
		}
		m, _ := reflect.TypeFor[*Client]().MethodByName(op.method)
		if rt := reflect.TypeOf(op.response); !op.pages && m.Type.Out(0) != rt {
			t.Errorf("%s returns %v; the table says %v", op.method, m.Type.Out(0), rt)
		}

		switch body := o.requestSchema(); {
		case body == nil && op.request != nil:
			t.Errorf("%s sends a %T body; %s %s takes none", op.method, op.request, op.verb, op.path)
		case body != nil && op.request == nil:
			t.Errorf("%s sends no body; %s %s takes one", op.method, op.verb, op.path)
		case body != nil:
			ck.compare(op.method+" request", reflect.TypeOf(op.request), body, true)
		}

		success := 0
		for status, r := range o.Responses {
			switch {
			case strings.HasPrefix(status, "2"):
				if s := r.schema("application/json"); s != nil {
					success++
					ck.compare(op.method+" response", reflect.TypeOf(op.response), s, false)
				}
			case status == "default" || status[0] >= '4':
				s := r.schema("application/problem+json")
				if s == nil {
					t.Errorf("%s: %s %s answers %s without a problem body", op.method, op.verb, op.path, status)
					continue
				}
				// Every error response is the same Problem (with its own code
				// enum), so a mismatch is reported once, not per status.
				ck.compare("Problem", reflect.TypeFor[Problem](), s, false)
			}
		}
		if success != 1 {
			t.Errorf("%s: %s %s has %d JSON success responses, want 1", op.method, op.verb, op.path, success)
		}
	}
}

// Each method calls the operation the table says, and its body decodes
// into the request type the table names and nothing more: so the types the
// contract test compares are the ones on the wire. No server: a transport
// records the request and answers {}.
func TestMethodsCallTheirOperations(t *testing.T) {
	ctx := context.Background()
	for _, op := range operations {
		var got []*http.Request
		var bodies [][]byte
		c := New("http://loyalty.test", "key")
		c.HTTP = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			var b []byte
			if r.Body != nil {
				b, _ = io.ReadAll(r.Body)
			}
			got, bodies = append(got, r), append(bodies, b)
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
		})}
		if err := op.call(ctx, c); err != nil {
			t.Errorf("%s: %v", op.method, err)
			continue
		}
		if len(got) != 1 {
			t.Errorf("%s sent %d requests, want 1", op.method, len(got))
			continue
		}
		r, b := got[0], bodies[0]
		if r.Method != op.verb || !pathPattern(op.path).MatchString(r.URL.Path) {
			t.Errorf("%s called %s %s; the table says %s %s", op.method, r.Method, r.URL.Path, op.verb, op.path)
		}
		if op.request == nil {
			if len(b) != 0 {
				t.Errorf("%s sent a body %s; the table says none", op.method, b)
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(reflect.New(reflect.TypeOf(op.request)).Interface()); err != nil {
			t.Errorf("%s sent %s, which is not a %T: %v", op.method, b, op.request, err)
		}
	}
}

// The typed problem survives the round trip: errors.As finds *Problem with
// its code, and a body that is not a problem still gives one (http_<status>).
func TestProblemFromResponse(t *testing.T) {
	for _, tc := range []struct {
		body     string
		code     string
		attempts *int
	}{
		{`{"type":"about:blank","title":"Unprocessable Entity","status":422,"code":"otp_invalid","detail":"wrong code","attemptsLeft":0}`, "otp_invalid", new(int)},
		{`bad gateway`, "http_502", nil},
	} {
		status := 422
		if tc.code == "http_502" {
			status = 502
		}
		c := New("http://loyalty.test", "")
		c.HTTP = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(tc.body)), Request: r}, nil
		})}
		_, err := c.Verify(context.Background(), "ch_1.t_1", "0000")
		var p *Problem
		if !errors.As(err, &p) || p.Code != tc.code || p.Status != status || !reflect.DeepEqual(p.AttemptsLeft, tc.attempts) {
			t.Errorf("body %q: got %#v", tc.body, err)
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// pathPattern matches the paths of a templated one (/v1/orders/{orderId}).
func pathPattern(template string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^/]+\\\}`).ReplaceAllString(regexp.QuoteMeta(template), "[^/]+") + "$")
}

// ---- the document ----

type document struct {
	Paths      map[string]pathItem `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type pathItem struct {
	Get, Post, Put, Delete, Patch *apiOperation
}

type apiOperation struct {
	OperationID string `json:"operationId"`
	RequestBody *struct {
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]response `json:"responses"`
}

type response struct {
	Content map[string]struct {
		Schema *schema `json:"schema"`
	} `json:"content"`
}

func (r response) schema(mediaType string) *schema { return r.Content[mediaType].Schema }

func (o *apiOperation) requestSchema() *schema {
	if o.RequestBody == nil {
		return nil
	}
	return o.RequestBody.Content["application/json"].Schema
}

// schema holds what the checks read of a JSON Schema.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 types              `json:"type"`
	Format               string             `json:"format"`
	Properties           map[string]*schema `json:"properties"`
	Required             []string           `json:"required"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"` // false or a schema
	AllOf                []*schema          `json:"allOf"`
}

// types is a schema's type: one name or a list (["array", "null"]).
type types []string

func (ts *types) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*ts = types{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(ts))
}

func loadContract(t *testing.T) *document {
	t.Helper()
	b, err := os.ReadFile("../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("api/openapi.json: %v", err)
	}
	return &doc
}

func (d *document) operation(verb, path string) *apiOperation {
	p, ok := d.Paths[path]
	if !ok {
		return nil
	}
	return map[string]*apiOperation{"GET": p.Get, "POST": p.Post, "PUT": p.Put, "DELETE": p.Delete, "PATCH": p.Patch}[verb]
}

// ---- the comparison ----

type checker struct {
	t       *testing.T
	schemas map[string]*schema
	seen    map[string]bool // messages already reported (Problem is checked per response)
}

func (c *checker) errorf(format string, args ...any) {
	c.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if !c.seen[msg] {
		c.seen[msg] = true
		c.t.Error(msg)
	}
}

// resolve follows $ref to components/schemas and merges allOf (an error
// response is allOf [Problem, {code: enum}]) into one object schema.
func (c *checker) resolve(where string, s *schema) *schema {
	for s != nil && s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/components/schemas/")
		if !ok || c.schemas[name] == nil {
			c.errorf("%s: unresolvable $ref %q", where, s.Ref)
			return nil
		}
		s = c.schemas[name]
	}
	if s == nil || len(s.AllOf) == 0 {
		return s
	}
	merged := &schema{Type: s.Type, Properties: map[string]*schema{}}
	for _, part := range s.AllOf {
		part = c.resolve(where, part)
		if part == nil {
			continue
		}
		if len(merged.Type) == 0 {
			merged.Type = part.Type
		}
		for name, p := range part.Properties {
			if _, ok := merged.Properties[name]; !ok {
				merged.Properties[name] = p
			}
		}
		merged.Required = append(merged.Required, part.Required...)
	}
	return merged
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	numberType = reflect.TypeFor[json.Number]()
)

// compare checks Go type typ against schema s at where. In a request every
// required property must be a field that is always sent and every optional
// one a field left out when empty: an empty optional value sent anyway
// ("email": "", "channel": "") is validated and refused.
func (c *checker) compare(where string, typ reflect.Type, s *schema, request bool) {
	c.t.Helper()
	s = c.resolve(where, s)
	if s == nil {
		c.errorf("%s: no schema", where)
		return
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == timeType:
		c.wantType(where, typ, s, "string")
		if s.Format != "date-time" {
			c.errorf("%s: %v, but the contract's format is %q, not date-time", where, typ, s.Format)
		}
	case typ == numberType:
		c.wantType(where, typ, s, "number")
	case typ.Kind() == reflect.Struct:
		c.wantType(where, typ, s, "object")
		fields := jsonFields(typ)
		for _, name := range sortedKeys(fields) {
			if _, ok := s.Properties[name]; !ok {
				c.errorf("%s.%s: the client's %v has this field; the contract has no such property", where, name, typ)
			}
		}
		for _, name := range sortedKeys(s.Properties) {
			f, ok := fields[name]
			if !ok {
				c.errorf("%s.%s: the contract has this property; the client's %v lacks it", where, name, typ)
				continue
			}
			required := slices.Contains(s.Required, name)
			switch {
			case request && required && f.omitted:
				c.errorf("%s.%s: required by the contract, but %v.%s is omitempty", where, name, typ, f.goName)
			case request && !required && !f.omitted:
				c.errorf("%s.%s: optional in the contract, but %v.%s is not omitempty (its zero value would be sent)", where, name, typ, f.goName)
			}
			c.compare(where+"."+name, f.typ, s.Properties[name], request)
		}
	case typ.Kind() == reflect.Map:
		c.wantType(where, typ, s, "object")
		var elem schema
		if len(s.AdditionalProperties) == 0 || s.AdditionalProperties[0] != '{' || json.Unmarshal(s.AdditionalProperties, &elem) != nil {
			c.errorf("%s: the client's %v is a map; the contract's object has no additionalProperties schema", where, typ)
			return
		}
		c.compare(where+"[*]", typ.Elem(), &elem, request)
	case typ.Kind() == reflect.Slice:
		c.wantType(where, typ, s, "array")
		if s.Items == nil {
			c.errorf("%s: the contract's array has no items schema", where)
			return
		}
		c.compare(where+"[]", typ.Elem(), s.Items, request)
	case typ.Kind() == reflect.String:
		c.wantType(where, typ, s, "string")
	case typ.Kind() == reflect.Bool:
		c.wantType(where, typ, s, "boolean")
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Uint64:
		c.wantType(where, typ, s, "integer")
	case typ.Kind() == reflect.Float32 || typ.Kind() == reflect.Float64:
		c.wantType(where, typ, s, "number")
	default:
		c.errorf("%s: the client's %v has no JSON Schema counterpart in this check", where, typ)
	}
}

func (c *checker) wantType(where string, typ reflect.Type, s *schema, want string) {
	c.t.Helper()
	if !slices.Contains(s.Type, want) {
		c.errorf("%s: the client's %v is a JSON %s; the contract says %v", where, typ, want, []string(s.Type))
	}
}

type jsonField struct {
	goName  string
	typ     reflect.Type
	omitted bool // omitempty or omitzero: left out when empty
}

// jsonFields lists the JSON members of a struct as encoding/json writes
// them, flattening embedded structs (ProgramView embeds ProgramSettings).
func jsonFields(typ reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
		out[name] = jsonField{goName: f.Name, typ: f.Type, omitted: omit}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
