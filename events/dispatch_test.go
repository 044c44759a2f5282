package events_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/stream"
)

type sinkFunc func([]feed.Event)

func (f sinkFunc) Consume(_ context.Context, evs []feed.Event) error { f(evs); return nil }

// The dispatch function's handler turns the fixture's records into events
// (the entry, the tier change; the idempotency record is none) and counts
// the metered operation once, however often the batch is delivered.
func TestDispatchFixtureThroughTheHandler(t *testing.T) {
	e := apitest.New(t)
	ctx := context.Background()
	b, err := os.ReadFile("dispatch/stream.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBTimeWindowEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var got []feed.Event
	handler := stream.LambdaHandler(stream.NewDispatcher(e.Store, e.App.Logger, sinkFunc(func(evs []feed.Event) { got = append(got, evs...) })), false)
	for range 2 { // delivered twice
		if _, err := handler(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 4 || got[0].Type != feed.PointsAccrued || got[1].Type != feed.MemberTierChanged || got[0].ID != got[2].ID || got[1].ID != got[3].ID {
		t.Fatalf("events %+v", got)
	}
	var d store.PointsData
	if err := json.Unmarshal(got[0].Data, &d); err != nil || d.OrderID != "fx-o1" || d.Points != 500 || d.Balance == nil || d.Balance.Available != 600 ||
		got[0].TenantID != "t_fixture" || got[0].MemberID != "m_fixture" || got[0].Seq != 2 {
		t.Fatalf("accrual %+v data %+v %v", got[0], d, err)
	}
	u, err := e.Store.Usage(ctx, "t_fixture", "2026-11")
	if err != nil || u["close"] != 1 {
		t.Fatalf("usage %v %v", u, err)
	}
	// An event without a shard (a mapping without a tumbling window) is
	// refused: a checkpoint shared by shards would skip records.
	noShard := ev
	noShard.ShardID = ""
	if _, err := handler(ctx, noShard); err == nil {
		t.Fatal("an event naming no shard was dispatched")
	}
	// A final call of the window carries no records.
	if _, err := handler(ctx, events.DynamoDBTimeWindowEvent{TimeWindowProperties: events.TimeWindowProperties{ShardID: ev.ShardID, IsFinalInvokeForWindow: true}}); err != nil {
		t.Fatal(err)
	}
}
