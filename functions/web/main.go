// Command web is the Lambda serving the web pages: the enrollment page
// partner sites embed, the customer's card page and the cashier page. The
// enrollment and card pages send one-time codes by SMS (SNS) or email (SES)
// and offer the card's Apple and Google Wallet passes.
package main

import (
	"net/http"

	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/app/pages"
	"github.com/loyalty/cashback/shared/cloud"
	"github.com/loyalty/cashback/shared/cloud/secrets"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

func main() {
	app.ServeHandler(func(a *app.App) (http.Handler, error) { return pages.WebFunction(a) },
		app.WithPhones(libphone.Normalize), app.WithOTPSecretFrom(secrets.Read), app.WithSenderFrom(cloud.NewSender), app.WithWalletFrom(secrets.Read))
}
