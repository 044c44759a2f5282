package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/loyalty/cashback/shared/store"
)

// API is the part of the DynamoDB Streams client the poller uses.
type API interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// NewPoller reads the stream of st's table through streams (locally,
// DynamoDB Local's Streams API) into d: what `serve` runs in place of the
// dispatch function's event source mapping.
func NewPoller(ctx context.Context, st *store.Store, streams API, d *Dispatcher) (*Poller, error) {
	arn, err := st.StreamARN(ctx)
	if err != nil {
		return nil, err
	}
	if arn == "" {
		return nil, fmt.Errorf("the table %s has no stream", st.Table())
	}
	return &Poller{Streams: streams, Store: st, StreamARN: arn, Dispatch: d.Dispatch, Logger: d.Logger}, nil
}

// Poller reads the table's stream the way Lambda's event source mapping
// does: every shard, a parent before its children, each shard's records in
// order, in batches handed to Dispatch. Where it stands in each shard is
// kept in the table (store.ConsumerReader checkpoints), so a restarted
// poller resumes after the last batch it finished; a batch it was in the
// middle of comes again, which the dispatcher and sinks take (see
// Dispatcher).
type Poller struct {
	Streams   API
	Store     *store.Store
	StreamARN string
	Dispatch  func(ctx context.Context, shardID string, recs []store.StreamRecord) error
	// Interval between passes when nothing was new (default 200 ms).
	Interval time.Duration
	// BatchSize is the most records per GetRecords and Dispatch (default 100).
	BatchSize int32
	Logger    *slog.Logger

	shards map[string]*shardState
	// The shard list, described again every listEvery and whenever a shard
	// ends (its children start), not on every idle pass.
	listed   []types.Shard
	listedAt time.Time
	relist   bool
}

const listEvery = time.Second

// shardState is what the poller knows of one shard between passes.
type shardState struct {
	saved store.Checkpoint // as stored
	pos   string           // last sequence number dispatched
	iter  *string
}

// Run polls until ctx ends. A failed pass is logged and tried again.
func (p *Poller) Run(ctx context.Context) error {
	every := p.Interval
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	for {
		n, err := p.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			p.logger().Error("stream poll failed", "error", err.Error())
		}
		if n > 0 && err == nil {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// Drain polls until a pass finds nothing new: everything committed before
// it was called has been dispatched when it returns. Tests use it to wait
// for the feed (usage of uncapped tenants is counted from it).
func (p *Poller) Drain(ctx context.Context) error {
	quiet := 0
	for quiet < 2 { // a pass may write checkpoints, whose records the next one reads
		p.relist = true
		n, err := p.Poll(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return nil
}

// Poll makes one pass over the stream's shards and returns how many records
// it dispatched.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	if p.listed == nil || p.relist || time.Since(p.listedAt) > listEvery {
		shards, err := p.listShards(ctx)
		if err != nil {
			return 0, err
		}
		p.listed, p.listedAt, p.relist = shards, time.Now(), false
	}
	shards := p.listed
	if p.shards == nil {
		p.shards = map[string]*shardState{}
	}
	known := map[string]bool{}
	for _, s := range shards {
		known[aws.ToString(s.ShardId)] = true
	}
	total := 0
	// Shards come oldest first; a child waits until its parent is read to
	// its end, so a member's changes are dispatched in order across a split.
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		st, err := p.state(ctx, id)
		if err != nil {
			return total, err
		}
		if st.saved.Done {
			continue
		}
		if parent := aws.ToString(s.ParentShardId); parent != "" && known[parent] {
			ps, err := p.state(ctx, parent)
			if err != nil {
				return total, err
			}
			if !ps.saved.Done {
				continue
			}
		}
		n, err := p.readShard(ctx, id, st)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (p *Poller) listShards(ctx context.Context) ([]types.Shard, error) {
	var shards []types.Shard
	var start *string
	for {
		out, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &p.StreamARN, ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return shards, nil
		}
	}
}

func (p *Poller) state(ctx context.Context, shardID string) (*shardState, error) {
	if st, ok := p.shards[shardID]; ok {
		return st, nil
	}
	cp, err := p.Store.GetCheckpoint(ctx, shardID, store.ConsumerReader)
	if err != nil {
		return nil, err
	}
	st := &shardState{saved: cp, pos: cp.Seq}
	p.shards[shardID] = st
	return st, nil
}

// readShard dispatches what the shard holds beyond the poller's position,
// batch after batch, until it is caught up.
func (p *Poller) readShard(ctx context.Context, shardID string, st *shardState) (int, error) {
	total := 0
	for {
		if st.iter == nil {
			in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &p.StreamARN, ShardId: &shardID, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
			if st.pos != "" {
				in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(st.pos)
			}
			out, err := p.Streams.GetShardIterator(ctx, in)
			if err != nil {
				return total, fmt.Errorf("shard iterator %s: %w", shardID, err)
			}
			st.iter = out.ShardIterator
		}
		out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: st.iter, Limit: aws.Int32(p.batchSize())})
		var expired *types.ExpiredIteratorException
		var trimmed *types.TrimmedDataAccessException
		switch {
		case errors.As(err, &expired):
			st.iter = nil // from the position again
			continue
		case errors.As(err, &trimmed):
			// Older than the stream keeps (24 h): what was missed is gone.
			p.logger().Error("stream records trimmed before they were read", "shard", shardID, "after", st.pos)
			st.pos, st.iter = "", nil
			continue
		case err != nil:
			return total, fmt.Errorf("get records %s: %w", shardID, err)
		}
		recs, err := convert(out.Records)
		if err != nil {
			return total, err
		}
		if len(recs) > 0 {
			if err := p.Dispatch(ctx, shardID, recs); err != nil {
				st.iter = nil // the batch comes again from the position
				return total, err
			}
			total += len(recs)
			st.pos = recs[len(recs)-1].SequenceNumber
			// Only a batch with something besides checkpoints moves the
			// saved one: saving it is a write, which the stream records,
			// and the poller must not keep feeding itself.
			if hasNews(recs) {
				if moved, err := p.save(ctx, shardID, st, store.Checkpoint{Seq: st.pos}); moved || err != nil {
					return total, err
				}
			}
		}
		st.iter = out.NextShardIterator
		if st.iter == nil { // closed, and read to its end
			p.relist = true
			_, err := p.save(ctx, shardID, st, store.Checkpoint{Seq: st.pos, Done: true})
			return total, err
		}
		if len(recs) == 0 {
			return total, nil
		}
	}
}

