// Command dispatch is the Lambda on the table's DynamoDB stream: it counts
// pay-as-you-go usage and hands the feed's events to its sinks: webhooks
// wallet sync, referral rewards and the tills' recent operations (the same as cmd/loyalty's feedSinks locally).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/kicks"
	"github.com/loyalty/cashback/shared/cloud/secrets"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/stream"
)

func main() {
	a := app.MustFromEnv(app.WithWebhookQueueFrom(kicks.New), app.WithWalletFrom(secrets.Read))
	d := stream.NewDispatcher(a.Store, a.Logger, a.Webhooks, a.WalletSink(), a.ReferralSink(), a.RecentOpsSink())
	lambda.Start(stream.LambdaHandler(d, os.Getenv(layout.EnvFeedOneShard) == "1"))
}
