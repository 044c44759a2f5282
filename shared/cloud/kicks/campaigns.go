package kicks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty/cashback/shared/campaigns"
)

// CampaignQueue sends campaign kicks (campaigns.Ref) to the campaign
// worker's queue. A send time beyond SQS's 15 minute delay is reached by the
// worker's schedule, which runs every due campaign (campaigns.Reconcile).
type CampaignQueue struct {
	SQS Sender
	URL string
}

// NewCampaignQueue returns the campaign queue at url.
func NewCampaignQueue(ctx context.Context, url string) (campaigns.Kicker, error) {
	c, err := newSQS()
	if err != nil {
		return nil, err
	}
	return &CampaignQueue{SQS: c, URL: url}, nil
}

// Kick sends r to be received after delay (capped at MaxDelay).
func (q *CampaignQueue) Kick(ctx context.Context, r campaigns.Ref, delay time.Duration) error {
	if delay > MaxDelay {
		return nil // the schedule picks it up when due
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: aws.String(string(body)), DelaySeconds: Delay(delay)}); err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}
