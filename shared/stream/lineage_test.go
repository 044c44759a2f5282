package stream_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/store/storetest"
)

// splitStream stands in for what DynamoDB Local never does on demand: a
// shard that closed and was succeeded by a child. It serves real records
// (read from DynamoDB Local's stream) split over a closed parent and its
// open child, and lists the child first.
type splitStream struct {
	parent, child []types.Record
}

func (s *splitStream) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{StreamArn: in.StreamArn, Shards: []types.Shard{
		{ShardId: aws.String("shard-child"), ParentShardId: aws.String("shard-parent")},
		{ShardId: aws.String("shard-parent")},
	}}}, nil
}

func (s *splitStream) records(shard string) []types.Record {
	if shard == "shard-parent" {
		return s.parent
	}
	return s.child
}

func (s *splitStream) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	from := 0
	if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber {
		for i, r := range s.records(*in.ShardId) {
			if *r.Dynamodb.SequenceNumber == *in.SequenceNumber {
				from = i + 1
			}
		}
	}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("%s|%d", *in.ShardId, from))}, nil
}

func (s *splitStream) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	shard, at, _ := strings.Cut(*in.ShardIterator, "|")
	from, _ := strconv.Atoi(at)
	recs := s.records(shard)
	to := min(from+int(*in.Limit), len(recs))
	out := &dynamodbstreams.GetRecordsOutput{Records: recs[from:to]}
	if to < len(recs) || shard == "shard-child" { // the parent is closed: no iterator after its end
		out.NextShardIterator = aws.String(fmt.Sprintf("%s|%d", shard, to))
	}
	return out, nil
}

// A child shard is read only once its parent is read to its end, so a
// member's changes keep their order across a shard split.
func TestChildShardWaitsForItsParent(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	ctx := context.Background()
	m := e.Enroll("+79120000601")
	for i := range 6 {
		e.Close(fmt.Sprintf("o%d", i), m.ID, 10000).Want(200)
	}
	// Every record so far, read from DynamoDB Local's stream.
	real := storetest.StreamsClient(t)
	arn, err := e.Store.StreamARN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := real.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	var all []types.Record
	for _, sh := range d.StreamDescription.Shards {
		it, err := real.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: &arn, ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			out, err := real.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, out.Records...)
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	if len(all) < 10 {
		t.Fatalf("only %d records in the stream", len(all))
	}
	split := &splitStream{parent: all[:len(all)/2], child: all[len(all)/2:]}

	rec := &recorder{t: t}
	p := e.Poller(rec)
	p.Streams, p.BatchSize = split, 4
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var last int64 = -1
	n := 0
	for _, ev := range rec.events {
		if ev.MemberID != m.ID {
			continue
		}
		n++
		if ev.Seq < last {
			t.Fatalf("seq %d (%s) delivered after %d: the child shard was read before its parent ended", ev.Seq, ev.Type, last)
		}
		last = ev.Seq
	}
	if want := 1 + 6; n != want || rec.types()[feed.MemberEnrolled] == nil {
		t.Fatalf("%d events of the member, want %d (enrolled and 6 accruals)", n, want)
	}
}
