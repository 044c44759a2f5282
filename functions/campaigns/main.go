// Command campaigns is the Lambda of the campaigns API: it creates
// campaigns and kicks their worker (SQS), and takes the SMS gateway's
// replies (STOP).
package main

import (
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/kicks"
	"github.com/loyalty/cashback/shared/routes"
)

func main() {
	app.ServeHTTP(routes.FnCampaigns, app.WithCampaignQueueFrom(kicks.NewCampaignQueue))
}
