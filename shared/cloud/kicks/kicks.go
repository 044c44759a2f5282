// Package kicks carries webhook delivery kicks through Amazon SQS, for the
// functions that queue deliveries (webhooks, deliver-webhooks) and only
// those: the wiring passes New to app.WithWebhookQueueFrom.
package kicks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty/cashback/shared/cloud/awsenv"

	"github.com/loyalty/cashback/shared/webhooks"
)

// MaxDelay is SQS's longest message delay. A longer wait is made of several
// messages: the worker, handed a kick before its due time, sends it again
// with the time left (webhooks.Service.ProcessLane).
const MaxDelay = 15 * time.Minute

// Sender is the part of the SQS client used.
type Sender interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue sends kicks to one SQS queue.
type Queue struct {
	SQS Sender
	URL string
}

// New returns the queue at url with a client from the AWS environment.
func New(ctx context.Context, url string) (webhooks.Queue, error) {
	c, err := newSQS()
	if err != nil {
		return nil, err
	}
	return &Queue{SQS: c, URL: url}, nil
}

// newSQS is an SQS client from the AWS environment.
func newSQS() (*sqs.Client, error) {
	c, err := awsenv.Load()
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return sqs.NewFromConfig(c, func(o *sqs.Options) { o.BaseEndpoint = awsenv.Endpoint(c, "SQS") }), nil
}

// Delay is the SQS delay of a kick: whole seconds, at most MaxDelay.
func Delay(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	if d > MaxDelay {
		d = MaxDelay
	}
	return int32((d + time.Second - 1) / time.Second)
}

// Kick sends k to be received after delay (capped at MaxDelay).
func (q *Queue) Kick(ctx context.Context, k webhooks.Kick, delay time.Duration) error {
	body, err := json.Marshal(k)
	if err != nil {
		return err
	}
	_, err = q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: aws.String(string(body)), DelaySeconds: Delay(delay)})
	if err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}
