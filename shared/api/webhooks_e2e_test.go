package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/loyalty/cashback/client"
	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/webhooks"
)

// The feed and webhooks end to end, with nothing called directly but the
// HTTP API, the stream poller and the delivery worker's ProcessLane: a
// receiver on loopback registered through POST /v1/webhooks; operations run
// through the HTTP API; DynamoDB Local's real stream read by the real poller
// into the webhooks sink; the retry schedule run on the injected clock. The
// receiver answers 503 to the first attempts, the first poller is killed
// mid-stream (after its sinks took a batch, before its checkpoint) and a
// new one over the same table takes over after more operations, and the
// secret is rotated mid-stream: every event still arrives once, in seq
// order per member, signed so that both the Standard Webhooks library and
// client.VerifyWebhook accept it.
func TestWebhooksEndToEndOverTheStream(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	// make run's mode: http receivers on loopback are accepted.
	e.App.Webhooks.Guard.Local = true
	q := &clockQueue{clock: e.Clock}
	e.App.Webhooks.Queue = q
	rc := newReceiver(e.Clock, 3)
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)

	created := e.Do("POST", "/v1/webhooks", map[string]any{"url": srv.URL + "/hooks", "description": "e2e"}, apitest.Key()).Want(201).JSON()
	hookID, oldSecret := created["webhookId"].(string), created["secret"].(string)

	// Part one: the operations, then a poller killed mid-stream.
	a, b := e.Enroll("+79120000101"), e.Enroll("+79120000102")
	e.Close("o1", a.ID, 100000).Want(200)
	e.Do("POST", "/v1/orders/o2/redeem", map[string]any{"member": map[string]any{"id": a.ID}, "total": 10000, "points": 1000}, apitest.Key()).Want(200)
	e.Close("o2", a.ID, 10000).Want(200)
	e.Do("POST", "/v1/orders/o1/refunds", map[string]any{"refundId": "r1", "amount": 50000}, apitest.Key()).Want(200)
	e.Do("POST", "/v1/members/"+a.ID+"/adjustments", map[string]any{"points": 700, "reason": "goodwill"}, apitest.Key()).Want(200)
	e.Close("o3", b.ID, 20000).Want(200)
	e.Do("POST", "/v1/members/"+b.ID+"/block", map[string]any{"reason": "fraud check"}, nil).Want(200)

	ctx := context.Background()
	seen := &eventLog{}
	sinks := []feed.Sink{seen, e.App.Webhooks}
	// The first poller reads small batches and is killed mid-stream: its
	// third batch of events reaches the sinks, its checkpoint never.
	p1 := e.Poller(seen, e.App.Webhooks, &killer{after: 2})
	p1.BatchSize = 3
	if _, err := p1.Poll(ctx); !errors.Is(err, errKilled) {
		t.Fatalf("first poller: %v, want it killed", err)
	}
	partial := len(seen.byID())
	q.drain(t, e.App.Webhooks) // the first attempts meet a 503 and are retried on the clock
	if rc.refused() != 3 {
		t.Fatalf("receiver refused %d attempts, want 3", rc.refused())
	}

	// Part two: the secret rotated and more operations before a new poller
	// reads the rest of the stream.
	rotatedAfter := len(rc.all()) // deliveries before the rotation
	newSecret := e.Do("POST", "/v1/webhooks/"+hookID+"/rotate-secret", nil, nil).Want(200).JSON()["secret"].(string)
	e.Close("o4", a.ID, 40000).Want(200)
	e.Do("POST", "/v1/members/"+a.ID+"/adjustments", map[string]any{"points": -300, "reason": "correction"}, apitest.Key()).Want(200)
	c := e.Enroll("+79120000103")
	e.Close("o5", c.ID, 30000).Want(200)
	// A new poller over the same table resumes from the first one's
	// checkpoint: the killed batch comes again, then the rest.
	if err := e.Poller(sinks...).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	q.drain(t, e.App.Webhooks)
	if n := len(seen.byID()); partial == 0 || partial >= n {
		t.Fatalf("the first poller dispatched %d of %d events: not stopped mid-stream", partial, n)
	}
	if n, ids := seen.count(), len(seen.byID()); n <= ids {
		t.Fatalf("no batch was dispatched twice (%d events, %d ids): the kill redelivered nothing", n, ids)
	}

	// Every event the feed produced was acknowledged exactly once.
	events := seen.byID()
	acked := map[string]int{}
	for _, d := range rc.all() {
		if d.status == 200 {
			acked[d.id]++
		}
	}
	for id, ev := range events {
		if acked[id] != 1 {
			t.Errorf("event %s (%s) acknowledged %d times, want once", id, ev.Type, acked[id])
		}
	}
	for id := range acked {
		if _, ok := events[id]; !ok {
			t.Errorf("delivery %s is no event of the feed", id)
		}
	}

	// The operations' event types, each as often as it happened: no event
	// lost or given a second id by the stopped and the killed pollers.
	types := map[string]int{}
	for _, ev := range events {
		types[ev.Type]++
	}
	want := map[string]int{
		feed.MemberEnrolled: 3, feed.PointsAccrued: 5, feed.PointsRedeemed: 1, feed.PointsCaptured: 1,
		feed.PointsRefunded: 1, feed.PointsAdjusted: 2, feed.MemberBlocked: 1,
	}
	for ty, n := range want {
		if types[ty] != n {
			t.Errorf("%s: %d events, want %d (all: %v)", ty, types[ty], n, types)
		}
	}

	// Signatures, per-member order and rotation.
	lib := func(secret string) *standardwebhooks.Webhook {
		w, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	oldLib, newLib := lib(oldSecret), lib(newSecret)
	// One ledger entry may make two events (a close capturing a hold
	// accrues too): they share its seq.
	lastSeq := map[string]int64{}
	bothSigned := 0
	for i, d := range rc.all() {
		// The library checks the timestamp against the wall clock; the
		// service signs with the injected clock, which client.VerifyWebhook
		// is given (the time the receiver got the request).
		sigs := strings.Fields(d.header.Get(webhooks.HeaderSignature))
		if i < rotatedAfter {
			if len(sigs) != 1 {
				t.Errorf("%s before the rotation: %d signatures", d.id, len(sigs))
			}
			if err := oldLib.VerifyIgnoringTimestamp(d.body, d.header); err != nil {
				t.Errorf("%s: standard-webhooks: %v", d.id, err)
			}
			if err := client.VerifyWebhook(d.header, d.body, d.at, oldSecret); err != nil {
				t.Errorf("%s: client.VerifyWebhook: %v", d.id, err)
			}
			if newLib.VerifyIgnoringTimestamp(d.body, d.header) == nil {
				t.Errorf("%s signed with the secret of a later rotation", d.id)
			}
		} else {
			if len(sigs) != 2 {
				t.Errorf("%s after the rotation: %d signatures, want the old and the new", d.id, len(sigs))
			}
			for _, s := range []struct {
				secret string
				lib    *standardwebhooks.Webhook
			}{{oldSecret, oldLib}, {newSecret, newLib}} {
				if err := s.lib.VerifyIgnoringTimestamp(d.body, d.header); err != nil {
					t.Errorf("%s: standard-webhooks: %v", d.id, err)
				}
				if err := client.VerifyWebhook(d.header, d.body, d.at, s.secret); err != nil {
					t.Errorf("%s: client.VerifyWebhook: %v", d.id, err)
				}
			}
			bothSigned++
		}
		if ts, _ := strconv.ParseInt(d.header.Get(webhooks.HeaderTimestamp), 10, 64); ts != d.at.Unix() {
			t.Errorf("%s: webhook-timestamp %d, the clock was at %d", d.id, ts, d.at.Unix())
		}
		var ev client.WebhookEvent
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatalf("%s: body: %v", d.id, err)
		}
		if ev.ID != d.id || ev.TenantID != e.TenantID {
			t.Errorf("body %+v under webhook-id %s", ev, d.id)
		}
		if d.status == 200 && ev.MemberID != "" {
			if last, ok := lastSeq[ev.MemberID]; ok && ev.Seq < last {
				t.Errorf("member %s: seq %d delivered after %d", ev.MemberID, ev.Seq, lastSeq[ev.MemberID])
			}
			lastSeq[ev.MemberID] = ev.Seq
		}
	}
	if bothSigned == 0 {
		t.Fatal("no delivery after the rotation")
	}
	if len(lastSeq) != 3 {
		t.Fatalf("events of %d members, want 3", len(lastSeq))
	}

	// The delivery log shows the retries of the 503s.
	var log struct {
		Deliveries []webhooks.Attempt `json:"deliveries"`
	}
	e.Do("GET", "/v1/webhooks/"+hookID+"/deliveries?limit=100", nil, nil).Want(200).Decode(&log)
	failed := 0
	for _, a := range log.Deliveries {
		if a.ResponseCode == 503 {
			failed++
		}
	}
	if failed != 3 {
		t.Fatalf("delivery log: %d attempts answered 503, want 3", failed)
	}
}

