package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/webhooks"
)

// A receiver down (503) for its first 25 requests still gets every event,
// each webhook-id acknowledged once, each member's events in seq order
// (a later event never reaches it while an earlier one is being retried),
// every signature verifying with the Standard Webhooks library, though the
// stream delivered the batch twice.
func TestDeliveryThroughOutageInOrderOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	rcv := newReceiver(t, func(n int) int {
		if n <= 25 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	created := e.create(rcv.url())
	rcv.secrets = []string{created.Secret}

	start := e.clock.Now()
	var batch []feed.Event
	for seq := int64(1); seq <= 6; seq++ {
		for _, m := range []string{"m1", "m2", "m3"} {
			batch = append(batch, event("t1", m, seq, start))
		}
	}
	batch = append(batch, feed.Event{ID: "evt_t1_program", Type: feed.MemberEnrolled, TenantID: "t1", OccurredAt: start, Data: []byte(`{}`)})
	e.consume(batch...)
	e.consume(batch...) // the stream redelivers the batch
	e.queue.drain(t, e.svc)

	acked := rcv.acked()
	for _, ev := range batch {
		if acked[ev.ID] != 1 {
			t.Errorf("event %s acknowledged %d times", ev.ID, acked[ev.ID])
		}
	}
	if len(acked) != len(batch) {
		t.Errorf("%d ids acknowledged, want %d: %v", len(acked), len(batch), sortedKeys(acked))
	}
	// Every request a member's lane made, failed ones included, in seq order.
	last := map[string]int64{}
	for _, g := range rcv.requests() {
		if g.member == "" {
			continue
		}
		if g.seq < last[g.member] {
			t.Errorf("member %s: seq %d sent after seq %d", g.member, g.seq, last[g.member])
		}
		last[g.member] = g.seq
		if g.sigs != 1 {
			t.Errorf("%d signatures without a rotation", g.sigs)
		}
	}
	if rcv.bad.Load() != 0 {
		t.Fatalf("%d signatures did not verify", rcv.bad.Load())
	}
	if e.clock.Now().Sub(start) < 5*time.Second {
		t.Errorf("the retries ran without the schedule (clock moved %v)", e.clock.Now().Sub(start))
	}

	// The delivery log shows the failed and the delivered attempts.
	var all []webhooks.Attempt
	cursor := ""
	for page := 0; page < 20; page++ {
		as, next, err := e.svc.Attempts(context.Background(), e.caller, created.ID, 7, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, as...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(all) != len(rcv.requests()) {
		t.Fatalf("delivery log has %d attempts, the receiver got %d requests", len(all), len(rcv.requests()))
	}
	byStatus := map[string]int{}
	for i, a := range all {
		byStatus[a.Status]++
		if i > 0 && a.At.After(all[i-1].At) {
			t.Errorf("log not newest first at %d", i)
		}
		if a.Status == webhooks.StatusFailed && (a.ResponseCode != 503 || a.NextAt.IsZero()) {
			t.Errorf("failed attempt %+v", a)
		}
	}
	if byStatus[webhooks.StatusDelivered] != len(batch) || byStatus[webhooks.StatusFailed] != 25 {
		t.Errorf("log statuses %v", byStatus)
	}
}

// The schedule is Standard Webhooks': 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
// 10 h after the first try, then the dead letters; replay delivers it once
// more under the same id.
func TestScheduleDeadLetterReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	up := false
	rcv := newReceiver(t, func(int) int {
		if up {
			return http.StatusOK
		}
		return http.StatusInternalServerError
	})
	created := e.create(rcv.url())
	rcv.secrets = []string{created.Secret}
	start := e.clock.Now()
	e.consume(event("t1", "m1", 1, start))
	e.queue.drain(t, e.svc)

	got := rcv.requests()
	if len(got) != 8 {
		t.Fatalf("%d attempts, want 8", len(got))
	}
	wantGaps := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for i, gap := range wantGaps {
		if d := time.Duration(got[i+1].ts-got[i].ts) * time.Second; d != gap {
			t.Errorf("wait before try %d: %v, want %v", i+2, d, gap)
		}
	}
	dls, _, err := e.svc.DeadLetters(context.Background(), e.caller, created.ID, 10, "")
	if err != nil || len(dls) != 1 || dls[0].EventID != "evt_t1_m1_1" || dls[0].Attempts != 8 {
		t.Fatalf("dead letters %+v %v", dls, err)
	}
	up = true
	res, _, err := e.svc.Replay(context.Background(), e.caller, loyalty.Idem{}, created.ID, "evt_t1_m1_1")
	if err != nil || res.Status != "queued" {
		t.Fatalf("replay: %+v %v", res, err)
	}
	if _, _, err := e.svc.Replay(context.Background(), e.caller, loyalty.Idem{}, created.ID, "evt_t1_m1_1"); !errorsIs(err, webhooks.ErrDeadLetterNotFound) {
		t.Fatalf("second replay: %v", err)
	}
	e.queue.drain(t, e.svc)
	if n := rcv.acked()["evt_t1_m1_1"]; n != 1 {
		t.Fatalf("replayed event acknowledged %d times", n)
	}
	dls, _, _ = e.svc.DeadLetters(context.Background(), e.caller, created.ID, 10, "")
	if len(dls) != 0 {
		t.Fatalf("dead letters after replay: %+v", dls)
	}
	// The stream redelivering the event after all that queues nothing.
	e.consume(event("t1", "m1", 1, start))
	e.queue.drain(t, e.svc)
	if len(rcv.requests()) != 9 {
		t.Fatalf("a redelivered event was sent again: %d requests", len(rcv.requests()))
	}
}

func errorsIs(err, target error) bool {
	return err != nil && loyalty.CodeOf(err) == loyalty.CodeOf(target)
}

// After a rotation both secrets sign for 24 hours (two v1 signatures, each
// verifying on its own), then only the new one.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	rcv := newReceiver(t, func(int) int { return 200 })
	old := e.create(rcv.url())
	rotated, _, err := e.svc.Rotate(context.Background(), e.caller, loyalty.Idem{}, old.ID)
	if err != nil || rotated.Secret == old.Secret || rotated.ID != old.ID {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	rcv.secrets = []string{old.Secret, rotated.Secret}
	e.consume(event("t1", "m1", 1, e.clock.Now()))
	e.queue.drain(t, e.svc)
	if g := rcv.requests(); len(g) != 1 || g[0].sigs != 2 {
		t.Fatalf("during the overlap: %+v", g)
	}

	e.clock.Advance(webhooks.RotationOverlap + time.Second)
	rcv.mu.Lock()
	rcv.secrets = []string{rotated.Secret}
	rcv.mu.Unlock()
	e.consume(event("t1", "m1", 2, e.clock.Now()))
	e.queue.drain(t, e.svc)
	g := rcv.requests()
	if len(g) != 2 || g[1].sigs != 1 {
		t.Fatalf("after the overlap: %+v", g)
	}
	if rcv.bad.Load() != 0 {
		t.Fatalf("%d signatures failed", rcv.bad.Load())
	}
}

// 410 Gone disables the endpoint at once: the event goes to the dead
// letters, the contact is told, later events are not queued for it.
func TestGoneDisables(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	gone := true
	rcv := newReceiver(t, func(int) int {
		if gone {
			return http.StatusGone
		}
		return http.StatusOK
	})
	created := e.create(rcv.url())
	rcv.secrets = []string{created.Secret}
	e.consume(event("t1", "m1", 1, e.clock.Now()), event("t1", "m1", 2, e.clock.Now()))
	e.queue.drain(t, e.svc)
	ep, err := e.svc.Get(context.Background(), e.caller, created.ID)
	if err != nil || !ep.Disabled {
		t.Fatalf("endpoint after 410: %+v %v", ep, err)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("%d requests after a 410, want 1", n)
	}
	dls, _, _ := e.svc.DeadLetters(context.Background(), e.caller, created.ID, 10, "")
	if len(dls) != 2 {
		t.Fatalf("dead letters %+v", dls)
	}
	if m := e.sender.messages(); len(m) != 1 || m[0].To != "owner@shop.example" {
		t.Fatalf("notices %+v", m)
	}
	e.consume(event("t1", "m1", 3, e.clock.Now()))
	if e.queue.sent != 1 {
		t.Fatalf("%d kicks: a disabled endpoint still gets deliveries queued", e.queue.sent)
	}
	if _, _, err := e.svc.Replay(context.Background(), e.caller, loyalty.Idem{}, created.ID, "evt_t1_m1_1"); !errorsIs(err, webhooks.ErrDisabled) {
		t.Fatalf("replay to a disabled endpoint: %v", err)
	}

	// Switched on again, the dead letters replay in order, once each.
	gone = false
	if ep, err := e.svc.Enable(context.Background(), e.caller, created.ID); err != nil || ep.Disabled {
		t.Fatalf("enable: %+v %v", ep, err)
	}
	for _, id := range []string{"evt_t1_m1_1", "evt_t1_m1_2"} {
		if _, _, err := e.svc.Replay(context.Background(), e.caller, loyalty.Idem{}, created.ID, id); err != nil {
			t.Fatalf("replay %s: %v", id, err)
		}
	}
	e.queue.drain(t, e.svc)
	acked := rcv.acked()
	if acked["evt_t1_m1_1"] != 1 || acked["evt_t1_m1_2"] != 1 || len(acked) != 2 {
		t.Fatalf("after enabling and replaying: %v", acked)
	}
	got := rcv.requests()
	if got[len(got)-2].seq != 1 || got[len(got)-1].seq != 2 {
		t.Fatalf("replayed out of order: %+v", got)
	}
}

// An endpoint failing continuously for 5 days is disabled and the contact
// told once; a success in between starts the count again.
func TestFailingFiveDaysDisables(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	rcv := newReceiver(t, func(int) int { return 502 })
	created := e.create(rcv.url())
	rcv.secrets = []string{created.Secret}
	start := e.clock.Now()
	for day := 0; day <= 5; day++ {
		e.clock.Set(start.Add(time.Duration(day) * 24 * time.Hour))
		e.consume(event("t1", fmt.Sprintf("m%d", day), 1, e.clock.Now()))
		e.queue.drain(t, e.svc)
	}
	ep, _ := e.svc.Get(context.Background(), e.caller, created.ID)
	if !ep.Disabled {
		t.Fatalf("endpoint failing for 5 days is enabled: %+v", ep)
	}
	last := rcv.requests()[len(rcv.requests())-1]
	if since := time.Unix(last.ts, 0).Sub(start); since < 5*24*time.Hour {
		t.Fatalf("disabled after %v", since)
	}
	if m := e.sender.messages(); len(m) != 1 {
		t.Fatalf("notices %+v", m)
	}
}

// Deleting an endpoint drops what is queued for it: nothing is sent, nothing
// is kept, and no lane is left for reconciliation to kick.
func TestDeletedEndpointDropsItsQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	rcv := newReceiver(t, func(int) int { return 200 })
	created := e.create(rcv.url())
	e.consume(event("t1", "m1", 1, e.clock.Now()), event("t1", "m2", 1, e.clock.Now()))
	if err := e.svc.Delete(context.Background(), e.caller, created.ID); err != nil {
		t.Fatal(err)
	}
	e.queue.drain(t, e.svc)
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("%d requests to a deleted endpoint", n)
	}
	lanes, err := e.svc.Store.DueLanes(context.Background(), e.clock.Now().Add(time.Hour), 100)
	if err != nil || len(lanes) != 0 {
		t.Fatalf("lanes left: %v %v", lanes, err)
	}
	if n, err := e.svc.Reconcile(context.Background()); err != nil || n != 0 {
		t.Fatalf("reconcile kicked %d lanes: %v", n, err)
	}
}

// A kick lost between the state write and the queue (a crash) delays the
// delivery until reconciliation kicks the lane again; it is never lost.
func TestReconcileFindsLostKicks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	rcv := newReceiver(t, func(int) int { return 200 })
	created := e.create(rcv.url())
	rcv.secrets = []string{created.Secret}
	e.consume(event("t1", "m1", 1, e.clock.Now()))
	e.queue.mu.Lock()
	e.queue.items = nil // the kick is lost
	e.queue.mu.Unlock()
	if n, err := e.svc.Reconcile(context.Background()); err != nil || n != 0 {
		t.Fatalf("a fresh delivery is not overdue yet: %d %v", n, err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := e.svc.Reconcile(context.Background()); err != nil || n != 1 {
		t.Fatalf("reconcile kicked %d lanes: %v", n, err)
	}
	e.queue.drain(t, e.svc)
	if acked := rcv.acked(); acked["evt_t1_m1_1"] != 1 {
		t.Fatalf("after reconciliation: %v", acked)
	}
}
