package store

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
)

// Domain structs are stored under their JSON field names, so an item reads
// the same in the console as in the API.
func marshal(v any, pk, sk string) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
	if err != nil {
		return nil, fmt.Errorf("marshal %s/%s: %w", pk, sk, err)
	}
	item[layout.HashKey] = str(pk)
	item[layout.RangeKey] = str(sk)
	return item, nil
}

func unmarshal(item map[string]types.AttributeValue, v any) error {
	return attributevalue.UnmarshalMapWithOptions(item, v, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
}

// marshalValue encodes a value kept inside another item (a lot in the
// account item) under the same JSON names.
func marshalValue(v any) (types.AttributeValue, error) {
	return attributevalue.MarshalWithOptions(v, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
}

func unmarshalValue(av types.AttributeValue, v any) error {
	return attributevalue.UnmarshalWithOptions(av, v, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" })
}

func withTTL(item map[string]types.AttributeValue, at time.Time) {
	item[layout.TTLAttribute] = num(at.Unix())
}

func merge(dst, src map[string]types.AttributeValue) map[string]types.AttributeValue {
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func (s *Store) accountItem(t string, a *loyalty.Account) (map[string]types.AttributeValue, error) {
	return marshal(a, memberPK(t, a.MemberID), skAccount)
}

func (s *Store) lotItem(t, m string, l *loyalty.Lot, now time.Time) (map[string]types.AttributeValue, error) {
	pk, sk := memberPK(t, m), lotSK(l.ID)
	item, err := marshal(l, pk, sk)
	if err != nil {
		return nil, err
	}
	if kind, at, ok := lotDue(l); ok { // sparse index: a spent lot is nobody's work
		merge(item, s.indexKeys(kind, at, now, pk, sk))
	}
	return item, nil
}

func (s *Store) orderItem(o *loyalty.Order, now time.Time) (map[string]types.AttributeValue, error) {
	pk := orderPK(o.TenantID, o.ID)
	item, err := marshal(o, pk, skOrder)
	if err != nil {
		return nil, err
	}
	if o.State == loyalty.OrderOpen && o.Held > 0 {
		merge(item, s.indexKeys(dueHold, o.HoldExpiresAt, now, pk, skOrder))
	}
	return item, nil
}

// challengeItem keeps the fields the API never shows (phone, code hash).
type challengeItem struct {
	loyalty.Challenge
	Phone     string `json:"phone"`
	Email     string `json:"email,omitempty"`
	Name      string `json:"name,omitempty"`
	BirthDate string `json:"birthDate,omitempty"`
	Marketing bool   `json:"marketing"`
	CodeHash  string `json:"codeHash"`
	// ReferrerID: the member whose referral code the customer gave.
	ReferrerID string `json:"referrerId,omitempty"`
	Card       string `json:"card,omitempty"`
}

func (c challengeItem) domain() *loyalty.Challenge {
	ch := c.Challenge
	ch.Phone, ch.Email, ch.Name, ch.BirthDate, ch.Marketing, ch.CodeHash, ch.Card = c.Phone, c.Email, c.Name, c.BirthDate, c.Marketing, c.CodeHash, c.Card
	ch.ReferrerID = c.ReferrerID
	return &ch
}

type idemItem struct {
	Key         string    `json:"key"`
	Scope       string    `json:"scope,omitempty"`
	RequestHash string    `json:"requestHash"`
	Status      int       `json:"status"`
	Response    []byte    `json:"response"`
	CreatedAt   time.Time `json:"createdAt"`
	// MeterKind and MeterMonth: the operation of an uncapped tenant that
	// this record's transaction made, counted from the stream (CountUsage).
	MeterKind  string `json:"meterKind,omitempty"`
	MeterMonth string `json:"meterMonth,omitempty"`
}

// scopeMeter keys the record a metered write without an Idempotency-Key
// writes to carry its meter (see meterWrites).
const scopeMeter = "meter"

// meterWrites adds an operation's meter to its transaction. A capped tenant
// counts in the transaction, conditioned on the cap. An uncapped one is
// counted from the stream instead: the meter rides on the idempotency
// record the transaction writes anyway (a request without a key gets a
// small record of its own), so the hot path writes no counter item.
func meterWrites(t *txn, tenantID string, m *loyalty.Meter, idem *loyalty.IdemRecord, at time.Time) error {
	if m != nil && m.Cap > 0 {
		t.update(meterUpdate(tenantID, m))
		m = nil
	}
	if idem == nil && m == nil {
		return nil
	}
	if idem == nil {
		idem = &loyalty.IdemRecord{Key: loyalty.NewID("u_"), Scope: scopeMeter, CreatedAt: at}
	}
	p, err := idemPut(tenantID, idem, m)
	if err != nil {
		return err
	}
	t.put(p, loyalty.ErrIdempotencyRace)
	return nil
}

func idemPut(t string, r *loyalty.IdemRecord, m *loyalty.Meter) (*types.Put, error) {
	it := idemItem{Key: r.Key, Scope: r.Scope, RequestHash: r.RequestHash, Status: r.Status, Response: r.Response, CreatedAt: r.CreatedAt}
	if m != nil {
		it.MeterKind, it.MeterMonth = m.Kind, m.Month
	}
	item, err := marshal(it, idemPK(t, r.Scope, r.Key), skIdem)
	if err != nil {
		return nil, err
	}
	withTTL(item, r.CreatedAt.Add(loyalty.IdemTTL))
	return putNew(item), nil
}

type uniqItem struct {
	MemberID string `json:"memberId"`
}

type keyItem struct {
	KeyID       string       `json:"keyId"`
	StaffID     string       `json:"staffId,omitempty"`
	TenantID    string       `json:"tenantId"`
	Role        loyalty.Role `json:"role"`
	PointOfSale string       `json:"pointOfSale,omitempty"`
	Revoked     bool         `json:"revoked"`
	CreatedAt   time.Time    `json:"createdAt"`
	LastUsedAt  time.Time    `json:"lastUsedAt,omitempty"`
}

// putNew is a Put that must not overwrite anything.
func putNew(item map[string]types.AttributeValue) *types.Put {
	return &types.Put{
		Item:                item,
		ConditionExpression: strp("attribute_not_exists(" + layout.HashKey + ")"),
	}
}

// putIf is a Put conditioned on a numeric attribute still holding the value read.
func putIf(item map[string]types.AttributeValue, attr string, want int64) *types.Put {
	return &types.Put{
		Item:                      item,
		ConditionExpression:       strp("#c = :c"),
		ExpressionAttributeNames:  map[string]string{"#c": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": num(want)},
	}
}

func strp(s string) *string { return &s }

func keyPut(k loyalty.APIKey) (*types.Put, error) {
	item, err := marshal(keyItem{KeyID: k.KeyID, StaffID: k.StaffID, TenantID: k.TenantID, Role: k.Role, PointOfSale: k.PointOfSale, CreatedAt: k.CreatedAt}, keyPK(k.Hash), skKey)
	if err != nil {
		return nil, err
	}
	return putNew(item), nil
}
