package recentops_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/recentops"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func op(i int) recentops.Op {
	return recentops.Op{ID: fmt.Sprintf("ev%03d", i), At: t0.Add(time.Duration(i) * time.Second), Kind: "accrue", MemberID: "m"}
}

func TestMergeKeepsNewestOnceAndIsOrderFree(t *testing.T) {
	var all []recentops.Op
	for i := range 30 {
		all = append(all, op(i))
	}
	// In order, in reverse, in two overlapping halves: the same list.
	a, _ := recentops.Merge(nil, all)
	var rev []recentops.Op
	for i := len(all) - 1; i >= 0; i-- {
		rev = append(rev, all[i])
	}
	b, _ := recentops.Merge(nil, rev)
	c, _ := recentops.Merge(nil, all[10:])
	c, _ = recentops.Merge(c, all[:20])
	for _, l := range [][]recentops.Op{a, b, c} {
		if len(l) != recentops.Keep || l[0].ID != "ev029" || l[recentops.Keep-1].ID != "ev010" {
			t.Fatalf("merged %d ops, %s … %s", len(l), l[0].ID, l[len(l)-1].ID)
		}
	}
	// A redelivered op, kept or already dropped, changes nothing.
	if _, changed := recentops.Merge(a, []recentops.Op{op(29), op(3)}); changed {
		t.Error("a redelivery changed the list")
	}
	if _, changed := recentops.Merge(a, []recentops.Op{op(40)}); !changed {
		t.Error("a new op did not change the list")
	}
}

// event is a points.* event of a member at a point of sale, as the stream
// decodes a ledger entry.
func event(t *testing.T, tenant, member, pos string, seq int64, kind string, points, held int64) feed.Event {
	t.Helper()
	data, err := json.Marshal(map[string]any{"kind": kind, "points": points, "dHeld": held, "orderId": "o1", "pointOfSaleId": pos})
	if err != nil {
		t.Fatal(err)
	}
	return feed.Event{ID: fmt.Sprintf("%s-%s-%d", tenant, member, seq), Type: "points." + kind, TenantID: tenant, MemberID: member,
		Seq: seq, OccurredAt: t0.Add(time.Duration(seq) * time.Second), Data: data}
}

func TestSinkOverDynamoDB(t *testing.T) {
	e := apitest.New(t)
	st, ctx := e.Store, context.Background()
	m1, m2 := e.Enroll("+79120001234"), e.Enroll("+79120005678")
	tn := e.TenantID
	sink := &recentops.Sink{Store: st}
	batch := []feed.Event{
		event(t, tn, m1.ID, "pos-a", 1, "redeem", -2000, 2000),
		event(t, tn, m1.ID, "pos-a", 2, "capture", 0, -2000),
		event(t, tn, m2.ID, "pos-b", 1, "accrue", 900, 0),
		event(t, tn, m2.ID, "", 2, "expire", -100, 0), // not at a till
		{ID: "x", Type: feed.MemberBlocked, TenantID: tn, MemberID: m1.ID},
	}
	for range 2 { // the second is a redelivery
		if err := sink.Consume(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	a, err := st.Recent(ctx, tn, "pos-a")
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != 1 || len(a.Ops) != 2 || a.Ops[0].Kind != "capture" || a.Ops[0].Held != -2000 || a.Ops[1].Points != -2000 || a.Ops[0].Card != recentops.MaskCard(m1.Card) {
		t.Fatalf("pos-a: %+v", a)
	}
	b, _ := st.Recent(ctx, tn, "pos-b")
	if len(b.Ops) != 1 || b.Ops[0].Card != recentops.MaskCard(m2.Card) {
		t.Fatalf("pos-b: %+v", b)
	}

	// Two consumers at once (two shards' batches) lose nothing: the
	// version condition makes the later one merge again.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- (&recentops.Sink{Store: st}).Consume(ctx, []feed.Event{event(t, tn, m2.ID, "pos-a", int64(10+i), "accrue", 100, 0)})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, _ = st.Recent(ctx, tn, "pos-a")
	if len(a.Ops) != 12 || a.Ops[0].Seq != 19 {
		t.Fatalf("after concurrent batches: %d ops, newest seq %d", len(a.Ops), a.Ops[0].Seq)
	}
}
