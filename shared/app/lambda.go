package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/stream"
)

// mustFromEnv builds the app at init or exits: a function that cannot wire
// itself must fail its init, visibly, not its requests.
func mustFromEnv(opts ...Option) *App {
	a, err := FromEnv(context.Background(), opts...)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return a
}

// ServeHTTP runs a Lambda serving the HTTP operations of one function through
// API Gateway's HTTP API (payload 2.0).
func ServeHTTP(function string, opts ...Option) {
	a := mustFromEnv(opts...)
	lambda.Start(httpadapter.NewV2(a.Handler(function)).ProxyWithContext)
}

// SweepHandler is the scheduled sweep: it ignores the event's content (an
// EventBridge Scheduler payload) and sweeps every tenant.
func (a *App) SweepHandler(ctx context.Context, _ json.RawMessage) (loyalty.SweepResult, error) {
	res, err := a.Service.Sweep(ctx, "")
	if err != nil {
		a.Logger.ErrorContext(ctx, "sweep failed", "error", err.Error())
		return res, err
	}
	a.Logger.InfoContext(ctx, "sweep", "expiredLots", res.ExpiredLots, "expiredPoints", int64(res.ExpiredPoints),
		"releasedHolds", res.ReleasedHolds, "maturedLots", res.MaturedLots)
	return res, nil
}

// ServeSweep runs the scheduled expire-sweep Lambda.
func ServeSweep() {
	a := mustFromEnv()
	lambda.Start(a.SweepHandler)
}

// ServeDispatch runs the dispatch Lambda: batches of the table's stream
// (DynamoDB Streams, through an event source mapping with a tumbling
// window) go to the usage counter and to the sinks makeSinks builds.
func ServeDispatch(makeSinks Sinks, opts ...Option) {
	a := mustFromEnv(opts...)
	sinks, err := makeSinks(context.Background(), a)
	if err != nil {
		a.Logger.Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(stream.LambdaHandler(a.Dispatcher(sinks...), os.Getenv(layout.EnvFeedOneShard) == "1"))
}
