package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
)

// A packed lot reads back exactly: every field, times to the nanosecond
// and in UTC, an order id with commas, pending and never-expiring lots.
func TestInlineLotRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 30, 14, 3, 7, 123456789, time.UTC)
	for _, l := range []loyalty.Lot{
		{ID: "000000000042-1", Original: 50000, Remaining: 12345, AvailableFrom: at, ExpiresAt: at.AddDate(1, 0, 0), OrderID: "o-17", CreatedAt: at},
		{ID: "000000000043-2", Original: 1, Remaining: 0, AvailableFrom: at, CreatedAt: at},                                                                // spent, never expires
		{ID: "000000000044-1", Original: 700, Remaining: 700, Pending: true, AvailableFrom: at.Add(14 * 24 * time.Hour), CreatedAt: at},                    // pending
		{ID: "000000000045-1", Original: 9, Remaining: 9, AvailableFrom: at, ExpiresAt: at.Add(1500 * time.Millisecond), OrderID: "a,b,,c", CreatedAt: at}, // sub-second expiry, commas
		{ID: "000000000046-1", Original: 3, Remaining: 3, AvailableFrom: at.Add(-time.Hour), ExpiresAt: at.Add(-time.Nanosecond), CreatedAt: at},           // offsets before creation
	} {
		v := encodeInlineLot(l)
		got, err := decodeInlineLot(l.ID, v)
		if err != nil {
			t.Fatalf("%s: %v", l.ID, err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Errorf("%s:\n got %+v\nwant %+v (packed %q)", l.ID, got, l, v.(*types.AttributeValueMemberS).Value)
		}
	}
}

// A typical lot (earned on an order, expiring in a year) takes under a
// third of its former size: about 50 bytes with its id, where the map of
// named attributes took about 200.
func TestInlineLotIsCompact(t *testing.T) {
	at := time.Date(2026, 11, 30, 14, 3, 7, 123456789, time.UTC)
	l := loyalty.Lot{ID: "000000000042-1", Original: 50000, Remaining: 50000, AvailableFrom: at, ExpiresAt: at.AddDate(1, 0, 0), OrderID: "order-123456", CreatedAt: at}
	old, err := marshalValue(l)
	if err != nil {
		t.Fatal(err)
	}
	packed := encodeInlineLot(l)
	oldSize, newSize := 1+len(l.ID)+valueSize(old), 1+len(l.ID)+valueSize(packed)
	t.Logf("a lot inside the account item: %d bytes packed, %d as a map", newSize, oldSize)
	if newSize > 64 || newSize*3 > oldSize {
		t.Fatalf("packed lot %d bytes (map %d): want at most 64 and under a third", newSize, oldSize)
	}
}

// Lots written as maps, before the packing, read the same.
func TestInlineLotReadsTheMapEncoding(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	l := loyalty.Lot{ID: "000000000007-1", Original: 100, Remaining: 40, Pending: true, AvailableFrom: at.Add(time.Hour), ExpiresAt: at.AddDate(0, 6, 0), OrderID: "o", CreatedAt: at}
	old, err := marshalValue(l)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeInlineLot(l.ID, old)
	if err != nil || !got.CreatedAt.Equal(l.CreatedAt) || !got.ExpiresAt.Equal(l.ExpiresAt) || !got.AvailableFrom.Equal(l.AvailableFrom) ||
		got.ID != l.ID || got.Remaining != 40 || got.Original != 100 || !got.Pending || got.OrderID != "o" {
		t.Fatalf("%+v, %v", got, err)
	}
	for _, bad := range []string{"", "1,2,,3", "x!,1,,1,,,", "1,1,,1,zz!,,"} {
		if _, err := decodeInlineLot("l", &types.AttributeValueMemberS{Value: bad}); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}
