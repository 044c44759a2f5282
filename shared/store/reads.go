package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// get reads one item strongly consistently; nil when absent.
func (s *Store) get(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		track(ctx, reads)
		return nil, fmt.Errorf("get %s: %w", strings.SplitN(pk, "#", 3)[0], err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// getInto reads one item into v; notFound when absent.
func (s *Store) getInto(ctx context.Context, pk, sk string, v any, notFound error) error {
	item, err := s.get(ctx, pk, sk)
	if err != nil {
		return err
	}
	if item == nil {
		return notFound
	}
	return unmarshal(item, v)
}

// GetTenant reads a tenant with its current program.
func (s *Store) GetTenant(ctx context.Context, tenantID string) (*loyalty.Tenant, error) {
	var t loyalty.Tenant
	if err := s.getInto(ctx, tenantPK(tenantID), skTenant, &t, loyalty.ErrTenantNotFound); err != nil {
		return nil, err
	}
	fixProgram(&t, tenantID)
	return &t, nil
}

func fixProgram(t *loyalty.Tenant, tenantID string) {
	if t.CurrentProgram != nil {
		t.CurrentProgram.TenantID = tenantID
	}
}

// TenantBySlug resolves a public slug.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (*loyalty.Tenant, error) {
	var u struct {
		TenantID string `json:"tenantId"`
	}
	if err := s.getInto(ctx, slugPK(slug), skUniq, &u, loyalty.ErrTenantNotFound); err != nil {
		return nil, err
	}
	return s.GetTenant(ctx, u.TenantID)
}

// GetAPIKey reads a key by hash, strongly consistent, so a revocation stops
// the next request.
func (s *Store) GetAPIKey(ctx context.Context, hash string) (*loyalty.APIKey, error) {
	var k keyItem
	if err := s.getInto(ctx, keyPK(hash), skKey, &k, loyalty.ErrNotFoundKey); err != nil {
		return nil, err
	}
	return &loyalty.APIKey{Hash: hash, KeyID: k.KeyID, StaffID: k.StaffID, TenantID: k.TenantID, LastUsedAt: k.LastUsedAt, Role: k.Role, PointOfSale: k.PointOfSale, Revoked: k.Revoked, CreatedAt: k.CreatedAt}, nil
}

// GetAccount reads one account: the O(1) balance read.
func (s *Store) GetAccount(ctx context.Context, tenantID, memberID string) (*loyalty.Account, error) {
	var a loyalty.Account
	if err := s.getInto(ctx, memberPK(tenantID, memberID), skAccount, &a, loyalty.ErrMemberNotFound); err != nil {
		return nil, err
	}
	a.TenantID = tenantID
	return &a, nil
}

// GetOrder reads one order.
func (s *Store) GetOrder(ctx context.Context, tenantID, orderID string) (*loyalty.Order, error) {
	var o loyalty.Order
	if err := s.getInto(ctx, orderPK(tenantID, orderID), skOrder, &o, loyalty.ErrOrderNotFound); err != nil {
		return nil, err
	}
	o.TenantID = tenantID
	return &o, nil
}

// GetProgram reads one program.
func (s *Store) GetProgram(ctx context.Context, tenantID, programID string) (*loyalty.Program, error) {
	var p loyalty.Program
	if err := s.getInto(ctx, tenantPK(tenantID), programSK(programID), &p, loyalty.ErrProgramNotFound); err != nil {
		return nil, err
	}
	p.TenantID = tenantID
	return &p, nil
}

// GetChallenge reads a challenge.
func (s *Store) GetChallenge(ctx context.Context, tenantID, id string) (*loyalty.Challenge, error) {
	var c challengeItem
	if err := s.getInto(ctx, challengePK(tenantID, id), skChallenge, &c, loyalty.ErrChallengeNotFound); err != nil {
		return nil, err
	}
	ch := c.domain()
	ch.TenantID = tenantID
	return ch, nil
}

// GetIdem reads an idempotency record; nil when absent.
func (s *Store) GetIdem(ctx context.Context, tenantID string, idem loyalty.Idem) (*loyalty.IdemRecord, error) {
	item, err := s.get(ctx, idemPK(tenantID, idem.Scope, idem.Key), skIdem)
	if err != nil || item == nil {
		return nil, err
	}
	return decodeIdem(item)
}

func decodeIdem(item map[string]types.AttributeValue) (*loyalty.IdemRecord, error) {
	var r idemItem
	if err := unmarshal(item, &r); err != nil {
		return nil, err
	}
	return &loyalty.IdemRecord{Key: r.Key, Scope: r.Scope, RequestHash: r.RequestHash, Status: r.Status, Response: r.Response, CreatedAt: r.CreatedAt}, nil
}

// ResolveMember finds a member id by id, card or phone; "" when unknown.
func (s *Store) ResolveMember(ctx context.Context, tenantID string, ref loyalty.MemberRef) (string, error) {
	pk, ok := uniqPK(tenantID, ref)
	if !ok {
		return ref.ID, nil
	}
	var u uniqItem
	if err := s.getInto(ctx, pk, skUniq, &u, nil); err != nil || u.MemberID == "" {
		return "", err
	}
	return u.MemberID, nil
}

func uniqPK(tenantID string, ref loyalty.MemberRef) (string, bool) {
	switch {
	case ref.ID != "":
		return "", false
	case ref.Card != "":
		return cardPK(tenantID, ref.Card), true
	case ref.Phone != "":
		return phonePK(tenantID, ref.Phone), true
	}
	return "", false
}

// LoadOrderContext reads the tenant, the order, the idempotency record, a
// card or phone claim, the coupons presented and the catalog products of
// the order's SKUs in one BatchGetItem (beyond 100 keys, in parallel ones).
// The tenant item carries its current program and its promotions.
func (s *Store) LoadOrderContext(ctx context.Context, q loyalty.OrderQuery) (*loyalty.OrderContext, error) {
	tenantKey := tenantPK(q.TenantID) + "|" + skTenant
	orderKey := orderPK(q.TenantID, q.OrderID) + "|" + skOrder
	keys := []map[string]types.AttributeValue{key(tenantPK(q.TenantID), skTenant), key(orderPK(q.TenantID, q.OrderID), skOrder)}
	idemKey := ""
	if q.IdemKey != "" {
		idemKey = idemPK(q.TenantID, "", q.IdemKey) + "|" + skIdem
		keys = append(keys, key(idemPK(q.TenantID, "", q.IdemKey), skIdem))
	}
	uniqKey := ""
	if q.Member != nil {
		if pk, ok := uniqPK(q.TenantID, *q.Member); ok {
			uniqKey = pk + "|" + skUniq
			keys = append(keys, key(pk, skUniq))
		}
	}
	couponKeys, couponNames := namedKeys(q.Coupons, func(code string) (string, string) { return couponPK(q.TenantID), couponSK(code) })
	productKeys, productNames := namedKeys(q.SKUs, func(sku string) (string, string) { return catalogPK(q.TenantID), productSK(sku) })
	giftKeys, giftNames := namedKeys(q.GiftCards, func(n string) (string, string) { return giftCardPK(q.TenantID, n), skGiftCard })
	keys = append(append(append(keys, couponKeys...), productKeys...), giftKeys...)
	items, err := s.batchGetAll(ctx, keys)
	if err != nil {
		return nil, err
	}
	oc := &loyalty.OrderContext{}
	if oc.Products, err = decodeNamed[loyalty.Product](items, productNames, nil); err != nil {
		return nil, err
	}
	if oc.Coupons, err = decodeNamed(items, couponNames, func(c *loyalty.Coupon) { c.TenantID = q.TenantID }); err != nil {
		return nil, err
	}
	if oc.GiftCards, err = decodeNamed(items, giftNames, func(g *loyalty.GiftCard) { g.TenantID = q.TenantID }); err != nil {
		return nil, err
	}
	if it := items[tenantKey]; it != nil {
		var t loyalty.Tenant
		if err := unmarshal(it, &t); err != nil {
			return nil, err
		}
		fixProgram(&t, q.TenantID)
		oc.Tenant, oc.Promotions = &t, t.Promotions
	} else {
		return nil, loyalty.ErrTenantNotFound
	}
	if it := items[orderKey]; it != nil {
		var o loyalty.Order
		if err := unmarshal(it, &o); err != nil {
			return nil, err
		}
		o.TenantID = q.TenantID
		oc.Order = &o
	}
	if it := items[idemKey]; idemKey != "" && it != nil {
		if oc.Idem, err = decodeIdem(it); err != nil {
			return nil, err
		}
	}
	if q.Member != nil {
		oc.MemberID = q.Member.ID
		if it := items[uniqKey]; uniqKey != "" && it != nil {
			var u uniqItem
			if err := unmarshal(it, &u); err != nil {
				return nil, err
			}
			oc.MemberID = u.MemberID
		}
	}
	return oc, nil
}

// batchGet reads up to 100 items strongly consistently, retrying unprocessed
// keys; the result is keyed by "PK|SK".
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	out := map[string]map[string]types.AttributeValue{}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return nil, fmt.Errorf("batch get: keys left unprocessed after retries")
			}
			time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			track(ctx, reads)
			return nil, fmt.Errorf("batch get: %w", err)
		}
		track(ctx, reads, res.ConsumedCapacity...)
		for _, it := range res.Responses[s.table] {
			pk := it[layout.HashKey].(*types.AttributeValueMemberS).Value
			sk := it[layout.RangeKey].(*types.AttributeValueMemberS).Value
			out[pk+"|"+sk] = it
		}
		req = res.UnprocessedKeys
	}
	return out, nil
}

