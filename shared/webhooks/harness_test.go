package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store/storetest"
	"github.com/loyalty/cashback/shared/webhooks"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// clock is the injected clock: the retry schedule runs on it, not on time.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock        { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// manualQueue keeps kicks with their due time on the clock; drain works
// them, moving the clock to the next due kick when none is due, so a test
// runs hours of retries in moments.
type manualQueue struct {
	clock *clock
	mu    sync.Mutex
	items []queued
	sent  int
}

type queued struct {
	k  webhooks.Kick
	at time.Time
}

func (q *manualQueue) Kick(_ context.Context, k webhooks.Kick, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, queued{k, q.clock.Now().Add(delay)})
	q.sent++
	return nil
}

// drain works every kick until the queue is empty. Kicks due together run
// concurrently (as SQS would hand them to several workers).
func (q *manualQueue) drain(t *testing.T, svc *webhooks.Service) {
	t.Helper()
	for round := 0; ; round++ {
		if round > 10000 {
			t.Fatal("the queue never empties")
		}
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		now := q.clock.Now()
		var due, later []queued
		next := time.Time{}
		for _, it := range q.items {
			if !it.at.After(now) {
				due = append(due, it)
			} else {
				later = append(later, it)
				if next.IsZero() || it.at.Before(next) {
					next = it.at
				}
			}
		}
		q.items = later
		q.mu.Unlock()
		if len(due) == 0 {
			q.clock.Set(next)
			continue
		}
		var wg sync.WaitGroup
		for _, it := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := svc.ProcessLane(context.Background(), it.k); err != nil {
					t.Errorf("process lane: %v", err)
				}
			}()
		}
		wg.Wait()
	}
}

// resolver answers from a fixed table (tests resolve nothing for real).
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := r[host]; ok {
		return ips, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

// sender keeps the notices sent.
type sender struct {
	mu   sync.Mutex
	sent []loyalty.Message
}

func (s *sender) Send(_ context.Context, m loyalty.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return nil
}

func (s *sender) messages() []loyalty.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]loyalty.Message(nil), s.sent...)
}

type env struct {
	t      *testing.T
	svc    *webhooks.Service
	queue  *manualQueue
	clock  *clock
	sender *sender
	caller loyalty.Caller
}

func newEnv(t *testing.T, local bool) *env {
	t.Helper()
	st := storetest.NewStore(t)
	c := newClock(time.Now().UTC().Truncate(time.Second))
	q := &manualQueue{clock: c}
	sealer, err := webhooks.NewSealer([]byte("test-webhook-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	snd := &sender{}
	svc := webhooks.New(&webhooks.Service{Store: st, Sealer: sealer, Queue: q, Now: c.Now, Sender: snd,
		Guard: &webhooks.Guard{Local: local}, Timeout: 2 * time.Second})
	return &env{t: t, svc: svc, queue: q, clock: c, sender: snd, caller: loyalty.Caller{TenantID: "t1", Role: loyalty.RoleOwner}}
}

func (e *env) create(url string, events ...string) webhooks.Created {
	e.t.Helper()
	c, _, err := e.svc.Create(context.Background(), e.caller, loyalty.Idem{}, webhooks.CreateRequest{URL: url, Events: events, NotifyEmail: "owner@shop.example"})
	if err != nil {
		e.t.Fatalf("create webhook %s: %v", url, err)
	}
	return c
}

func (e *env) consume(events ...feed.Event) {
	e.t.Helper()
	if err := e.svc.Consume(context.Background(), events); err != nil {
		e.t.Fatalf("consume: %v", err)
	}
}

// event makes a ledger event of a member.
func event(tenant, member string, seq int64, at time.Time) feed.Event {
	return feed.Event{ID: fmt.Sprintf("evt_%s_%s_%d", tenant, member, seq), Type: feed.PointsAccrued, TenantID: tenant, MemberID: member,
		Seq: seq, OccurredAt: at, Data: json.RawMessage(fmt.Sprintf(`{"amount":%d}`, seq*100))}
}

// received is one request a receiver got.
type received struct {
	id, member string
	seq        int64
	status     int
	ts         int64
	sigs       int
}

// receiver verifies every request's signature with the Standard Webhooks
// library (not our signer) against each of secrets, and answers with
// answer(n), n counting requests from 1.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secrets []string
	got     []received
	answer  func(n int) int
	bad     atomic.Int64
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	r := &receiver{t: t, answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secrets := append([]string(nil), r.secrets...)
	n := len(r.got) + 1
	r.mu.Unlock()
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			r.t.Errorf("secret %q: %v", s, err)
			continue
		}
		// The schedule runs on the test's clock, hours ahead of the real
		// one, so the library's 5-minute window is checked separately.
		if err := wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
			r.bad.Add(1)
			r.t.Errorf("signature of %s does not verify with one of the secrets: %v", req.Header.Get("webhook-id"), err)
		}
	}
	var ev feed.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body is not an event: %v", err)
	}
	if ev.ID != req.Header.Get("webhook-id") {
		r.t.Errorf("webhook-id %q, body id %q", req.Header.Get("webhook-id"), ev.ID)
	}
	ts, _ := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	status := r.answer(n)
	r.mu.Lock()
	r.got = append(r.got, received{id: ev.ID, member: ev.MemberID, seq: ev.Seq, status: status, ts: ts,
		sigs: len(strings.Fields(req.Header.Get("webhook-signature")))})
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// acked counts the 2xx answers per webhook-id.
func (r *receiver) acked() map[string]int {
	out := map[string]int{}
	for _, g := range r.requests() {
		if g.status >= 200 && g.status < 300 {
			out[g.id]++
		}
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
