// Package stream reads the table's change stream and hands what changed to
// the feed's consumers. The same Dispatcher runs in the cloud (the dispatch
// Lambda, fed by an event source mapping on DynamoDB Streams) and on a
// laptop (the Poller, reading DynamoDB Local's stream through the same
// DynamoDB Streams API); only how the records arrive differs.
package stream

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/store"
)

// Dispatcher handles one batch of one shard's stream records: it counts
// the uncapped tenants' metered operations (exactly once, see
// store.CountUsage), adds the changes to the reports' daily aggregates and
// liability (exactly once, see store.AggregateReports), decodes the records into events ordered by member and
// seq, and hands the events to every sink in turn. An error means the
// batch must come again: whatever already succeeded for it is idempotent
// (the usage and reports checkpoints skip what they counted, sinks deduplicate on
// Event.ID).
type Dispatcher struct {
	Store  *store.Store
	Sinks  []feed.Sink
	Logger *slog.Logger
}

// NewDispatcher is the dispatcher over the table of st: usage counting,
// then sinks in order. The dispatch function (its main.go) and the local
// server (cmd/loyalty's feedSinks) pass the same sinks.
func NewDispatcher(st *store.Store, logger *slog.Logger, sinks ...feed.Sink) *Dispatcher {
	return &Dispatcher{Store: st, Sinks: sinks, Logger: logger}
}

// Dispatch handles the records of one shard, in stream order.
func (d *Dispatcher) Dispatch(ctx context.Context, shardID string, recs []store.StreamRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if _, err := d.Store.CountUsage(ctx, shardID, recs); err != nil {
		return fmt.Errorf("count usage: %w", err)
	}
	_, skipped, err := d.Store.AggregateReports(ctx, shardID, recs)
	if err != nil {
		return fmt.Errorf("aggregate reports: %w", err)
	}
	for _, err := range skipped {
		d.logger().ErrorContext(ctx, "stream record left out of the reports", "shard", shardID, "error", err.Error())
	}
	events, bad := store.DecodeEvents(recs)
	for _, err := range bad {
		// A record that never decodes must not stall the shard.
		d.logger().ErrorContext(ctx, "stream record skipped", "shard", shardID, "error", err.Error())
	}
	if len(events) == 0 {
		return nil
	}
	for _, s := range d.Sinks {
		if err := s.Consume(ctx, events); err != nil {
			return fmt.Errorf("sink %T: %w", s, err)
		}
	}
	return nil
}

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}
