// Command verify-otp is the Lambda checking one-time codes and creating members.
package main

import (
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/secrets"
	"github.com/loyalty/cashback/shared/routes"
)

func main() { app.ServeHTTP(routes.FnVerifyOTP, app.WithOTPSecretFrom(secrets.Read)) }
