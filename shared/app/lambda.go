package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"

	"github.com/loyalty/cashback/shared/campaigns"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/webhooks"
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

// ServeHTTP runs a Lambda serving the HTTP operations of one function
// (api.OrdersFunction…) through API Gateway's HTTP API (payload 2.0): only
// that function's handlers are linked into its binary.
func ServeHTTP(function api.Function, opts ...Option) {
	ServeHandler(func(a *App) (http.Handler, error) { return a.HandlerOf(function), nil }, opts...)
}

// ServeHandler runs a Lambda serving the handler handler builds from the
// app (the web function's pages).
func ServeHandler(handler func(*App) (http.Handler, error), opts ...Option) {
	a := MustFromEnv(opts...)
	h, err := handler(a)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
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
	// Expiry reminders read the same index, once a day.
	rem, err := a.Campaigns.Remind(ctx)
	if err != nil {
		a.Logger.ErrorContext(ctx, "expiry reminders failed", "error", err.Error())
		return res, err
	}
	if rem.Days > 0 {
		a.Logger.InfoContext(ctx, "expiry reminders", "days", rem.Days, "members", rem.Members, "sent", rem.Sent)
	}
	return res, nil
}

// ServeSweep runs the scheduled expire-sweep Lambda.
func ServeSweep() {
	a := MustFromEnv()
	lambda.Start(a.SweepHandler)
}

// WorkerEvent is what the delivery worker is invoked with: an SQS batch of
// kicks, or (no Records) the scheduled reconciliation.
type WorkerEvent struct {
	Records []events.SQSMessage `json:"Records"`
}

// WebhookWorkerHandler works an SQS batch of kicks, reporting the kicks
// that failed (ReportBatchItemFailures) so only those come back; invoked
// without records (the schedule) it reconciles lost kicks.
func (a *App) WebhookWorkerHandler(ctx context.Context, ev WorkerEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	if len(ev.Records) == 0 {
		n, err := a.Webhooks.Reconcile(ctx)
		if err != nil {
			a.Logger.ErrorContext(ctx, "webhooks: reconcile failed", "error", err.Error())
			return resp, err
		}
		a.Logger.InfoContext(ctx, "webhooks: reconciled", "lanes", n)
		return resp, nil
	}
	for _, m := range ev.Records {
		var k webhooks.Kick
		if err := json.Unmarshal([]byte(m.Body), &k); err != nil || k.TenantID == "" || k.EndpointID == "" {
			a.Logger.ErrorContext(ctx, "webhooks: malformed kick dropped", "messageId", m.MessageId)
			continue
		}
		if err := a.Webhooks.ProcessLane(ctx, k); err != nil {
			a.Logger.ErrorContext(ctx, "webhooks: lane failed", "tenant", k.TenantID, "webhook", k.EndpointID, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

// ServeWebhookWorker runs the deliver-webhooks Lambda.
func ServeWebhookWorker(opts ...Option) {
	a := MustFromEnv(opts...)
	lambda.Start(a.WebhookWorkerHandler)
}

// CampaignWorkerHandler runs the campaigns an SQS batch names, reporting
// those that failed so only they come back; invoked without records (the
// schedule) it runs every due campaign: scheduled ones beyond SQS's delay,
// paused ones and ones whose kick or worker was lost.
func (a *App) CampaignWorkerHandler(ctx context.Context, ev WorkerEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	if len(ev.Records) == 0 {
		n, err := a.Campaigns.Reconcile(ctx)
		if err != nil {
			a.Logger.ErrorContext(ctx, "campaigns: reconcile failed", "error", err.Error())
			return resp, err
		}
		a.Logger.InfoContext(ctx, "campaigns: reconciled", "campaigns", n)
		return resp, nil
	}
	for _, m := range ev.Records {
		var r campaigns.Ref
		if err := json.Unmarshal([]byte(m.Body), &r); err != nil || r.TenantID == "" || r.CampaignID == "" {
			a.Logger.ErrorContext(ctx, "campaigns: malformed kick dropped", "messageId", m.MessageId)
			continue
		}
		res, err := a.Campaigns.Run(ctx, r)
		if err != nil {
			a.Logger.ErrorContext(ctx, "campaigns: run failed", "tenant", r.TenantID, "campaign", r.CampaignID, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		a.Logger.InfoContext(ctx, "campaigns: run", "tenant", r.TenantID, "campaign", r.CampaignID, "status", res.Status, "sent", res.Sent)
	}
	return resp, nil
}

// ServeCampaignWorker runs the send-campaigns Lambda.
func ServeCampaignWorker(opts ...Option) {
	a := MustFromEnv(opts...)
	lambda.Start(a.CampaignWorkerHandler)
}
