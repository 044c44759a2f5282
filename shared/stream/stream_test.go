package stream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// recorder is a sink that keeps every event it is handed, checks each
// batch is in seq order per member, and can fail (after keeping the
// batch, as a process dying before its checkpoint would).
type recorder struct {
	t        testing.TB
	mu       sync.Mutex
	batches  int
	events   []feed.Event
	failFrom int // the batch number from which Consume fails (0: never)
}

var errCrash = errors.New("crash after delivery")

func (r *recorder) Consume(_ context.Context, events []feed.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	last := map[string]int64{}
	for _, e := range events {
		k := e.TenantID + "|" + e.MemberID
		if s, ok := last[k]; ok && e.Seq < s {
			r.t.Errorf("batch %d: member %s seq %d after %d", r.batches, e.MemberID, e.Seq, s)
		}
		last[k] = e.Seq
	}
	r.events = append(r.events, events...)
	if r.failFrom > 0 && r.batches >= r.failFrom {
		return errCrash
	}
	return nil
}

// byID counts deliveries per event id.
func (r *recorder) byID() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, e := range r.events {
		out[e.ID]++
	}
	return out
}

func (r *recorder) types() map[string][]feed.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]feed.Event{}
	for _, e := range r.events {
		out[e.Type] = append(out[e.Type], e)
	}
	return out
}

func post(e *apitest.Env, path string, body any) map[string]any {
	e.T.Helper()
	return e.Do("POST", path, body, apitest.Key()).Want(200).JSON()
}