// LoadMember reads the account item (with the lots and counters inside it)
// and the lot and counter items of their own with one strongly consistent
// Query over the sort keys starting with "A".
func (s *Store) LoadMember(ctx context.Context, tenantID, memberID string) (*loyalty.MemberState, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :a)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(memberPK(tenantID, memberID)), ":a": str(skAccount)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	st := &loyalty.MemberState{}
	found := false
	for _, it := range items {
		sk := it[layout.RangeKey].(*types.AttributeValueMemberS).Value
		switch {
		case sk == skAccount:
			if err := decodeMemberItem(it, st); err != nil {
				return nil, err
			}
			st.Account.TenantID = tenantID
			found = true
		case sk == skStats:
			if err := unmarshal(it, &st.Stats); err != nil {
				return nil, err
			}
			st.Layout.StatsApart = true
		case strings.HasPrefix(sk, lotPrefix):
			var l loyalty.Lot
			if err := unmarshal(it, &l); err != nil {
				return nil, err
			}
			st.Lots = append(st.Lots, l)
		}
	}
	if !found {
		return nil, loyalty.ErrMemberNotFound
	}
	return st, nil
}

// queryPage runs one Query and decodes its items.
func queryPage[T any](ctx context.Context, s *Store, in *dynamodb.QueryInput) ([]T, error) {
	in.TableName = &s.table
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := s.db.Query(ctx, in)
	if err != nil {
		track(ctx, reads)
		return nil, fmt.Errorf("query: %w", err)
	}
	track(ctx, reads, one(out.ConsumedCapacity)...)
	return decodeAll[T](out.Items)
}

