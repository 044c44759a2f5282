// Package secrets reads keys from AWS Secrets Manager for the functions
// that need one, and only those: the OTP key (enroll, verify-otp; the wiring
// passes Read to app.WithOTPSecretFrom) and the key sealing webhook secrets
// (webhooks, deliver-webhooks; app.WithWebhookKeyFrom).
package secrets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/loyalty/cashback/shared/cloud/awsenv"
)

// Read returns the secret string stored under arn.
func Read(ctx context.Context, arn string) ([]byte, error) {
	c, err := awsenv.Load()
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	client := secretsmanager.NewFromConfig(c, func(o *secretsmanager.Options) { o.BaseEndpoint = awsenv.Endpoint(c, "SECRETS_MANAGER") })
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", arn, err)
	}
	return []byte(aws.ToString(out.SecretString)), nil
}