// Every ledger entry kind and every member change reaches the sink as its
// event, read from DynamoDB Local's stream by the poller.
func TestEveryChangeBecomesItsEvent(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{NoProgram: true})
	prog := e.Do("POST", "/v1/programs", map[string]any{"name": "Feed", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50,
		"pendingPeriod": "P1D", "welcomeBonus": map[string]any{"points": 500, "lifetime": "PT1H"},
		"referral": map[string]any{"referrerPoints": 100, "refereePoints": 100},
		"tiers":    []map[string]any{{"name": "Base", "priority": 1, "cashbackPercent": 5, "qualify": map[string]any{"period": "P30D"}}, {"name": "Gold", "priority": 2, "cashbackPercent": 10, "qualify": map[string]any{"period": "P30D", "spend": 100000000}}},
	}, nil).Want(201).JSON()["programId"].(string)
	e.Do("POST", "/v1/programs/"+prog+"/activate", nil, nil).Want(200)
	rec := &recorder{t: t}
	e.Sinks = []feed.Sink{rec}

	m := e.Enroll("+79120000101")                                                                                        // enrolled, welcome
	post(e, "/v1/orders/o1/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 300}) // redeem
	post(e, "/v1/orders/o1/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000})                 // capture, accrue (pending)
	post(e, "/v1/orders/o2/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 10000, "points": 100}) // redeem
	post(e, "/v1/orders/o2/cancel", nil)                                                                                 // release
	post(e, "/v1/orders/o1/refunds", map[string]any{"refundId": "r1", "amount": 5000})                                   // refund
	post(e, "/v1/members/"+m.ID+"/adjustments", map[string]any{"points": 1000, "reason": "goodwill"})                    // adjust
	e.Clock.Advance(25 * time.Hour)
	e.Do("POST", "/v1/admin/expiry-sweep", nil, nil).Want(200) // expire (welcome), mature
	e.Do("POST", "/v1/members/"+m.ID+"/block", nil, nil).Want(200)
	e.Do("POST", "/v1/members/"+m.ID+"/unblock", nil, nil).Want(200)
	e.Do("PUT", "/v1/members/"+m.ID+"/tier", map[string]any{"tier": "Gold"}, nil).Want(200)
	e.Drain() // m's events first, whatever the order within a batch
	// A friend joins with m's code; their first closed order qualifies the
	// referral (the rewards are the referral sink's, not in this feed).
	code := e.Do("GET", "/v1/members/"+m.ID, nil, nil).Want(200).JSON()["referralCode"].(string)
	ch := e.Do("POST", "/v1/enrollments", map[string]any{"phone": "+79120000102", "referralCode": code, "consent": map[string]any{"terms": true}}, nil).Want(201).JSON()["challengeId"].(string)
	friend := e.Do("POST", "/v1/enrollments/"+ch+"/verify", map[string]any{"code": e.Sender.LastCode(t, "+79120000102")}, nil).Want(201).JSON()["memberId"].(string)
	post(e, "/v1/orders/f1/close", map[string]any{"member": map[string]any{"id": friend}, "total": 10000})
	e.Drain()

	got := rec.types()
	for _, typ := range feed.Types {
		if len(got[typ]) == 0 {
			t.Errorf("no %s event; got %v", typ, keys(got))
		}
	}
	var ledger struct {
		Entries []struct {
			Seq  int64  `json:"seq"`
			Kind string `json:"kind"`
		} `json:"entries"`
	}
	e.Do("GET", "/v1/members/"+m.ID+"/ledger", nil, nil).Want(200).Decode(&ledger)
	points := 0
	for typ, evs := range got {
		for _, ev := range evs {
			if typ[:7] == "points." && ev.MemberID == m.ID {
				points++
			}
		}
	}
	if q := got[feed.MemberReferralQualified]; len(q) != 1 || q[0].MemberID != friend {
		t.Errorf("referral qualified events: %v", q)
	}
	if points != len(ledger.Entries) {
		t.Errorf("%d points events for %d ledger entries", points, len(ledger.Entries))
	}
	for id, n := range rec.byID() {
		if n != 1 {
			t.Errorf("event %s delivered %d times in one undisturbed run", id, n)
		}
	}

	var red store.PointsData
	if err := json.Unmarshal(got[feed.PointsRedeemed][0].Data, &red); err != nil {
		t.Fatal(err)
	}
	if red.OrderID != "o1" || red.Held != 300 || red.Available != -300 || red.Balance == nil || red.Balance.Held != 300 || red.Balance.Available != 200 {
		t.Errorf("points.redeemed data: %+v", red)
	}
	var welcome store.PointsData
	if err := json.Unmarshal(got[feed.PointsAccrued][0].Data, &welcome); err != nil || welcome.Kind != loyalty.KindWelcome || welcome.Points != 500 {
		t.Errorf("first accrual is the welcome bonus: %+v %v", welcome, err)
	}
	enr := got[feed.MemberEnrolled][0]
	var md store.MemberData
	if err := json.Unmarshal(enr.Data, &md); err != nil || md.CardNumber != m.Card || md.Tier != "Base" || enr.Seq != 0 || enr.TenantID != e.TenantID || enr.MemberID != m.ID {
		t.Errorf("member.enrolled: %+v data %+v %v", enr, md, err)
	}
	tc := got[feed.MemberTierChanged][0]
	if err := json.Unmarshal(tc.Data, &md); err != nil || md.Tier != "Gold" || md.PreviousTier == nil || *md.PreviousTier != "Base" {
		t.Errorf("member.tier_changed: %s", tc.Data)
	}
	if b := got[feed.MemberBlocked][0]; b.Seq != got[feed.MemberUnblocked][0].Seq || b.ID == got[feed.MemberUnblocked][0].ID {
		t.Errorf("block and unblock at one seq need their own ids: %+v", got[feed.MemberBlocked][0])
	}
}

func keys(m map[string][]feed.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A poller that dies mid-stream (here: after handing a batch to the sink,
// before its checkpoint) and a new one started on the same table lose no
// event and make no second id for any change: the only repeats are the
// batch that was in flight, with the ids it had.
func TestPollerRestartLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ctx := context.Background()
	var members []apitest.Member
	for i := range 4 {
		m := e.Enroll(fmt.Sprintf("+7912000020%d", i))
		members = append(members, m)
		for j := range 3 {
			e.Close(fmt.Sprintf("o%d-%d", i, j), m.ID, 10000).Want(200)
		}
	}

	rec := &recorder{t: t, failFrom: 3}
	first := e.Poller(rec)
	first.BatchSize = 5
	if err := first.Drain(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("the first poller should stop on the crash: %v", err)
	}
	seenBefore := len(rec.byID())
	if seenBefore == 0 {
		t.Fatal("nothing delivered before the crash")
	}

	// More changes while no poller runs.
	for i, m := range members {
		e.Close(fmt.Sprintf("late-%d", i), m.ID, 20000).Want(200)
	}

	rec.mu.Lock()
	rec.failFrom = 0
	rec.mu.Unlock()
	second := e.Poller(rec)
	second.BatchSize = 5
	if err := second.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	want := 0
	for _, m := range members {
		want++ // enrolled
		var ledger struct {
			Entries []json.RawMessage `json:"entries"`
		}
		e.Do("GET", "/v1/members/"+m.ID+"/ledger", nil, nil).Want(200).Decode(&ledger)
		want += len(ledger.Entries)
	}
	ids := rec.byID()
	if len(ids) != want {
		t.Fatalf("%d distinct event ids for %d changes", len(ids), want)
	}
	repeats := 0
	for _, n := range ids {
		repeats += n - 1
	}
	if repeats > 5 {
		t.Fatalf("%d repeated deliveries: more than the batch in flight", repeats)
	}
	perChange := map[string]string{}
	for _, ev := range rec.events {
		k := fmt.Sprintf("%s|%d|%s", ev.MemberID, ev.Seq, ev.Type)
		if id, ok := perChange[k]; ok && id != ev.ID {
			t.Fatalf("change %s got two ids: %s and %s", k, id, ev.ID)
		}
		perChange[k] = ev.ID
	}
	if repeats == 0 {
		t.Fatal("the crashed batch was not delivered again")
	}

	// The reports' aggregates ran before the crashing sink on the batch
	// delivered twice: they counted it once (their checkpoint), so the
	// liability is the balances and every close counts once.
	var sum loyalty.Balance
	for _, m := range members {
		b := e.Balance(m.ID)
		sum.Available, sum.Pending, sum.Held = sum.Available+b.Available, sum.Pending+b.Pending, sum.Held+b.Held
	}
	var l struct {
		Outstanding loyalty.Points `json:"outstanding"`
	}
	e.Do("GET", "/v1/reports/liability", nil, nil).Want(200).Decode(&l)
	var act struct {
		Total struct {
			OrdersClosed int `json:"ordersClosed"`
			NewMembers   int `json:"newMembers"`
		} `json:"total"`
	}
	day := apitest.Start.Format(time.DateOnly)
	e.Do("GET", "/v1/reports/activity?from="+day+"&to="+day, nil, nil).Want(200).Decode(&act)
	if l.Outstanding != sum.Available || act.Total.OrdersClosed != 16 || act.Total.NewMembers != 4 {
		t.Fatalf("after a redelivery: liability %+v for balances %+v, activity %+v", l, sum, act.Total)
	}
}

func usage(e *apitest.Env) map[string]any {
	e.T.Helper()
	u := e.Do("GET", "/v1/usage", nil, nil).Want(200).JSON()
	by, _ := u["byKind"].(map[string]any)
	if by == nil {
		by = map[string]any{}
	}
	by["total"] = u["total"]
	return by
}

// A pay-as-you-go tenant's operations are counted from the stream, once,
// however often the stream is read again.
func TestUsageCountedOnceFromTheStream(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Plan: loyalty.PlanPAYG})
	ctx := context.Background()
	m := e.Enroll("+79120000301") // enroll and verify, without a key
	for i := range 3 {
		e.Close(fmt.Sprintf("o%d", i), m.ID, 10000).Want(200)
	}
	post(e, "/v1/orders/o0/refunds", map[string]any{"refundId": "r", "amount": 1000})
	// A replay is no new operation.
	key := apitest.Key()
	e.Do("POST", "/v1/members/"+m.ID+"/adjustments", map[string]any{"points": 100, "reason": "x"}, key).Want(200)
	e.Do("POST", "/v1/members/"+m.ID+"/adjustments", map[string]any{"points": 100, "reason": "x"}, key).Want(200)

	if u := usage(e); u["total"].(float64) != 0 {
		t.Fatalf("usage counted before the feed ran: %v", u)
	}
	want := map[string]float64{"enroll": 1, "verify": 1, "close": 3, "refund": 1, "adjust": 1, "total": 7}
	check := func(when string) {
		t.Helper()
		u := usage(e)
		for k, n := range want {
			if u[k] != n {
				t.Fatalf("%s: usage %v, want %v", when, u, want)
			}
		}
	}
	e.Drain()
	check("after the feed")

	// Forced redelivery: the reader forgets where it was in every shard,
	// and a new poller reads the whole stream again.
	arn, err := e.Store.StreamARN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := e.Poller()
	_ = arn
	shards, err := p.ShardIDs(ctx)
	if err != nil || len(shards) == 0 {
		t.Fatalf("shards %v: %v", shards, err)
	}
	for _, id := range shards {
		cp, err := e.Store.GetCheckpoint(ctx, id, store.ConsumerReader)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Store.SetCheckpoint(ctx, id, store.ConsumerReader, cp, store.Checkpoint{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the stream was read again")

	// More operations, then the feed again.
	e.Close("late", m.ID, 10000).Want(200)
	e.Drain()
	want["close"], want["total"] = 4, 8
	check("after one more close")
}

// A capped tenant's operations are still counted in their own transaction:
// the cap must hold there, so no feed is needed to read them.
func TestCappedUsageNeedsNoFeed(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000401")
	e.Close("o", m.ID, 10000).Want(200)
	if u := usage(e); u["total"].(float64) != 3 {
		t.Fatalf("usage of a capped tenant: %v", u)
	}
	e.Drain()
	if u := usage(e); u["total"].(float64) != 3 {
		t.Fatalf("the feed counted a capped tenant again: %v", u)
	}
}

// Two pollers reading the same table at once (a server and `usage export`)
// count every operation once: the usage checkpoint moves with the counters
// in one conditioned transaction, and the loser of a race re-reads it.
func TestTwoPollersCountOnce(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{Plan: loyalty.PlanPAYG})
	ctx := context.Background()
	m := e.Enroll("+79120000501")
	for i := range 12 {
		e.Close(fmt.Sprintf("o%d", i), m.ID, 10000).Want(200)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		p := e.Poller()
		p.BatchSize = 3
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.Drain(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if u := usage(e); u["close"] != float64(12) || u["total"] != float64(14) {
		t.Fatalf("usage with two pollers: %v", u)
	}
}
