package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/wallet"
)

// Wallet items (see the layout in store.go):
//
//	T#t#WALLET#m / APPLE            the member's Apple pass (token hash, update tag)
//	T#t#WALLET#m / REG#<device>     a device registered for the pass's updates
//	T#t#WALLET#m / GOOGLE           saved or deleted, as Google's callbacks said
//	T#t#GNONCE#<sha256(nonce)> / NONCE  a Google callback seen (TTL)
//	WDEV#<device> / REG#<type>#<serial>  the same registration, by device:
//	                                the PassKit service's list call names only the device
//
// The member's partition answers the feed consumer and GET /v1/members/{id}
// with one query; the device's partition answers the device.
func walletPK(t, m string) string { return "T#" + t + "#WALLET#" + m }
func devicePK(d string) string    { return "WDEV#" + d }
func deviceSK(passType, serial string) string {
	return "REG#" + passType + "#" + serial
}
func nonceKey(t, nonce string) string { return "T#" + t + "#GNONCE#" + sha(nonce) }

const (
	skApple   = "APPLE"
	skGoogle  = "GOOGLE"
	skRegPfx  = "REG#"
	skNonce   = "NONCE"
	nonceLife = 30 * 24 * time.Hour // Google retries for days at most
)

var _ wallet.Store = (*Store)(nil)

// WalletState reads a member's wallets with one strongly consistent query.
func (s *Store) WalletState(ctx context.Context, tenantID, memberID string) (wallet.State, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    strp("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(walletPK(tenantID, memberID))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return wallet.State{}, err
	}
	var st wallet.State
	for _, it := range items {
		sk := it[layout.RangeKey].(*types.AttributeValueMemberS).Value
		switch {
		case sk == skApple:
			st.Apple = &wallet.ApplePass{}
			err = unmarshal(it, st.Apple)
		case sk == skGoogle:
			st.Google = &wallet.GoogleState{}
			err = unmarshal(it, st.Google)
		case strings.HasPrefix(sk, skRegPfx):
			var r wallet.Registration
			err = unmarshal(it, &r)
			st.Devices = append(st.Devices, r)
		}
		if err != nil {
			return wallet.State{}, err
		}
	}
	return st, nil
}

// CreateApplePass stores the pass unless the member has one.
func (s *Store) CreateApplePass(ctx context.Context, p wallet.ApplePass) (wallet.ApplePass, error) {
	item, err := marshal(p, walletPK(p.TenantID, p.MemberID), skApple)
	if err != nil {
		return p, err
	}
	put := putNew(item)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: put.ConditionExpression})
	track(ctx, writes)
	if err == nil {
		return p, nil
	}
	if !isConditionFailed(err) {
		return p, fmt.Errorf("create pass: %w", err)
	}
	// Created meanwhile (two first downloads at once): the stored one wins.
	st, err := s.WalletState(ctx, p.TenantID, p.MemberID)
	if err != nil {
		return p, err
	}
	if st.Apple == nil {
		return p, errors.New("create pass: condition failed but no pass found")
	}
	return *st.Apple, nil
}

// TouchApplePass moves the pass's tag, conditioned on the tag read.
func (s *Store) TouchApplePass(ctx context.Context, tenantID, memberID string, prevTag, tag, seq int64) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(walletPK(tenantID, memberID), skApple),
		UpdateExpression:          strp("SET #tag = :tag, lastSeq = :seq"),
		ConditionExpression:       strp("#tag = :prev"),
		ExpressionAttributeNames:  map[string]string{"#tag": "tag"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tag": num(tag), ":seq": num(seq), ":prev": num(prevTag)},
	})
	track(ctx, writes)
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("touch pass: %w", err)
	}
	return true, nil
}

// registrationItems are the two items of a registration.
func registrationItems(r wallet.Registration) (byMember, byDevice map[string]types.AttributeValue, err error) {
	if byMember, err = marshal(r, walletPK(r.TenantID, r.MemberID), skRegPfx+r.DeviceID); err != nil {
		return nil, nil, err
	}
	byDevice, err = marshal(r, devicePK(r.DeviceID), deviceSK(r.PassTypeID, r.Serial))
	return byMember, byDevice, err
}

// cancelReasons returns the codes of a cancelled transaction, or nil.
func cancelReasons(err error) []string {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	out := make([]string, len(tc.CancellationReasons))
	for i, r := range tc.CancellationReasons {
		out[i] = aws.ToString(r.Code)
	}
	return out
}

// transact writes items (on this store's table) in one transaction.
func (s *Store) transact(ctx context.Context, items ...types.TransactWriteItem) error {
	for _, it := range items {
		switch {
		case it.Put != nil:
			it.Put.TableName = &s.table
		case it.Update != nil:
			it.Update.TableName = &s.table
		case it.Delete != nil:
			it.Delete.TableName = &s.table
		case it.ConditionCheck != nil:
			it.ConditionCheck.TableName = &s.table
		}
	}
	out, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		track(ctx, writes)
		return err
	}
	track(ctx, writes, out.ConsumedCapacity...)
	return nil
}

// Register writes both items of a registration in one transaction; the
// device's item must be new for a 201, else both are rewritten (a new push
// token) for a 200.
func (s *Store) Register(ctx context.Context, r wallet.Registration) (bool, error) {
	byMember, byDevice, err := registrationItems(r)
	if err != nil {
		return false, err
	}
	err = s.transact(ctx,
		types.TransactWriteItem{Put: putNew(byDevice)},
		types.TransactWriteItem{Put: &types.Put{Item: byMember}},
	)
	if err == nil {
		return true, nil
	}
	if reasons := cancelReasons(err); len(reasons) == 0 || reasons[0] != "ConditionalCheckFailed" {
		return false, fmt.Errorf("register device: %w", err)
	}
	err = s.transact(ctx, types.TransactWriteItem{Put: &types.Put{Item: byDevice}}, types.TransactWriteItem{Put: &types.Put{Item: byMember}})
	if err != nil {
		return false, fmt.Errorf("register device again: %w", err)
	}
	return false, nil
}

