// Command campaigns is the Lambda of the campaigns API: it creates
// campaigns and kicks their worker (SQS), takes unsubscribe links (their
// tokens are keyed by the OTP secret) and the SMS gateway's replies (STOP).
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/kicks"
	"github.com/loyalty/cashback/shared/cloud/secrets"
)

func main() {
	app.ServeHTTP(api.CampaignsFunction, app.WithOTPSecretFrom(secrets.Read), app.WithCampaignQueueFrom(kicks.NewCampaignQueue))
}
