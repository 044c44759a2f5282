package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

const (
	memberDirPrefix = "MEMBER#"
	tenantsPK       = "TENANTS"
)

// ListTenantIDs lists every tenant (for the monthly usage export).
func (s *Store) ListTenantIDs(ctx context.Context) ([]string, error) {
	items, err := s.queryPrefix(ctx, tenantsPK, "T#")
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		var t struct {
			TenantID string `json:"tenantId"`
		}
		if err := unmarshal(it, &t); err != nil {
			return nil, err
		}
		ids = append(ids, t.TenantID)
	}
	return ids, nil
}

func memberDirSK(m string) string { return memberDirPrefix + m }

func directoryEntry(a *loyalty.Account) loyalty.MemberSummary {
	return loyalty.MemberSummary{MemberID: a.MemberID, Card: a.Card, Phone: a.Phone, Name: a.Name, CreatedAt: a.CreatedAt}
}

// ListMembers pages through a tenant's member directory (written with each
// new member), after the member id `after`.
func (s *Store) ListMembers(ctx context.Context, tenantID, after string, limit int) ([]loyalty.MemberSummary, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantPK(tenantID)), ":p": str(memberDirPrefix)},
		Limit:                     aws.Int32(int32(limit)),
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	}
	if after != "" {
		in.ExclusiveStartKey = key(tenantPK(tenantID), memberDirSK(after))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		track(ctx)
		return nil, fmt.Errorf("list members: %w", err)
	}
	track(ctx, one(out.ConsumedCapacity)...)
	list := make([]loyalty.MemberSummary, 0, len(out.Items))
	for _, it := range out.Items {
		var m loyalty.MemberSummary
		if err := unmarshal(it, &m); err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	return list, nil
}