// Unregister deletes both items of a registration.
func (s *Store) Unregister(ctx context.Context, r wallet.Registration) error {
	err := s.transact(ctx,
		types.TransactWriteItem{Delete: &types.Delete{Key: key(devicePK(r.DeviceID), deviceSK(r.PassTypeID, r.Serial))}},
		types.TransactWriteItem{Delete: &types.Delete{Key: key(walletPK(r.TenantID, r.MemberID), skRegPfx+r.DeviceID)}},
	)
	if err != nil {
		return fmt.Errorf("unregister device: %w", err)
	}
	return nil
}

// DeviceRegistrations lists a device's registrations for a pass type.
func (s *Store) DeviceRegistrations(ctx context.Context, deviceID, passTypeID string) ([]wallet.Registration, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: strp("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(devicePK(deviceID)), ":p": str(deviceSK(passTypeID, "")),
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	out := make([]wallet.Registration, 0, len(items))
	for _, it := range items {
		var r wallet.Registration
		if err := unmarshal(it, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RecordGoogle writes the nonce and the state in one transaction: the
// nonce must be new (else a redelivery: nothing changes) and the state
// older than the message (else only the nonce is kept).
func (s *Store) RecordGoogle(ctx context.Context, e wallet.GoogleEvent) (bool, error) {
	nonce := map[string]types.AttributeValue{
		layout.HashKey: str(nonceKey(e.TenantID, e.Nonce)), layout.RangeKey: str(skNonce), "at": str(stamp(e.At)),
	}
	withTTL(nonce, e.At.Add(nonceLife))
	err := s.transact(ctx,
		types.TransactWriteItem{Put: putNew(nonce)},
		types.TransactWriteItem{Update: &types.Update{
			Key:                       key(walletPK(e.TenantID, e.MemberID), skGoogle),
			UpdateExpression:          strp("SET saved = :s, expMillis = :e, updatedAt = :at"),
			ConditionExpression:       strp("attribute_not_exists(expMillis) OR expMillis < :e"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberBOOL{Value: e.Saved}, ":e": num(e.ExpMillis), ":at": str(e.At.UTC().Format(time.RFC3339Nano))},
		}},
	)
	if err == nil {
		return false, nil
	}
	reasons := cancelReasons(err)
	switch {
	case len(reasons) == 2 && reasons[0] == "ConditionalCheckFailed":
		return true, nil
	case len(reasons) == 2 && reasons[1] == "ConditionalCheckFailed":
		// An older message than the state: keep only its nonce.
		put := putNew(nonce)
		_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: nonce, ConditionExpression: put.ConditionExpression})
		track(ctx, writes)
		if isConditionFailed(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("record google callback: %w", err)
		}
		return false, nil
	}
	return false, fmt.Errorf("record google callback: %w", err)
}

// RecordGoogleUpdate counts an object update and keeps the notifying ones.
func (s *Store) RecordGoogleUpdate(ctx context.Context, tenantID, memberID string, prev int64, notifiedAt []int64, seq int64) (bool, error) {
	cond, values := "updates = :prev", map[string]types.AttributeValue{":prev": num(prev)}
	if prev == 0 {
		cond, values = "attribute_exists(PK) AND attribute_not_exists(updates)", map[string]types.AttributeValue{}
	}
	list := &types.AttributeValueMemberL{}
	for _, at := range notifiedAt {
		list.Value = append(list.Value, num(at))
	}
	values[":n"], values[":list"], values[":seq"] = num(prev+1), list, num(seq)
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(walletPK(tenantID, memberID), skGoogle),
		UpdateExpression:          strp("SET updates = :n, notifiedAt = :list, lastSeq = :seq"),
		ConditionExpression:       &cond,
		ExpressionAttributeValues: values,
	})
	track(ctx, writes)
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record google update: %w", err)
	}
	return true, nil
}

// A tenant's own pass certificate (its key sealed by the wallet package):
//
//	T#t / APPLECERT
const skAppleCert = "APPLECERT"

// TenantCert reads a tenant's own pass certificate; nil when none.
func (s *Store) TenantCert(ctx context.Context, tenantID string) (*wallet.TenantCert, error) {
	item, err := s.get(ctx, tenantPK(tenantID), skAppleCert)
	if err != nil || item == nil {
		return nil, err
	}
	var c wallet.TenantCert
	if err := unmarshal(item, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// PutTenantCert stores or replaces a tenant's pass certificate.
func (s *Store) PutTenantCert(ctx context.Context, c wallet.TenantCert) error {
	item, err := marshal(c, tenantPK(c.TenantID), skAppleCert)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	track(ctx, writes)
	if err != nil {
		return fmt.Errorf("put pass certificate: %w", err)
	}
	return nil
}

// DeleteTenantCert removes a tenant's pass certificate.
func (s *Store) DeleteTenantCert(ctx context.Context, tenantID string) error {
	if err := s.transact(ctx, types.TransactWriteItem{Delete: &types.Delete{Key: key(tenantPK(tenantID), skAppleCert)}}); err != nil {
		return fmt.Errorf("delete pass certificate: %w", err)
	}
	return nil
}
