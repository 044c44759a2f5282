package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/recentops"
)

// A point of sale's recent operations (the till page's list, kept by the
// recentops feed consumer, never written on the hot path):
//
//	T#t#TILL#<pos> / RECENT    the last recentops.Keep operations, with a version
//
// Its own partition per point of sale (not under T#t) keeps its rewrites
// off the tenant item's partition.
func tillPK(t, pos string) string { return "T#" + t + "#TILL#" + pos }

const skRecent = "RECENT"

var _ recentops.Store = (*Store)(nil)

// Recent reads a point of sale's list of recent operations.
func (s *Store) Recent(ctx context.Context, tenantID, posID string) (recentops.List, error) {
	var l recentops.List
	item, err := s.get(ctx, tillPK(tenantID, posID), skRecent)
	if err != nil || item == nil {
		return l, err
	}
	return l, unmarshal(item, &l)
}

// PutRecent writes the list if its version is still the one read.
func (s *Store) PutRecent(ctx context.Context, tenantID, posID string, l recentops.List) error {
	prev := l.Version
	l.Version++
	item, err := marshal(l, tillPK(tenantID, posID), skRecent)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	if prev == 0 {
		in.ConditionExpression = strp("attribute_not_exists(PK)")
	} else {
		in.ConditionExpression = strp("version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(prev)}
	}
	out, err := s.db.PutItem(ctx, in)
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return recentops.ErrConflict
		}
		return fmt.Errorf("put recent operations: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}

// Cards reads members' card numbers from the member directory (small
// items) in one batch read.
func (s *Store) Cards(ctx context.Context, tenantID string, memberIDs []string) (map[string]string, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(memberIDs))
	for _, m := range memberIDs {
		keys = append(keys, key(tenantPK(tenantID), memberDirSK(m)))
	}
	items, err := s.batchGetAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		var d directoryItem
		if err := unmarshal(it, &d); err != nil {
			return nil, err
		}
		out[d.MemberID] = d.Card
	}
	return out, nil
}
