package store

import (
	"context"
	"fmt"
	"strings"

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

// directoryItem is a member's directory entry with a lower-cased search text.
type directoryItem struct {
	loyalty.MemberSummary
	Search string `json:"search"`
}

func directoryEntry(a *loyalty.Account) directoryItem {
	return directoryItem{
		MemberSummary: loyalty.MemberSummary{MemberID: a.MemberID, Card: a.Card, Phone: a.Phone, Name: a.Name, CreatedAt: a.CreatedAt},
		Search:        strings.ToLower(a.Name + " " + a.Phone + " " + a.Card),
	}
}

// SearchMembers finds members whose name, phone or card contains q (case
// insensitive), reading the tenant's directory: its cost grows with the
// tenant's members, which suits a back office, not the till.
func (s *Store) SearchMembers(ctx context.Context, tenantID, q string, limit int) ([]loyalty.MemberSummary, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		FilterExpression:          strp("contains(#s, :q)"),
		ExpressionAttributeNames:  map[string]string{"#s": "search"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantPK(tenantID)), ":p": str(memberDirPrefix), ":q": str(strings.ToLower(q))},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	}
	var found []loyalty.MemberSummary
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			track(ctx, reads)
			return nil, fmt.Errorf("search members: %w", err)
		}
		track(ctx, reads, one(out.ConsumedCapacity)...)
		for _, it := range out.Items {
			var m loyalty.MemberSummary
			if err := unmarshal(it, &m); err != nil {
				return nil, err
			}
			found = append(found, m)
			if len(found) == limit {
				return found, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return found, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ListMembers pages through a tenant's member directory (written with each
// new member), after the member id `after`.
func (s *Store) ListMembers(ctx context.Context, tenantID, after string, limit int) ([]loyalty.MemberSummary, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantPK(tenantID)), ":p": str(memberDirPrefix)},
		Limit:                     aws.Int32(int32(limit)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(tenantPK(tenantID), memberDirSK(after))
	}
	return queryPage[loyalty.MemberSummary](ctx, s, in)
}
