package awsenv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty/cashback/shared/cloud/awsenv"
)

// lambdaEnv sets what the Lambda runtime sets.
func lambdaEnv(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session-token",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_DYNAMODB": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
}

// A client built from the Lambda environment signs its requests with the
// role's credentials and session token for the region, and sends them to
// the configured endpoint (here a loopback server standing in for AWS).
func TestClientSignsWithTheLambdaCredentials(t *testing.T) {
	type seen struct{ auth, token, target string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("X-Amz-Security-Token"), r.Header.Get("X-Amz-Target")}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"TableNames":[]}`))
	}))
	defer srv.Close()
	lambdaEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9") // the service's own wins
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)

	c, err := awsenv.Load()
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(c, func(o *dynamodb.Options) { o.BaseEndpoint = awsenv.Endpoint(c, "DYNAMODB") })
	if _, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if !strings.Contains(s.auth, "Credential=AKIDEXAMPLE/") || !strings.Contains(s.auth, "/eu-central-1/dynamodb/aws4_request") {
		t.Fatalf("Authorization %q", s.auth)
	}
	if s.token != "session-token" || s.target != "DynamoDB_20120810.ListTables" {
		t.Fatalf("token %q, target %q", s.token, s.target)
	}
}

func TestEndpoints(t *testing.T) {
	lambdaEnv(t)
	c, err := awsenv.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseEndpoint != nil || awsenv.Endpoint(c, "SNS") != nil {
		t.Fatalf("an endpoint without one configured: %v", c.BaseEndpoint)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	if c, _ = awsenv.Load(); *c.BaseEndpoint != "http://127.0.0.1:4566" || *awsenv.Endpoint(c, "SNS") != "http://127.0.0.1:4566" {
		t.Fatalf("AWS_ENDPOINT_URL not used: %v", c.BaseEndpoint)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if c, _ = awsenv.Load(); c.BaseEndpoint != nil {
		t.Fatalf("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ignored: %v", *c.BaseEndpoint)
	}
}

func TestRegionAndCredentialsRequired(t *testing.T) {
	lambdaEnv(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	if c, err := awsenv.Load(); err != nil || c.Region != "us-east-1" {
		t.Fatalf("AWS_DEFAULT_REGION: %v %v", c.Region, err)
	}
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := awsenv.Load(); err == nil {
		t.Fatal("no region accepted")
	}
	lambdaEnv(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := awsenv.Load(); err == nil {
		t.Fatal("no credentials accepted")
	}
}
