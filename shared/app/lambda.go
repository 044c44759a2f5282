package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/loyalty/cashback/shared/loyalty"
)

// MustFromEnv builds the app at init or exits: a function that cannot wire
// itself must fail its init, visibly, not its requests.
func MustFromEnv(opts ...Option) *App {
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
	a := MustFromEnv(opts...)
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
	a := MustFromEnv()
	lambda.Start(a.SweepHandler)
}
