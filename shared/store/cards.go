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

// A tenant's pool of imported (pre-printed) card numbers is one item
// collection, a number per sort key: exported in number order by a Query,
// read by key when a till hands a card out, never scanned. A pool entry is
// bound to a member once, by a conditioned update in the transaction that
// gives the member the number (which also claims the number's card item,
// so a number stays unique per tenant whatever its origin).
func cardPoolPK(t string) string      { return "T#" + t + "#CARDPOOL" }
func poolCardSK(number string) string { return poolPrefix + number }

const poolPrefix = "N#"

// PutPoolCards adds numbers to the pool, each with a conditioned PutItem:
// an entry already there (bound or not) is never overwritten and is
// reported as loyalty.ErrPoolCardExists, so importing a file twice, or
// again after cards were bound, changes nothing.
func (s *Store) PutPoolCards(ctx context.Context, tenantID string, numbers []string, now time.Time) ([]error, error) {
	out := make([]error, len(numbers))
	for i, n := range numbers {
		item, err := marshal(loyalty.PoolCard{Number: n, ImportedAt: now}, cardPoolPK(tenantID), poolCardSK(n))
		if err != nil {
			return nil, err
		}
		res, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: item, ConditionExpression: strp("attribute_not_exists(PK)"),
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		switch {
		case isConditionFailed(err):
			track(ctx, writes)
			out[i] = loyalty.ErrPoolCardExists
		case err != nil:
			track(ctx, writes)
			return nil, fmt.Errorf("put pool card: %w", err)
		default:
			track(ctx, writes, one(res.ConsumedCapacity)...)
		}
	}
	return out, nil
}

// GetPoolCard reads one pool entry; nil when the number is not in the pool.
func (s *Store) GetPoolCard(ctx context.Context, tenantID, number string) (*loyalty.PoolCard, error) {
	item, err := s.get(ctx, cardPoolPK(tenantID), poolCardSK(number))
	if err != nil || item == nil {
		return nil, err
	}
	var c loyalty.PoolCard
	if err := unmarshal(item, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ListPoolCards pages through the pool in number (string) order.
func (s *Store) ListPoolCards(ctx context.Context, tenantID, after string, limit int) ([]loyalty.PoolCard, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(cardPoolPK(tenantID)), ":p": str(poolPrefix)},
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
	}
	if after != "" {
		in.ExclusiveStartKey = key(cardPoolPK(tenantID), poolCardSK(after))
	}
	return queryPage[loyalty.PoolCard](ctx, s, in)
}

// bindPoolCard binds an imported number to a member inside a transaction:
// the entry must exist and be unbound, so two tills handing out the same
// card race and one loses (loyalty.ErrCardTaken).
func bindPoolCard(t *txn, tenantID, number, memberID string, at time.Time) {
	t.update(&types.Update{
		Key:                 key(cardPoolPK(tenantID), poolCardSK(number)),
		UpdateExpression:    strp("SET memberId = :m, boundAt = :at"),
		ConditionExpression: strp("attribute_exists(PK) AND attribute_not_exists(memberId)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":m": str(memberID), ":at": str(at.UTC().Format(time.RFC3339Nano)),
		},
	}, loyalty.ErrCardTaken)
}
