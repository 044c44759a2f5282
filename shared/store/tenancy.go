package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

var _ loyalty.TenancyStore = (*Store)(nil)

const (
	skUsage     = "USAGE"
	posPrefix   = "POS#"
	staffPrefix = "STAFF#"
)

func usagePK(t, month string, shard int) string {
	return "T#" + t + "#USAGE#" + month + "#" + strconv.Itoa(shard)
}
func auditPK(t, month string) string { return "T#" + t + "#AUDIT#" + month }

func auditPut(tenantID string, a *loyalty.AuditEntry) (*types.Put, error) {
	item, err := marshal(a, auditPK(tenantID, a.At.UTC().Format("2006-01")), stamp(a.At)+"#"+loyalty.NewID("")[:8])
	if err != nil {
		return nil, err
	}
	return putNew(item), nil
}

// counted adds one to a tenant counter within a limit (0: none) as part of a
// transaction; failing the limit is the plan_limit error naming it.
func counted(t *txn, tenantID, counter string, delta, limit int64, name string) {
	u := &types.Update{
		Key:                       key(tenantPK(tenantID), skTenant),
		UpdateExpression:          strp("ADD #c :d"),
		ConditionExpression:       strp("attribute_exists(PK)"),
		ExpressionAttributeNames:  map[string]string{"#c": counter},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(delta)},
	}
	fail := onFail(loyalty.ErrTenantNotFound)
	if limit > 0 && delta > 0 {
		u.ConditionExpression = strp("attribute_exists(PK) AND (attribute_not_exists(#c) OR #c < :limit)")
		u.ExpressionAttributeValues[":limit"] = num(limit)
		fail = loyalty.PlanLimitError(name)
	}
	t.update(u, fail)
}

// CreatePointOfSale writes a point of sale, counted against the plan.
func (s *Store) CreatePointOfSale(ctx context.Context, tenantID string, p loyalty.PointOfSale, limit int64, a *loyalty.AuditEntry) error {
	t := &txn{table: s.table}
	counted(t, tenantID, "posCount", 1, limit, loyalty.LimitPointsOfSale)
	item, err := marshal(p, tenantPK(tenantID), posPrefix+p.ID)
	if err != nil {
		return err
	}
	t.put(putNew(item), loyalty.ErrConflict)
	ap, err := auditPut(tenantID, a)
	if err != nil {
		return err
	}
	t.put(ap, nil)
	return s.run(ctx, t)
}

// GetPointOfSale reads one point of sale.
func (s *Store) GetPointOfSale(ctx context.Context, tenantID, id string) (*loyalty.PointOfSale, error) {
	var p loyalty.PointOfSale
	nf := loyalty.Errorf(loyalty.CodePointOfSaleNotFound, "point of sale not found")
	if err := s.getInto(ctx, tenantPK(tenantID), posPrefix+id, &p, nf); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPointsOfSale lists a tenant's points of sale.
func (s *Store) ListPointsOfSale(ctx context.Context, tenantID string) ([]loyalty.PointOfSale, error) {
	items, err := s.queryPrefix(ctx, tenantPK(tenantID), posPrefix)
	if err != nil {
		return nil, err
	}
	return decodeAll[loyalty.PointOfSale](items)
}

// CreateStaff writes a staff member and their key, counted against the plan.
func (s *Store) CreateStaff(ctx context.Context, tenantID string, st loyalty.Staff, k loyalty.APIKey, limit int64, a *loyalty.AuditEntry) error {
	t := &txn{table: s.table}
	counted(t, tenantID, "staffCount", 1, limit, loyalty.LimitStaff)
	item, err := marshal(st, tenantPK(tenantID), staffPrefix+st.ID)
	if err != nil {
		return err
	}
	t.put(putNew(item), loyalty.ErrConflict)
	kp, err := keyPut(k)
	if err != nil {
		return err
	}
	t.put(kp, loyalty.ErrConflict)
	ap, err := auditPut(tenantID, a)
	if err != nil {
		return err
	}
	t.put(ap, nil)
	return s.run(ctx, t)
}

// GetStaff reads one staff member.
func (s *Store) GetStaff(ctx context.Context, tenantID, id string) (*loyalty.Staff, error) {
	var st loyalty.Staff
	nf := loyalty.Errorf(loyalty.CodeStaffNotFound, "staff member not found")
	if err := s.getInto(ctx, tenantPK(tenantID), staffPrefix+id, &st, nf); err != nil {
		return nil, err
	}
	return &st, nil
}

// ListStaff lists a tenant's staff.
func (s *Store) ListStaff(ctx context.Context, tenantID string) ([]loyalty.Staff, error) {
	items, err := s.queryPrefix(ctx, tenantPK(tenantID), staffPrefix)
	if err != nil {
		return nil, err
	}
	return decodeAll[loyalty.Staff](items)
}

// RevokeStaff marks the staff member and their key revoked and frees the
// plan slot, in one transaction.
func (s *Store) RevokeStaff(ctx context.Context, tenantID string, st loyalty.Staff, a *loyalty.AuditEntry) error {
	t := &txn{table: s.table}
	revoke := func(pk, sk string) *types.Update {
		return &types.Update{
			Key:                       key(pk, sk),
			UpdateExpression:          strp("SET revoked = :t"),
			ConditionExpression:       strp("attribute_exists(PK) AND revoked = :f"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}, ":f": &types.AttributeValueMemberBOOL{Value: false}},
		}
	}
	t.update(revoke(tenantPK(tenantID), staffPrefix+st.ID), loyalty.ErrConflict)
	t.update(revoke(keyPK(st.KeyHash), skKey), loyalty.ErrConflict)
	counted(t, tenantID, "staffCount", -1, 0, "")
	ap, err := auditPut(tenantID, a)
	if err != nil {
		return err
	}
	t.put(ap, nil)
	return s.run(ctx, t)
}

