// Command enroll is the Lambda starting enrollments: it sends one-time codes
// by SMS (SNS) or email (SES).
package main

import (
	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/cloud"
	"github.com/loyalty/cashback/shared/cloud/secrets"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

func main() {
	app.ServeHTTP(api.EnrollFunction, app.WithPhones(libphone.Normalize), app.WithOTPSecretFrom(secrets.Read), app.WithSenderFrom(cloud.NewSender))
}
