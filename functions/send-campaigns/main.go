// Command send-campaigns is the campaign worker: SQS kicks in, messages out
// (SNS for SMS, SES for email, the wallet path for pushes), at most once
// per member; on its schedule it runs the campaigns that are due.
package main

import (
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud"
	"github.com/loyalty/cashback/shared/cloud/kicks"
	"github.com/loyalty/cashback/shared/cloud/secrets"
)

func main() {
	app.ServeCampaignWorker(app.WithOTPSecretFrom(secrets.Read), app.WithCampaignQueueFrom(kicks.NewCampaignQueue), app.WithSenderFrom(cloud.NewSender))
}
