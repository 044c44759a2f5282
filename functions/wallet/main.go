// Command wallet is the Lambda of the wallet passes: the .pkpass and
// Google save-link operations, Apple's PassKit web service and Google's
// callbacks (see shared/routes). Its keys come from Secrets Manager.
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/secrets"
)

func main() { app.ServeHTTP(api.WalletFunction, app.WithWalletFrom(secrets.Read)) }
