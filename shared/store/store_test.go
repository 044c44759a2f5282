package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// `ledger verify` recomputes the hash chain and balances: an entry edited in
// the table, or a balance edited without an entry, is caught.
func TestVerifyCatchesTampering(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	m := e.Enroll("+79120000080")
	e.Close("a", m.ID, 100000).Want(200)
	e.Close("b", m.ID, 50000).Want(200)
	e.Verify(m.ID)

	db := storetest.Client(t)
	pk := "T#" + e.TenantID + "#M#" + m.ID
	set := func(sk, expr string, vals map[string]types.AttributeValue) {
		t.Helper()
		_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
			TableName:        aws.String(e.Store.Table()),
			Key:              map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}},
			UpdateExpression: aws.String(expr), ExpressionAttributeValues: vals,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Inflate the first accrual in place.
	set("L#000000000001", "SET amount = :a, dAvailable = :a", map[string]types.AttributeValue{":a": &types.AttributeValueMemberN{Value: "900000"}})
	err := e.Store.VerifyMember(context.Background(), e.TenantID, m.ID)
	if err == nil || !strings.Contains(err.Error(), "hash chain broken") {
		t.Fatalf("tampered entry not detected: %v", err)
	}
	set("L#000000000001", "SET amount = :a, dAvailable = :a", map[string]types.AttributeValue{":a": &types.AttributeValueMemberN{Value: "5000"}})
	e.Verify(m.ID)
	// A balance edited without a ledger entry.
	set("A", "SET available = :a", map[string]types.AttributeValue{":a": &types.AttributeValueMemberN{Value: "999999"}})
	if err := e.Store.VerifyMember(context.Background(), e.TenantID, m.ID); err == nil || !strings.Contains(err.Error(), "differs from ledger sum") {
		t.Fatalf("edited balance not detected: %v", err)
	}
}
