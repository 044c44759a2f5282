package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/store/storetest"
)

// recorder is the DynamoDB client, noting what each transaction writes.
type recorder struct {
	*dynamodb.Client
	mu    sync.Mutex
	items [][]string // per transaction: the kind of each item (its sort key's prefix)
}

func (r *recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	var names []string
	for _, it := range in.TransactItems {
		var k map[string]types.AttributeValue
		switch {
		case it.Put != nil:
			k = it.Put.Item
		case it.Update != nil:
			k = it.Update.Key
		case it.Delete != nil:
			k = it.Delete.Key
		case it.ConditionCheck != nil:
			k = it.ConditionCheck.Key
		}
		names = append(names, strings.Split(k["SK"].(*types.AttributeValueMemberS).Value, "#")[0])
	}
	r.mu.Lock()
	r.items = append(r.items, names)
	r.mu.Unlock()
	return r.Client.TransactWriteItems(ctx, in, opts...)
}

// The items of one close's transaction: a plain close writes the account
// item (lots inside), its entry, the order, the idempotency record and the
// usage meter; a coupon adds its counter, and its member's counter only
// when it has a per-member limit.
func TestCloseTransactionItems(t *testing.T) {
	e := apitest.New(t)
	e.Do("POST", "/v1/coupons", map[string]any{"code": "MULTI", "usage": "multi", "discountPercent": 10}, nil).Want(201)
	e.Do("POST", "/v1/coupons", map[string]any{"code": "PERM", "usage": "multi", "perMemberLimit": 5, "points": 100}, nil).Want(201)
	owner := loyalty.Caller{TenantID: e.TenantID, Role: loyalty.RoleOwner, KeyID: "k"}
	id, err := e.App.Service.ImportMember(context.Background(), owner, loyalty.ImportRow{Phone: "+79125550001"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Client: storetest.Client(t)}
	svc := loyalty.NewService(store.New(rec, e.Store.Table()), e.Clock.Now)
	for i, c := range []struct {
		coupons []string
		want    string
	}{
		// account (lots inside), ledger entry, order, usage meter (the free
		// plan's cap holds in the transaction; a pay-as-you-go tenant's
		// usage is counted from the stream instead), idempotency record,
		// (coupon, member's use)
		{nil, "A, L, ORDER, USAGE, IDEM"},
		{[]string{"MULTI"}, "A, L, ORDER, USAGE, IDEM, C"},
		{[]string{"PERM"}, "A, L, ORDER, USAGE, IDEM, C, U"},
	} {
		rec.items = nil
		_, _, err := svc.CloseOrder(context.Background(), owner, loyalty.Idem{Key: fmt.Sprint("key-", i), Hash: "h"}, loyalty.MemberRef{ID: id},
			loyalty.CloseRequest{OrderID: fmt.Sprint("o", i), Total: 10000, Coupons: c.coupons})
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.items) != 1 {
			t.Fatalf("%v: %d transactions", c.coupons, len(rec.items))
		}
		if got := strings.Join(rec.items[0], ", "); got != c.want {
			t.Errorf("close with %v writes %s; want %s", c.coupons, got, c.want)
		}
	}
}
