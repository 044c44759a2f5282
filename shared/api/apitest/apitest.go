// Package apitest runs the real HTTP handlers over a real DynamoDB Local
// table for tests: a tenant with an owner key, an active program, a settable
// clock and a sender that keeps messages (the SMS gateway is the one thing
// faked). Use storetest.Main in TestMain.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/app/pages"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/store/storetest"
	"github.com/loyalty/cashback/shared/stream"
	"github.com/loyalty/cashback/shared/webhooks"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock starts at t.
func NewClock(t time.Time) *Clock { c := &Clock{}; c.Set(t); return c }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Sender keeps every message instead of sending it.
type Sender struct {
	mu   sync.Mutex
	Sent []loyalty.Message
}

// Send records m.
func (s *Sender) Send(_ context.Context, m loyalty.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Sent = append(s.Sent, m)
	return nil
}

// Messages returns a copy of the messages sent so far.
func (s *Sender) Messages() []loyalty.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]loyalty.Message(nil), s.Sent...)
}

var codeRe = regexp.MustCompile(`\b\d{4,10}\b`)

// LastCode returns the code in the last message sent to `to`.
func (s *Sender) LastCode(t testing.TB, to string) string {
	t.Helper()
	code, ok := s.Code(to)
	if !ok {
		t.Fatalf("no message sent to %s", to)
	}
	return code
}

// Code returns the code in the last message sent to `to`; false when none
// was sent there.
func (s *Sender) Code(to string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.Sent) - 1; i >= 0; i-- {
		if s.Sent[i].To == to {
			return codeRe.FindString(s.Sent[i].Body), true
		}
	}
	return "", false
}

// Resolver stands in for DNS in webhook registrations: every name resolves
// to a public documentation-free address (93.184.215.14), but names starting
// with "private" or "internal" to 10.0.0.7 and "metadata" to
// 169.254.169.254. Nothing is ever sent to them (see loopbackOnly).
type Resolver struct{}

// LookupNetIP answers from the rules above.
func (Resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	switch {
	case strings.HasPrefix(host, "private"), strings.HasPrefix(host, "internal"):
		return []netip.Addr{netip.MustParseAddr("10.0.0.7")}, nil
	case strings.HasPrefix(host, "metadata"):
		return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
	case strings.HasPrefix(host, "nxdomain"):
		return nil, errors.New("no such host")
	}
	return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
}

// loopbackOnly dials loopback addresses only: tests send nothing elsewhere.
type loopbackOnly struct{}

func (loopbackOnly) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if ap, err := netip.ParseAddrPort(address); err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("apitest: no traffic to %s (tests reach loopback only)", address)
	}
	return (&net.Dialer{}).DialContext(ctx, network, address)
}

// Kicks records the webhook delivery kicks queued.
type Kicks struct {
	mu   sync.Mutex
	Sent []webhooks.Kick
}

// Kick records k.
func (q *Kicks) Kick(_ context.Context, k webhooks.Kick, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Sent = append(q.Sent, k)
	return nil
}

// Env is a running service for one test.
type Env struct {
	T      testing.TB
	Server *httptest.Server
	// HTTP is the client of Do: every response it receives is validated
	// against the OpenAPI document (ContractTransport).
	HTTP   *http.Client
	App    *app.App
	Store  *store.Store
	Clock  *Clock
	Sender *Sender
	// Kicks are the webhook delivery kicks queued (no worker runs them).
	Kicks    *Kicks
	TenantID string
	Slug     string
	APIKey   string
	// Sinks receive the feed's events when Drain runs.
	Sinks []feed.Sink

	poller *stream.Poller
}

// Poller is a new poller over the env's table, as serve runs it: the real
// DynamoDB Streams API of DynamoDB Local, into a dispatcher with sinks.
func (e *Env) Poller(sinks ...feed.Sink) *stream.Poller {
	e.T.Helper()
	p, err := stream.NewPoller(context.Background(), e.Store, storetest.StreamsClient(e.T), stream.NewDispatcher(e.Store, e.App.Logger, sinks...))
	if err != nil {
		e.T.Fatalf("stream poller: %v", err)
	}
	return p
}

// Drain runs the feed over everything committed so far: the real poller
// over DynamoDB Local's stream, through the dispatcher into e.Sinks. Usage
// of an uncapped tenant is counted by it.
func (e *Env) Drain() {
	e.T.Helper()
	if e.poller == nil {
		e.poller = e.Poller()
	}
	e.poller.Dispatch = stream.NewDispatcher(e.Store, e.App.Logger, e.Sinks...).Dispatch
	if err := e.poller.Drain(context.Background()); err != nil {
		e.T.Fatalf("drain the stream: %v", err)
	}
}

