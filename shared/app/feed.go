package app

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/stream"
)

// Sinks builds the feed's consumers over the wired app (webhooks, wallet
// sync, ...). The dispatch Lambda and the local server take the same one, so
// a sink is plugged in once for both.
type Sinks func(ctx context.Context, a *App) ([]feed.Sink, error)

// Dispatcher hands each batch of the table's stream to the usage counter
// and then to sinks, in order.
func (a *App) Dispatcher(sinks ...feed.Sink) *stream.Dispatcher {
	return &stream.Dispatcher{Store: a.Store, Sinks: sinks, Logger: a.Logger}
}

// Poller reads the table's stream through the DynamoDB Streams API into d:
// what `serve` runs locally in place of the dispatch Lambda's event source
// mapping.
func (a *App) Poller(ctx context.Context, d *stream.Dispatcher) (*stream.Poller, error) {
	arn, err := a.Store.StreamARN(ctx)
	if err != nil {
		return nil, err
	}
	if arn == "" {
		return nil, errors.New("the table " + a.Store.Table() + " has no stream")
	}
	if a.streams == nil {
		c, err := awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		a.streams = dynamodbstreams.NewFromConfig(c)
	}
	return &stream.Poller{Streams: a.streams, Store: a.Store, StreamARN: arn, Dispatch: d.Dispatch, Logger: a.Logger}, nil
}

// NoSinks: the feed only counts usage.
func NoSinks(context.Context, *App) ([]feed.Sink, error) { return nil, nil }
