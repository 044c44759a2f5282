package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// A tenant's promotions live on the tenant item: every order reads that
// item already, so they cost no extra key in the order's BatchGetItem.

// SavePromotions replaces the list, conditioned on the version read.
func (s *Store) SavePromotions(ctx context.Context, tenantID string, ps []loyalty.Promotion, prevVersion int64) error {
	list, err := marshalValue(ps)
	if err != nil {
		return err
	}
	cond := "attribute_exists(PK) AND promotionsVersion = :prev"
	if prevVersion == 0 {
		cond = "attribute_exists(PK) AND attribute_not_exists(promotionsVersion)"
	}
	vals := map[string]types.AttributeValue{":p": list, ":v": num(prevVersion + 1)}
	if prevVersion != 0 {
		vals[":prev"] = num(prevVersion)
	}
	t := &txn{table: s.table}
	t.update(&types.Update{
		Key:                       key(tenantPK(tenantID), skTenant),
		UpdateExpression:          strp("SET promotions = :p, promotionsVersion = :v"),
		ConditionExpression:       &cond,
		ExpressionAttributeValues: vals,
	}, loyalty.ErrConflict)
	return s.run(ctx, t)
}

// ListPromotions reads the list and its version (0: none yet).
func (s *Store) ListPromotions(ctx context.Context, tenantID string) ([]loyalty.Promotion, int64, error) {
	t, err := s.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, 0, err
	}
	return t.Promotions, t.PromotionsVersion, nil
}