// save moves the shard's stored checkpoint. moved says another poller on
// this table moved it first: this one forgets the shard and, on its next
// pass, resumes from where the other stands.
func (p *Poller) save(ctx context.Context, shardID string, st *shardState, next store.Checkpoint) (moved bool, err error) {
	err = p.Store.SetCheckpoint(ctx, shardID, store.ConsumerReader, st.saved, next)
	if errors.Is(err, store.ErrCheckpointMoved) {
		delete(p.shards, shardID)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	st.saved = next
	return false, nil
}

func hasNews(recs []store.StreamRecord) bool {
	for _, r := range recs {
		if !store.IsCheckpoint(r) {
			return true
		}
	}
	return false
}

func (p *Poller) batchSize() int32 {
	if p.BatchSize <= 0 {
		return 100
	}
	return p.BatchSize
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// convert turns the stream API's records into the store's form.
func convert(in []types.Record) ([]store.StreamRecord, error) {
	out := make([]store.StreamRecord, 0, len(in))
	for _, r := range in {
		d := r.Dynamodb
		if d == nil {
			continue
		}
		rec := store.StreamRecord{EventName: string(r.EventName), SequenceNumber: aws.ToString(d.SequenceNumber), At: aws.ToTime(d.ApproximateCreationDateTime)}
		var err error
		if rec.Keys, err = attributevalue.FromDynamoDBStreamsMap(d.Keys); err == nil {
			if rec.NewImage, err = attributevalue.FromDynamoDBStreamsMap(d.NewImage); err == nil {
				rec.OldImage, err = attributevalue.FromDynamoDBStreamsMap(d.OldImage)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("stream record %s: %w", rec.SequenceNumber, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// ShardIDs lists the stream's shards, oldest first.
func (p *Poller) ShardIDs(ctx context.Context) ([]string, error) {
	shards, err := p.listShards(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(shards))
	for i, s := range shards {
		ids[i] = aws.ToString(s.ShardId)
	}
	return ids, nil
}