// clockQueue keeps kicks with their due time on the injected clock; drain
// works them with the worker's ProcessLane, moving the clock to the next
// due kick when none is due, so the retry schedule runs in moments.
type clockQueue struct {
	clock *apitest.Clock
	mu    sync.Mutex
	items []clockKick
}

type clockKick struct {
	k  webhooks.Kick
	at time.Time
}

func (q *clockQueue) Kick(_ context.Context, k webhooks.Kick, delay time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, clockKick{k, q.clock.Now().Add(delay)})
	return nil
}

// drain works every kick until none is left; kicks due together run
// concurrently, as several workers would take them.
func (q *clockQueue) drain(t *testing.T, svc *webhooks.Service) {
	t.Helper()
	for round := 0; ; round++ {
		if round > 1000 {
			t.Fatal("the delivery queue never empties")
		}
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		now := q.clock.Now()
		var due, later []clockKick
		var next time.Time
		for _, it := range q.items {
			if !it.at.After(now) {
				due = append(due, it)
				continue
			}
			later = append(later, it)
			if next.IsZero() || it.at.Before(next) {
				next = it.at
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

// receiver is the tenant's endpoint on loopback: it answers 503 to its
// first `down` requests and 200 after, and keeps every request.
type receiver struct {
	clock *apitest.Clock
	down  int
	mu    sync.Mutex
	got   []delivery
}

type delivery struct {
	id     string
	header http.Header
	body   []byte
	at     time.Time // the injected clock when it arrived
	status int
}

func newReceiver(c *apitest.Clock, down int) *receiver { return &receiver{clock: c, down: down} }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	status := 200
	if len(r.got) < r.down {
		status = http.StatusServiceUnavailable
	}
	r.got = append(r.got, delivery{id: req.Header.Get(webhooks.HeaderID), header: req.Header.Clone(), body: body, at: r.clock.Now(), status: status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) all() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *receiver) refused() int {
	n := 0
	for _, d := range r.all() {
		if d.status != 200 {
			n++
		}
	}
	return n
}

// eventLog is a sink keeping the feed's events by id.
type eventLog struct {
	mu     sync.Mutex
	events []feed.Event
}

func (l *eventLog) Consume(_ context.Context, evs []feed.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, evs...)
	return nil
}

// count is how many events the sink took, redeliveries included.
func (l *eventLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

func (l *eventLog) byID() map[string]feed.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]feed.Event{}
	for _, ev := range l.events {
		out[ev.ID] = ev
	}
	return out
}

var errKilled = errors.New("killed between dispatch and checkpoint")

// killer is the last sink of a poller that dies after its sinks took a
// batch and before the batch's checkpoint is written: it lets `after`
// batches through, then fails every batch.
type killer struct{ after, n int }

func (k *killer) Consume(context.Context, []feed.Event) error {
	if k.n++; k.n > k.after {
		return errKilled
	}
	return nil
}
