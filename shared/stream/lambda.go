package stream

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/store"
)

// LambdaHandler is the dispatch function's handler. Its event source
// mapping has a tumbling window: only then does Lambda's event name the
// shard its records come from, which the usage checkpoint is kept per. The
// window's state is not used; its closing call carries no records.
//
// oneShard is for emulators whose mappings have no tumbling windows: their
// events name no shard, and their streams have one, so the stream's ARN
// stands for it. In the cloud an event without a shard is an error (a
// checkpoint shared by shards would skip records).
func LambdaHandler(d *Dispatcher, oneShard bool) func(context.Context, events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	return func(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		var resp events.DynamoDBTimeWindowEventResponse
		if len(ev.Records) == 0 {
			return resp, nil
		}
		shard := ev.ShardID
		if shard == "" && oneShard {
			shard = ev.Records[0].EventSourceArn
		}
		if shard == "" {
			return resp, fmt.Errorf("the event names no shard: the event source mapping needs a tumbling window")
		}
		recs, err := FromLambda(ev.Records)
		if err != nil {
			return resp, err
		}
		// An error retries the batch (bisected, up to the mapping's
		// attempts, then to the on-failure queue).
		return resp, d.Dispatch(ctx, shard, recs)
	}
}

// FromLambda turns a Lambda event's stream records into the store's form.
func FromLambda(in []events.DynamoDBEventRecord) ([]store.StreamRecord, error) {
	out := make([]store.StreamRecord, 0, len(in))
	for _, r := range in {
		rec := store.StreamRecord{EventName: r.EventName, SequenceNumber: r.Change.SequenceNumber, At: r.Change.ApproximateCreationDateTime.Time}
		var err error
		if rec.Keys, err = fromLambdaMap(r.Change.Keys); err == nil {
			if rec.NewImage, err = fromLambdaMap(r.Change.NewImage); err == nil {
				rec.OldImage, err = fromLambdaMap(r.Change.OldImage)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("stream record %s: %w", rec.SequenceNumber, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func fromLambdaMap(m map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		av, err := fromLambda(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromLambda(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := v.List()
		out := make([]types.AttributeValue, len(l))
		for i, e := range l {
			av, err := fromLambda(e)
			if err != nil {
				return nil, fmt.Errorf("[%s]: %w", strconv.Itoa(i), err)
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m, err := fromLambdaMap(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("attribute of unknown type %d", v.DataType())
}
