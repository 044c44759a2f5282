package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/store/storetest"
)

// memberItems reads a member's account, lot and stats items as stored.
func memberItems(t *testing.T, e *apitest.Env, memberID string) (account map[string]types.AttributeValue, lotItems int, statsItem bool) {
	t.Helper()
	out, err := storetest.Client(t).Query(context.Background(), &dynamodb.QueryInput{
		TableName:              aws.String(e.Store.Table()),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :a)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "T#" + e.TenantID + "#M#" + memberID},
			":a":  &types.AttributeValueMemberS{Value: "A"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		switch sk := it["SK"].(*types.AttributeValueMemberS).Value; {
		case sk == "A":
			account = it
		case strings.HasPrefix(sk, "A#LOT#"):
			lotItems++
		case sk == "A#STATS":
			statsItem = true
		}
	}
	if account == nil {
		t.Fatalf("member %s has no account item", memberID)
	}
	return account, lotItems, statsItem
}

func inlineLots(account map[string]types.AttributeValue) int {
	if m, ok := account["lots"].(*types.AttributeValueMemberM); ok {
		return len(m.Value)
	}
	return 0
}

// A member's lots live inside the account item while the item stays within
// its 2 KB budget — at least 20 of them, packed — in lot items of their
// own after that; the balance, the ledger and the sweep work the same for
// both, and an expired lot leaves either place.
func TestLotsLiveInsideTheAccountWhileTheyFit(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PointsLifetime = "P30D"
	e := apitest.New(t, apitest.Options{Program: &p})
	m := e.Enroll("+79120000091")
	const orders, allInside = 40, 20
	sawInline, sawApart := false, false
	for i := 1; i <= orders; i++ {
		e.Close(fmt.Sprintf("o%d", i), m.ID, 10000).Want(200) // 500 points, each lot its own expiry
		e.Clock.Advance(time.Hour)
		acct, lotItems, _ := memberItems(t, e, m.ID)
		if size := store.ItemSize(acct); size > 2048 {
			t.Fatalf("after order %d the account item is %d bytes, over its 2 KB budget", i, size)
		}
		if in := inlineLots(acct); in+lotItems != i {
			t.Fatalf("after order %d: %d lots inside + %d lot items, want %d lots", i, in, lotItems, i)
		}
		if i <= allInside && lotItems != 0 {
			t.Fatalf("lot %d was written as an item of its own (account item %d bytes)", i, store.ItemSize(acct))
		}
		sawInline = sawInline || inlineLots(acct) > 0
		sawApart = sawApart || lotItems > 0
		e.Verify(m.ID)
	}
	if !sawInline || !sawApart {
		t.Fatalf("%d lots never spilled into items (inline %v, apart %v)", orders, sawInline, sawApart)
	}
	// Spending takes from both places, soonest expiry first.
	e.Do("POST", "/v1/orders/spend/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "points": 1200}, apitest.Key()).Want(200)
	e.Do("POST", "/v1/orders/spend/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000}, apitest.Key()).Want(200)
	e.Verify(m.ID)

	// Past every expiry the daily sweep finds the lots inside (through the
	// account item's place in the index) and the lot items, and expires all.
	for day := 0; day < 40; day++ {
		e.Clock.Advance(24 * time.Hour)
		e.Do("POST", "/v1/admin/expiry-sweep", nil, nil).Want(200)
	}
	if b := e.Balance(m.ID); b.Available != 0 || b.Pending != 0 {
		t.Fatalf("after the sweep: %+v", b)
	}
	acct, lotItems, _ := memberItems(t, e, m.ID)
	if inlineLots(acct) != 0 || lotItems != 0 {
		t.Fatalf("expired lots left: %d inside, %d items", inlineLots(acct), lotItems)
	}
	if _, indexed := acct["GSI1PK"]; indexed {
		t.Fatalf("an account with nothing due stays in the sweep index")
	}
	e.Verify(m.ID)
}

// Tier counters live inside the account item until they outgrow its
// budget, then move to their own item once and for all, with the tier
// computed the same.
func TestCountersMoveOutWhenTheyOutgrowTheAccount(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.Tiers = nil
	e := apitest.New(t, apitest.Options{NoProgram: true})
	body := map[string]any{"name": "Tiers", "type": "bonus", "cashbackPercent": 5, "maxRedeemPercent": 50, "tiers": []map[string]any{
		{"name": "Base", "priority": 1, "cashbackPercent": 3, "qualify": map[string]any{"period": "P1Y"}},
		{"name": "Gold", "priority": 2, "cashbackPercent": 10, "qualify": map[string]any{"period": "P1Y", "spend": 1000000}},
	}}
	id := e.Do("POST", "/v1/programs", body, nil).Want(201).JSON()["programId"].(string)
	e.Do("POST", "/v1/programs/"+id+"/activate", nil, nil).Want(200)
	m := e.Enroll("+79120000092")
	movedAt := 0
	for day := 1; day <= 60 && movedAt == 0; day++ {
		e.Close(fmt.Sprintf("d%d", day), m.ID, 20000).Want(200) // one bucket a day
		e.Clock.Advance(24 * time.Hour)
		acct, _, apart := memberItems(t, e, m.ID)
		_, inside := acct["stats"]
		switch {
		case day == 1 && (!inside || apart):
			t.Fatalf("first day: counters inside %v, apart %v", inside, apart)
		case inside && apart:
			t.Fatalf("day %d: counters both inside and apart", day)
		case apart:
			movedAt = day
		}
		if size := store.ItemSize(acct); size > 2048 {
			t.Fatalf("day %d: account item %d bytes", day, size)
		}
	}
	if movedAt == 0 {
		t.Fatalf("60 daily buckets never left the account item")
	}
	// 20 000 a day: Gold (10 000 ₽ = 1 000 000 in a year) from day 50 on.
	for day := movedAt + 1; day <= 55; day++ {
		e.Close(fmt.Sprintf("d%d", day), m.ID, 20000).Want(200)
		e.Clock.Advance(24 * time.Hour)
	}
	if tier, _ := e.Do("GET", "/v1/members/"+m.ID, nil, nil).Want(200).JSON()["tier"].(string); tier != "Gold" {
		t.Fatalf("55 days of 200 ₽ with counters moved out on day %d: tier %q, want Gold", movedAt, tier)
	}
	if _, _, apart := memberItems(t, e, m.ID); !apart {
		t.Fatalf("counters moved back inside")
	}
	e.Verify(m.ID)
}

// An account item written before revisions (no rev) is still conditioned:
// on its seq, and written with a revision from then on.
func TestAccountWrittenBeforeRevisions(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000093")
	e.Close("a", m.ID, 100000).Want(200)
	_, err := storetest.Client(t).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(e.Store.Table()),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "T#" + e.TenantID + "#M#" + m.ID},
			"SK": &types.AttributeValueMemberS{Value: "A"},
		},
		UpdateExpression: aws.String("REMOVE rev"),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Close("b", m.ID, 100000).Want(200)
	acct, _, _ := memberItems(t, e, m.ID)
	if _, ok := acct["rev"]; !ok {
		t.Fatalf("the account item was written without a revision")
	}
	if b := e.Balance(m.ID); b.Available != 10000 {
		t.Fatalf("balance %+v, want 10000 available", b)
	}
	e.Verify(m.ID)
}

