// Package secrets reads the OTP key from AWS Secrets Manager for the
// functions that make or check codes (enroll, verify-otp), and only those:
// the wiring passes Read to app.WithOTPSecretFrom.
package secrets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Read returns the secret string stored under arn.
func Read(ctx context.Context, arn string) ([]byte, error) {
	c, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	out, err := secretsmanager.NewFromConfig(c).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return nil, fmt.Errorf("read OTP secret: %w", err)
	}
	return []byte(aws.ToString(out.SecretString)), nil
}
