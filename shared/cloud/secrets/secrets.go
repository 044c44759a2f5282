// Package secrets reads the OTP key from AWS Secrets Manager for the
// functions that make or check codes (enroll, verify-otp), and only those.
package secrets

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/routes"
)

// OTPSecret reads the OTP key from Secrets Manager when its ARN is set.
func OTPSecret(ctx context.Context, cfg *app.Config) error {
	arn := os.Getenv(routes.EnvOTPSecretARN)
	if arn == "" {
		return nil
	}
	c, err := app.AWSConfig(ctx)
	if err != nil {
		return err
	}
	out, err := secretsmanager.NewFromConfig(c).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return fmt.Errorf("read OTP secret: %w", err)
	}
	cfg.OTPSecret = []byte(aws.ToString(out.SecretString))
	return nil
}