// A close capturing a hold writes 5 items — the account (lots inside), the
// capture's and the cashback's entries, the order, the idempotency record;
// a pay-as-you-go tenant's usage is counted from the stream — for a member
// with 20 live lots each of its own expiry: no lot spills into an item of
// its own.
func TestCloseWithHoldStaysAtFiveItemsWithTwentyLots(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PointsLifetime = "P1Y"
	e := apitest.New(t, apitest.Options{Program: &p, Plan: loyalty.PlanPAYG})
	m := e.Enroll("+79120000094")
	for i := 1; i < 20; i++ {
		e.Close(fmt.Sprintf("order-%06d", i), m.ID, 10000).Want(200)
		e.Clock.Advance(time.Hour)
	}
	e.Do("POST", "/v1/orders/held/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "points": 300}, apitest.Key()).Want(200)
	rec := &recorder{Client: storetest.Client(t)}
	svc := loyalty.NewService(store.New(rec, e.Store.Table()), e.Clock.Now)
	owner := loyalty.Caller{TenantID: e.TenantID, Role: loyalty.RoleOwner, KeyID: "k"}
	res, _, err := svc.CloseOrder(context.Background(), owner, loyalty.Idem{Key: "close-held", Hash: "h"}, loyalty.MemberRef{ID: m.ID},
		loyalty.CloseRequest{OrderID: "held", Total: 100000})
	if err != nil || res.Redeemed != 300 || res.Accrued <= 0 {
		t.Fatalf("close: %+v %v", res, err)
	}
	if len(rec.items) != 1 || strings.Join(rec.items[0], ", ") != "A, L, L, ORDER, IDEM" {
		t.Fatalf("the close with a hold wrote %v; want one transaction of 5 items: A, L, L, ORDER, IDEM", rec.items)
	}
	acct, lotItems, _ := memberItems(t, e, m.ID)
	if in := inlineLots(acct); in != 20 || lotItems != 0 {
		t.Fatalf("%d lots inside, %d lot items; want all 20 inside (account item %d bytes)", in, lotItems, store.ItemSize(acct))
	}
	t.Logf("account item with 20 lots inside: %d bytes", store.ItemSize(acct))
	e.Verify(m.ID)
}

// Lots written inside the account item before they were packed (maps of
// named attributes) read the same, are spent and expired the same, and are
// packed by the item's next write.
func TestLotsWrittenAsMapsStillWork(t *testing.T) {
	t.Parallel()
	p := apitest.DefaultProgram()
	p.PointsLifetime = "P30D"
	e := apitest.New(t, apitest.Options{Program: &p})
	m := e.Enroll("+79120000095")
	for i := 1; i <= 3; i++ {
		e.Close(fmt.Sprintf("o%d", i), m.ID, 10000).Want(200) // 500 points each
		e.Clock.Advance(time.Hour)
	}
	acct, _, _ := memberItems(t, e, m.ID)
	old, err := store.MapEncodedLots(acct)
	if err != nil {
		t.Fatal(err)
	}
	_, err = storetest.Client(t).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(e.Store.Table()),
		Key:                       map[string]types.AttributeValue{"PK": acct["PK"], "SK": acct["SK"]},
		UpdateExpression:          aws.String("SET lots = :old"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":old": old},
	})
	if err != nil {
		t.Fatal(err)
	}
	if b := e.Balance(m.ID); b.Available != 1500 {
		t.Fatalf("balance over map-encoded lots %+v, want 1500 available", b)
	}
	e.Verify(m.ID)
	e.Do("POST", "/v1/orders/spend/redeem", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000, "points": 700}, apitest.Key()).Want(200)
	acct, _, _ = memberItems(t, e, m.ID)
	for id, v := range acct["lots"].(*types.AttributeValueMemberM).Value {
		if _, packed := v.(*types.AttributeValueMemberS); !packed {
			t.Errorf("lot %s still a map after the item's next write", id)
		}
	}
	e.Do("POST", "/v1/orders/spend/close", map[string]any{"member": map[string]any{"id": m.ID}, "total": 100000}, apitest.Key()).Want(200)
	e.Verify(m.ID)
	for day := 0; day < 32; day++ {
		e.Clock.Advance(24 * time.Hour)
		e.Do("POST", "/v1/admin/expiry-sweep", nil, nil).Want(200)
	}
	if b := e.Balance(m.ID); b.Available != 0 {
		t.Fatalf("after every expiry: %+v", b)
	}
	e.Verify(m.ID)
}