// Usage sums a month's usage shards per kind (one BatchGetItem).
func (s *Store) Usage(ctx context.Context, tenantID, month string) (map[string]int64, error) {
	keys := make([]map[string]types.AttributeValue, loyalty.UsageShards)
	for i := range keys {
		keys[i] = key(usagePK(tenantID, month, i), skUsage)
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, it := range items {
		for k, v := range it {
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok || k == "total" {
				continue
			}
			x, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("usage counter %s: %w", k, err)
			}
			out[k] += x
		}
	}
	return out, nil
}

// ListAudit lists a month's audit entries, newest first.
func (s *Store) ListAudit(ctx context.Context, tenantID, month string, limit int) ([]loyalty.AuditEntry, error) {
	return queryPage[loyalty.AuditEntry](ctx, s, &dynamodb.QueryInput{
		KeyConditionExpression:    strp("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(auditPK(tenantID, month))},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	})
}

// queryPrefix reads all items of a partition whose sort key starts with prefix.
func (s *Store) queryPrefix(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	return s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("#pk = :pk AND begins_with(#sk, :p)"),
		ExpressionAttributeNames:  map[string]string{"#pk": layout.HashKey, "#sk": layout.RangeKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":p": str(prefix)},
		ConsistentRead:            aws.Bool(true),
	})
}

// TouchKey sets a key's (and its staff member's) last-used time, only when
// the stored one is older than since.
func (s *Store) TouchKey(ctx context.Context, k *loyalty.APIKey, now, since time.Time) error {
	touch := func(pk, sk string) error {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       key(pk, sk),
			UpdateExpression:          strp("SET lastUsedAt = :now"),
			ConditionExpression:       strp("attribute_exists(PK) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :since)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(stamp(now)), ":since": str(stamp(since))},
			ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
		})
		if err != nil {
			track(ctx, writes)
			if isConditionFailed(err) {
				return nil // someone recorded it already
			}
			return err
		}
		track(ctx, writes, one(out.ConsumedCapacity)...)
		return nil
	}
	if err := touch(keyPK(k.Hash), skKey); err != nil {
		return err
	}
	if k.StaffID != "" {
		return touch(tenantPK(k.TenantID), staffPrefix+k.StaffID)
	}
	return nil
}

// SetAllowedOrigins replaces the origins that may frame the tenant's
// enrollment page.
func (s *Store) SetAllowedOrigins(ctx context.Context, tenantID string, origins []string) error {
	vals := map[string]types.AttributeValue{}
	expr := "REMOVE allowedOrigins"
	if len(origins) > 0 {
		list := make([]types.AttributeValue, len(origins))
		for i, o := range origins {
			list[i] = str(o)
		}
		vals[":o"] = &types.AttributeValueMemberL{Value: list}
		expr = "SET allowedOrigins = :o"
	}
	in := &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(tenantPK(tenantID), skTenant), UpdateExpression: &expr,
		ConditionExpression:    strp("attribute_exists(" + layout.HashKey + ")"),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if len(vals) > 0 {
		in.ExpressionAttributeValues = vals
	}
	out, err := s.db.UpdateItem(ctx, in)
	if err != nil {
		track(ctx, writes)
		if isConditionFailed(err) {
			return loyalty.ErrTenantNotFound
		}
		return fmt.Errorf("set allowed origins: %w", err)
	}
	track(ctx, writes, one(out.ConsumedCapacity)...)
	return nil
}