// decodeAll decodes items into domain values.
func decodeAll[T any](items []map[string]types.AttributeValue) ([]T, error) {
	list := make([]T, 0, len(items))
	for _, it := range items {
		var v T
		if err := unmarshal(it, &v); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, nil
}

func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			track(ctx, reads)
			return nil, fmt.Errorf("query: %w", err)
		}
		track(ctx, reads, one(out.ConsumedCapacity)...)
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// ListLedger returns up to limit entries older than beforeSeq (0: newest).
func (s *Store) ListLedger(ctx context.Context, tenantID, memberID string, limit int, beforeSeq int64) ([]loyalty.Entry, error) {
	upper := "L#~"
	if beforeSeq > 0 {
		upper = entrySK(beforeSeq - 1)
	}
	return queryPage[loyalty.Entry](ctx, s, &dynamodb.QueryInput{
		KeyConditionExpression:    strp("PK = :pk AND SK BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(memberPK(tenantID, memberID)), ":lo": str("L#"), ":hi": str(upper)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
		ConsistentRead:            aws.Bool(true),
	})
}

// AllLedger reads a member's whole ledger, oldest first (verification).
func (s *Store) AllLedger(ctx context.Context, tenantID, memberID string) ([]loyalty.Entry, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :l)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(memberPK(tenantID, memberID)), ":l": str("L#")},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return decodeAll[loyalty.Entry](items)
}

// ListPrograms lists a tenant's programs.
func (s *Store) ListPrograms(ctx context.Context, tenantID string) ([]loyalty.Program, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantPK(tenantID)), ":p": str("PROG#")},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	out := make([]loyalty.Program, 0, len(items))
	for _, it := range items {
		var p loyalty.Program
		if err := unmarshal(it, &p); err != nil {
			return nil, err
		}
		p.TenantID = tenantID
		out = append(out, p)
	}
	return out, nil
}

// Ping checks that the table answers (health check).
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	return err
}

// VerifyMember recomputes a member's hash chain and balances from the ledger
// and checks them against the account and the lots.
func (s *Store) VerifyMember(ctx context.Context, tenantID, memberID string) error {
	st, err := s.LoadMember(ctx, tenantID, memberID)
	if err != nil {
		return err
	}
	entries, err := s.AllLedger(ctx, tenantID, memberID)
	if err != nil {
		return err
	}
	if err := loyalty.VerifyChain(st.Account, entries); err != nil {
		return fmt.Errorf("member %s: %w", memberID, err)
	}
	avail, pending := loyalty.LotSum(st.Lots)
	if avail != st.Account.Available || pending != st.Account.Pending {
		return fmt.Errorf("member %s: lots hold %d available and %d pending, account says %d and %d",
			memberID, avail, pending, st.Account.Available, st.Account.Pending)
	}
	return nil
}

// namedKeys are the keys of the items ids name (keyOf gives each one's
// partition and sort key), and the id each "PK|SK" of a batch read
// (batchGetAll) stands for.
func namedKeys(ids []string, keyOf func(id string) (pk, sk string)) ([]map[string]types.AttributeValue, map[string]string) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	names := make(map[string]string, len(ids))
	for _, id := range ids {
		pk, sk := keyOf(id)
		keys = append(keys, key(pk, sk))
		names[pk+"|"+sk] = id
	}
	return keys, names
}

// decodeNamed picks the items names lists out of a batch read, by id (nil
// when none was found); fix, when given, completes each one.
func decodeNamed[T any](items map[string]map[string]types.AttributeValue, names map[string]string, fix func(*T)) (map[string]T, error) {
	var out map[string]T
	for k, id := range names {
		it, ok := items[k]
		if !ok {
			continue
		}
		var v T
		if err := unmarshal(it, &v); err != nil {
			return nil, err
		}
		if fix != nil {
			fix(&v)
		}
		if out == nil {
			out = map[string]T{}
		}
		out[id] = v
	}
	return out, nil
}
