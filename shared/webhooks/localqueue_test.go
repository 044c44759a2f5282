package webhooks_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store/storetest"
	"github.com/loyalty/cashback/shared/webhooks"
)

// The in-process queue of `make run` drives the same worker on real time:
// a receiver down for its first requests gets every event once, in order.
// (A short schedule keeps the test quick; nothing here asserts a duration.)
func TestLocalQueueRunsTheWorker(t *testing.T) {
	t.Parallel()
	st := storetest.NewStore(t)
	sealer, _ := webhooks.NewSealer([]byte("test-webhook-key-0123456789abcdef"))
	q := webhooks.NewLocalQueue()
	svc := webhooks.New(&webhooks.Service{Store: st, Sealer: sealer, Queue: q, Guard: &webhooks.Guard{Local: true},
		Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx, svc, 3); close(done) }()
	defer func() { stop(); <-done }()

	rcv := newReceiver(t, func(n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	caller := loyalty.Caller{TenantID: "t1", Role: loyalty.RoleOwner}
	created, _, err := svc.Create(ctx, caller, loyalty.Idem{}, webhooks.CreateRequest{URL: rcv.url()})
	if err != nil {
		t.Fatal(err)
	}
	rcv.secrets = []string{created.Secret}
	now := time.Now()
	if err := svc.Consume(ctx, []feed.Event{event("t1", "m1", 1, now), event("t1", "m1", 2, now), event("t1", "m1", 3, now)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for len(rcv.acked()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %v", rcv.requests())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var seqs []int64
	for _, g := range rcv.requests() {
		seqs = append(seqs, g.seq)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] < seqs[i-1] {
			t.Fatalf("out of order: %v", seqs)
		}
	}
	for id, n := range rcv.acked() {
		if n != 1 {
			t.Fatalf("%s acknowledged %d times", id, n)
		}
	}
}
