// Package awsenv builds the AWS client configuration of a Lambda function
// from the variables the Lambda runtime sets, instead of the SDK's config
// package: that one also links the shared-config file parser, SSO, STS
// (assume-role, web identity), the EC2 metadata client and the sign-in
// service, none of which a function uses, and they cost every function
// about 1.9 MB of its 12. The command-line tools and the local server keep
// the SDK's config (profiles, SSO).
package awsenv

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Load reads the configuration of the Lambda environment: the region
// (AWS_REGION, else AWS_DEFAULT_REGION); the execution role's credentials,
// which the runtime puts in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN for the life of the execution environment (the SDK's
// config reads them from there too, as static credentials); and an
// endpoint for every service from AWS_ENDPOINT_URL (LocalStack), unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true (see Endpoint for one
// service's own). The SDK's other variables (retry mode and attempts, FIPS
// and dual-stack endpoints, a CA bundle, profiles) are not read: the stack
// sets none of them, and the command-line tools never come here.
func Load() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("no AWS region: set AWS_REGION")
	}
	creds := aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		Source:          "awsenv",
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return aws.Config{}, errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the Lambda runtime does)")
	}
	c := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		})),
	}
	if !ignoreEndpoints() {
		if e := os.Getenv("AWS_ENDPOINT_URL"); e != "" {
			c.BaseEndpoint = aws.String(e)
		}
	}
	return c, nil
}

// Endpoint is the endpoint of one service: AWS_ENDPOINT_URL_<ID> (ID the
// service's SDK id in upper case, spaces as underscores: DYNAMODB, SNS,
// SESV2, SECRETS_MANAGER), else c's. Pass it to the client's BaseEndpoint.
func Endpoint(c aws.Config, id string) *string {
	if !ignoreEndpoints() {
		if e := os.Getenv("AWS_ENDPOINT_URL_" + id); e != "" {
			return aws.String(e)
		}
	}
	return c.BaseEndpoint
}

func ignoreEndpoints() bool {
	return strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
}
