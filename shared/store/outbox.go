package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// TableOutbox keeps sent messages in the table (for a day) instead of sending
// them, so a smoke test against a deployed stack can read the code it was
// sent. It is never the notifier of a production stage.
type TableOutbox struct{ Store *Store }

func outboxPK(to string) string { return "OUTBOX#" + to }

// Send stores m.
func (o TableOutbox) Send(ctx context.Context, m loyalty.Message) error {
	item, err := marshal(m, outboxPK(m.To), "MSG#"+stamp(m.SentAt)+"#"+loyalty.NewID("")[:6])
	if err != nil {
		return err
	}
	withTTL(item, m.SentAt.Add(24*time.Hour))
	_, err = o.Store.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &o.Store.table, Item: item})
	if err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	return nil
}

// Last returns the newest message stored for a recipient.
func (o TableOutbox) Last(ctx context.Context, to string) (*loyalty.Message, error) {
	out, err := o.Store.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &o.Store.table,
		KeyConditionExpression:    strp("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(outboxPK(to))},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Items) == 0 {
		return nil, fmt.Errorf("no message for %s", to)
	}
	var m loyalty.Message
	if err := unmarshal(out.Items[0], &m); err != nil {
		return nil, err
	}
	return &m, nil
}
