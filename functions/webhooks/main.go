// Command webhooks is the Lambda of the webhooks API: it opens signing
// secrets (the sealing key from Secrets Manager), sends test deliveries and
// queues replays (SQS).
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/kicks"
	"github.com/loyalty/cashback/shared/cloud/secrets"
)

func main() {
	app.ServeHTTP(api.WebhooksFunction, app.WithWebhookKeyFrom(secrets.Read), app.WithWebhookQueueFrom(kicks.New))
}