// Options tune New.
type Options struct {
	// Program to create and activate; nil takes DefaultProgram. Set
	// NoProgram to start without one.
	Program   *loyalty.Program
	NoProgram bool
	// Plan of the tenant; "" is the free plan. On an uncapped plan
	// (pay-as-you-go) usage is counted from the stream: call Drain before
	// reading it.
	Plan string
	// Wallet configures the wallet passes (keys generated by the test).
	Wallet app.WalletConfig
}

// DefaultProgram is the demo program: 5 % cashback, up to 50 % in points.
func DefaultProgram() loyalty.Program {
	return loyalty.Program{Name: "Test program", Type: "bonus", CashbackPercent: 500, MaxRedeemPercent: 5000, ReturnSpentOnRefund: true}
}

// SMSInboundSecret signs the fake SMS gateway's inbound replies.
const SMSInboundSecret = "test-sms-inbound-secret"

// Start is the clock's default start.
var Start = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// New starts the service on a fresh table with a tenant and an active program.
func New(t testing.TB, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	st := storetest.NewStore(t)
	clock := NewClock(Start)
	sender := &Sender{}
	kicks := &Kicks{}
	a, err := app.New(context.Background(), app.Config{
		Table: st.Table(), DynamoDB: storetest.Client(t), Notifier: "test", Sender: sender,
		OTPSecret: []byte("test-secret-test-secret-0123456789"), Phones: libphone.Normalize, Now: clock.Now,
		// Only internal errors are logged: a test that meets one shows its cause.
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		WebhookKey:       []byte("test-webhook-key-0123456789abcdef"),
		WebhookGuard:     &webhooks.Guard{Resolver: Resolver{}, Dialer: loopbackOnly{}},
		WebhookQueue:     kicks,
		BaseURL:          "http://loyalty.test",
		SMSInboundSecret: []byte(SMSInboundSecret),
		Wallet:           o.Wallet,
	})
	if err != nil {
		t.Fatalf("wire app: %v", err)
	}
	a.Store.Shards = st.Shards
	// The API and the pages, as the local server serves them.
	h, err := pages.Handler(a)
	if err != nil {
		t.Fatalf("wire pages: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &Env{T: t, Server: srv, App: a, Store: a.Store, Clock: clock, Sender: sender, Kicks: kicks,
		HTTP: &http.Client{Transport: ContractTransport{T: t, Base: srv.Client().Transport}}}
	plan := o.Plan
	if plan == "" {
		plan = loyalty.PlanFree
	}
	nt, err := a.Service.CreateTenant(context.Background(), "Test Shop", plan)
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	e.TenantID, e.Slug, e.APIKey = nt.TenantID, nt.Slug, nt.APIKey
	if !o.NoProgram {
		p := DefaultProgram()
		if o.Program != nil {
			p = *o.Program
		}
		e.CreateProgram(p, true)
	}
	return e
}

// CreateProgram creates a program over HTTP and, with activate, activates it.
func (e *Env) CreateProgram(p loyalty.Program, activate bool) string {
	e.T.Helper()
	body := map[string]any{
		"name": p.Name, "type": p.Type,
		"cashbackPercent": json.Number(p.CashbackPercent.String()), "maxRedeemPercent": json.Number(p.MaxRedeemPercent.String()),
		"returnSpentOnRefund": p.ReturnSpentOnRefund,
	}
	if p.PointsLifetime != "" {
		body["pointsLifetime"] = p.PointsLifetime
	}
	if p.PendingPeriod != "" {
		body["pendingPeriod"] = p.PendingPeriod
	}
	if p.HoldTimeout != "" {
		body["holdTimeout"] = p.HoldTimeout
	}
	if p.WelcomeBonus != nil {
		wb := map[string]any{"points": p.WelcomeBonus.Points}
		if p.WelcomeBonus.Lifetime != "" {
			wb["lifetime"] = p.WelcomeBonus.Lifetime
		}
		body["welcomeBonus"] = wb
	}
	if r := p.Referral; r != nil {
		ref := map[string]any{"referrerPoints": r.ReferrerPoints, "refereePoints": r.RefereePoints}
		if r.MonthlyLimit > 0 {
			ref["monthlyLimit"] = r.MonthlyLimit
		}
		body["referral"] = ref
	}
	if b := p.BirthdayBonus; b != nil {
		bb := map[string]any{"points": b.Points}
		if b.Lifetime != "" {
			bb["lifetime"] = b.Lifetime
		}
		body["birthdayBonus"] = bb
	}
	if p.CardNumbers != nil {
		body["cardNumbers"] = p.CardNumbers
	}
	for _, t := range p.Tiers {
		q := map[string]any{"period": t.Qualify.Period}
		if t.Qualify.Spend > 0 {
			q["spend"] = int64(t.Qualify.Spend)
		}
		if t.Qualify.Visits > 0 {
			q["visits"] = t.Qualify.Visits
		}
		tb := map[string]any{"name": t.Name, "priority": t.Priority, "qualify": q}
		if t.CashbackPercent != nil {
			tb["cashbackPercent"] = json.Number(t.CashbackPercent.String())
		}
		if t.Group != "" {
			tb["group"] = t.Group
		}
		tiers, _ := body["tiers"].([]any)
		body["tiers"] = append(tiers, tb)
	}
	r := e.Do("POST", "/v1/programs", body, nil)
	r.Want(201)
	id := r.JSON()["programId"].(string)
	if activate {
		e.Do("POST", "/v1/programs/"+id+"/activate", nil, nil).Want(200)
	}
	return id
}

// Response is a finished request.
type Response struct {
	T      testing.TB
	Status int
	Header http.Header
	Body   []byte
}

// Want fails the test unless the status is want.
func (r *Response) Want(want int) *Response {
	r.T.Helper()
	if r.Status != want {
		r.T.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

// JSON decodes the body into a map (numbers as float64).
func (r *Response) JSON() map[string]any {
	r.T.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		r.T.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(v any) {
	r.T.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.T.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
}

// Code returns the problem code of an error response.
func (r *Response) Code() string {
	r.T.Helper()
	c, err := r.ProblemCode()
	if err != nil {
		r.T.Fatal(err)
	}
	return c
}

// ProblemCode returns the problem code of an error response, or an error
// when the response is no problem. Unlike Code it never fails the test: it
// is the form for goroutines a test starts (t.Fatal must not be called there).
func (r *Response) ProblemCode() (string, error) {
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		return "", fmt.Errorf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return "", fmt.Errorf("body is not a JSON object: %v: %s", err, r.Body)
	}
	c, _ := m["code"].(string)
	return c, nil
}

// Do sends a request with the tenant's key. body may be nil, a string or
// []byte (sent as is) or any value (sent as JSON). headers add or override
// headers; an "Authorization" of "" removes the key.
func (e *Env) Do(method, path string, body any, headers map[string]string) *Response {
	e.T.Helper()
	r, err := e.Try(method, path, body, headers)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// Try is Do returning an error instead of failing the test: the form for
// goroutines a test starts, where t.Fatal must not be called. Responses are
// still checked against the OpenAPI document (ContractTransport reports
// with t.Errorf, which any goroutine may call).
func (e *Env) Try(method, path string, body any, headers map[string]string) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("marshal body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.Server.URL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.APIKey)
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the body: %v", method, path, err)
	}
	return &Response{T: e.T, Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

var idemSeq atomic.Int64

// Key returns a fresh Idempotency-Key header.
func Key() map[string]string {
	return map[string]string{"Idempotency-Key": fmt.Sprintf("key-%d-%d", time.Now().UnixNano(), idemSeq.Add(1))}
}

// Member is an enrolled member.
type Member struct {
	ID, Card, Phone string
}

// Enroll runs enrollment through HTTP (start, read the code, verify).
func (e *Env) Enroll(phone string) Member {
	e.T.Helper()
	r := e.Do("POST", "/v1/enrollments", map[string]any{"phone": phone, "consent": map[string]any{"terms": true}}, nil).Want(201)
	ch := r.JSON()["challengeId"].(string)
	e164, err := libphone.Normalize(phone)
	if err != nil {
		e.T.Fatalf("phone %s: %v", phone, err)
	}
	v := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(e.T, e164)}, nil).Want(201).JSON()
	return Member{ID: v["memberId"].(string), Card: v["cardNumber"].(string), Phone: e164}
}

// Balance reads a member's balance with one GET.
func (e *Env) Balance(memberID string) loyalty.Balance {
	e.T.Helper()
	var m struct {
		Balance loyalty.Balance `json:"balance"`
	}
	e.Do("GET", "/v1/members/"+memberID, nil, nil).Want(200).Decode(&m)
	return m.Balance
}

// Close closes an order paid in money; returns the close response.
func (e *Env) Close(orderID, memberID string, total int64) *Response {
	e.T.Helper()
	return e.Do("POST", "/v1/orders/"+orderID+"/close", map[string]any{"member": map[string]any{"id": memberID}, "total": total}, Key())
}

// Verify checks a member's hash chain, ledger sums and lot sums.
func (e *Env) Verify(memberID string) {
	e.T.Helper()
	if err := e.Store.VerifyMember(context.Background(), e.TenantID, memberID); err != nil {
		e.T.Fatalf("ledger verification: %v", err)
	}
}
