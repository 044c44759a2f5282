// Command verify-otp is the Lambda checking one-time codes and creating members.
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud/secrets"
)

func main() { app.ServeHTTP(api.VerifyOTPFunction, app.WithOTPSecretFrom(secrets.Read)) }
