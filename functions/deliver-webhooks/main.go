// Command deliver-webhooks is the webhook delivery worker: SQS kicks in,
// signed deliveries out, with the retry schedule; on its schedule it
// reconciles kicks that were lost. It emails (SES) an endpoint's contact
// when it disables the endpoint.
package main

import (
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud"
	"github.com/loyalty/cashback/shared/cloud/kicks"
	"github.com/loyalty/cashback/shared/cloud/secrets"
)

func main() {
	app.ServeWebhookWorker(app.WithWebhookKeyFrom(secrets.Read), app.WithWebhookQueueFrom(kicks.New), app.WithSenderFrom(cloud.NewSender))
}
