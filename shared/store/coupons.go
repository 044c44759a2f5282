package store

import (
	"context"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// A tenant's coupons are one item collection: a coupon per code (read by
// key with the order's context, listed by a Query) and, for coupons with a
// per-member limit, a counter per member who used one.
func couponPK(t string) string               { return "T#" + t + "#CPN" }
func couponSK(code string) string            { return couponPrefix + code }
func couponUseSK(code, member string) string { return "U#" + code + "#" + member }

const couponPrefix = "C#"

// CreateCoupons writes new coupons in one transaction, each code absent,
// with the idempotency record when given.
func (s *Store) CreateCoupons(ctx context.Context, tenantID string, cs []loyalty.Coupon, idem *loyalty.IdemRecord) error {
	t := &txn{table: s.table}
	for i := range cs {
		item, err := marshal(cs[i], couponPK(tenantID), couponSK(cs[i].Code))
		if err != nil {
			return err
		}
		t.put(putNew(item), loyalty.ErrCouponCodeTaken)
	}
	if idem != nil {
		p, err := idemPut(tenantID, idem, nil)
		if err != nil {
			return err
		}
		t.put(p, loyalty.ErrIdempotencyRace)
	}
	return s.run(ctx, t)
}

// GetCoupon reads one coupon by its (normalised) code.
func (s *Store) GetCoupon(ctx context.Context, tenantID, code string) (*loyalty.Coupon, error) {
	var c loyalty.Coupon
	if err := s.getInto(ctx, couponPK(tenantID), couponSK(code), &c, loyalty.ErrCouponNotFound); err != nil {
		return nil, err
	}
	c.TenantID = tenantID
	return &c, nil
}

// ListCoupons pages through coupons in code order.
func (s *Store) ListCoupons(ctx context.Context, tenantID, after string, limit int) ([]loyalty.Coupon, error) {
	in := &dynamodb.QueryInput{
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(couponPK(tenantID)), ":p": str(couponPrefix)},
		Limit:                     aws.Int32(int32(limit)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(couponPK(tenantID), couponSK(after))
	}
	return queryPage[loyalty.Coupon](ctx, s, in)
}

// CouponUses reads a member's use counters of the given coupons.
func (s *Store) CouponUses(ctx context.Context, tenantID, memberID string, codes []string) (map[string]int64, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(codes))
	for _, c := range codes {
		keys = append(keys, key(couponPK(tenantID), couponUseSK(c, memberID)))
	}
	items, err := s.batchGetAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, c := range codes {
		if it, ok := items[couponPK(tenantID)+"|"+couponUseSK(c, memberID)]; ok {
			if n, ok := it["uses"].(*types.AttributeValueMemberN); ok {
				out[c], _ = strconv.ParseInt(n.Value, 10, 64)
			}
		}
	}
	return out, nil
}

// couponUpdates add a commit's coupon counter changes to its transaction.
// A use (+1) is conditioned on the coupon's limit, and on the member's own
// limit in the member's counter: two closes racing for the last use of a
// coupon cannot both commit, whatever each read. A refund's give-back (-1)
// never takes a counter below zero.
func couponUpdates(t *txn, tenantID string, uses []loyalty.CouponUse) {
	for _, u := range uses {
		vals := map[string]types.AttributeValue{":d": num(u.Delta)}
		cond := "attribute_exists(" + layout.HashKey + ")"
		fail := onFail(loyalty.ErrCouponUsedUp)
		if u.Delta > 0 && u.Limit > 0 {
			cond += " AND uses < :limit"
			vals[":limit"] = num(u.Limit)
		}
		if u.Delta < 0 {
			cond += " AND uses >= :one"
			vals[":one"] = num(1)
			fail = loyalty.ErrConflict
		}
		t.update(&types.Update{
			Key: key(couponPK(tenantID), couponSK(u.Code)), UpdateExpression: strp("ADD uses :d"),
			ConditionExpression: &cond, ExpressionAttributeValues: vals,
		}, fail)
		if !u.PerMember {
			continue
		}
		mvals := map[string]types.AttributeValue{":d": num(u.Delta), ":c": str(u.Code), ":m": str(u.MemberID)}
		mcond := "attribute_not_exists(uses) OR uses < :limit"
		mfail := onFail(loyalty.ErrCouponUsedUp)
		if u.Delta > 0 {
			mvals[":limit"] = num(u.PerMemberLimit)
		} else {
			mcond = "uses >= :one"
			mvals[":one"] = num(1)
			mfail = loyalty.ErrConflict
		}
		t.update(&types.Update{
			Key:              key(couponPK(tenantID), couponUseSK(u.Code, u.MemberID)),
			UpdateExpression: strp("SET code = :c, memberId = :m ADD uses :d"), ConditionExpression: &mcond,
			ExpressionAttributeValues: mvals,
		}, mfail)
	}
}
