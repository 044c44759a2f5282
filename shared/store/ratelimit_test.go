package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/store/storetest"
)

// minute is the start of a minute, so that offsets name places in windows.
var minute = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// hitAll runs n hits at once and returns the refusals (nil for an admission).
func hitAll(t *testing.T, st *store.Store, n int, now time.Time, limits ...loyalty.RateLimit) []*loyalty.Error {
	t.Helper()
	out := make([]*loyalty.Error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := st.Hit(context.Background(), "t_1", now, limits...); err != nil {
				if !errors.As(err, &out[i]) {
					out[i] = &loyalty.Error{Code: loyalty.CodeInternal, Message: err.Error()}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	return out
}

func admitted(refusals []*loyalty.Error) int {
	n := 0
	for _, r := range refusals {
		if r == nil {
			n++
		}
	}
	return n
}

// Concurrent hits are admitted exactly up to the limit; every refusal names
// the limit and says when to retry.
func TestRateLimitExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	st := storetest.NewStore(t)
	perMinute := loyalty.RateLimit{Name: loyalty.LimitKeyPerMinute, Scope: "otp-key:k_1", Max: 10, Window: time.Minute}
	now := minute.Add(20 * time.Second)
	res := hitAll(t, st, 25, now, perMinute)
	if n := admitted(res); n != 10 {
		t.Fatalf("%d of 25 concurrent hits admitted, want exactly 10", n)
	}
	for _, r := range res {
		if r == nil {
			continue
		}
		if r.Code != loyalty.CodeTooManyRequests || r.Details.Limit != loyalty.LimitKeyPerMinute {
			t.Fatalf("refusal %+v", r)
		}
		// The 10 events leave the window a minute after their 5-second bucket
		// (10:00:20-10:00:25) ends: at 10:01:25.
		if r.Details.RetryAfter != 65*time.Second {
			t.Fatalf("retry after %v, want 65s", r.Details.RetryAfter)
		}
	}
	if n := admitted(hitAll(t, st, 5, now.Add(30*time.Second), perMinute)); n != 0 {
		t.Fatalf("%d admitted within the same minute past the limit", n)
	}

	// Two limits at once: a request counts against both or neither, so the
	// requests the tighter limit refuses leave the wider one's room intact.
	wide := loyalty.RateLimit{Name: loyalty.LimitTenantPerMinute, Scope: "otp-staff", Max: 40, Window: time.Minute}
	tight := loyalty.RateLimit{Name: loyalty.LimitPhone, Scope: "otp-staff:+79120000001", Max: 7, Window: 10 * time.Minute}
	res = hitAll(t, st, 30, now, wide, tight)
	if n := admitted(res); n != 7 {
		t.Fatalf("%d of 30 admitted under a limit of 7", n)
	}
	for _, r := range res {
		if r != nil && r.Details.Limit != loyalty.LimitPhone {
			t.Fatalf("refused by %q, want phone", r.Details.Limit)
		}
	}
	if n := admitted(hitAll(t, st, 40, now, wide)); n != 33 {
		t.Fatalf("the wide limit admitted %d more, want 33 (40 less the 7 counted): refused requests used its room", n)
	}
}

// A burst at the end of a minute and another right after it do not both
// pass, as they would with fixed windows: no 60 seconds ever hold more than
// the limit, and the refusal says how long until the first burst leaves.
func TestRateLimitSlidesAcrossTheBoundary(t *testing.T) {
	t.Parallel()
	st := storetest.NewStore(t)
	lim := loyalty.RateLimit{Name: loyalty.LimitPublicPerMinute, Scope: "otp-public", Max: 10, Window: time.Minute}
	burst := minute.Add(59500 * time.Millisecond)
	if n := admitted(hitAll(t, st, 10, burst, lim)); n != 10 {
		t.Fatalf("first burst: %d admitted", n)
	}
	res := hitAll(t, st, 10, minute.Add(60500*time.Millisecond), lim)
	if n := admitted(res); n != 0 {
		t.Fatalf("a burst one second after the boundary got %d more through", n)
	}
	// The first burst's bucket (10:00:55-10:01:00) leaves the window at 10:02:00.
	if got := res[0].Details.RetryAfter; got != 59500*time.Millisecond {
		t.Fatalf("retry after %v, want 59.5s", got)
	}
	// Trying every second until the burst is a minute old gets nothing through.
	for at := minute.Add(61 * time.Second); at.Before(burst.Add(time.Minute)); at = at.Add(time.Second) {
		if err := st.Hit(context.Background(), "t_1", at, lim); err == nil {
			t.Fatalf("admitted at %s, within a minute of 10 others", at.Format("15:04:05.000"))
		}
	}
	if n := admitted(hitAll(t, st, 12, minute.Add(2*time.Minute), lim)); n != 10 {
		t.Fatalf("once the burst has left the window: %d admitted, want 10", n)
	}
}

// A counter item keeps only the buckets still in the window, and expires.
func TestRateLimitItemStaysSmall(t *testing.T) {
	t.Parallel()
	st := storetest.NewStore(t)
	lim := loyalty.RateLimit{Name: loyalty.LimitPhone, Scope: "otp-public:+79120000002", Max: 3, Window: 10 * time.Minute}
	at := minute
	for i := 0; i < 30; i++ { // one hit every 4 minutes for 2 hours
		if err := st.Hit(context.Background(), "t_1", at, lim); err != nil {
			t.Fatalf("hit %d: %v", i, err)
		}
		at = at.Add(4 * time.Minute)
	}
	out, err := storetest.Client(t).Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(st.Table()), KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: ratePKForTest(t, st)}},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("counter item: %v, %d items", err, len(out.Items))
	}
	buckets := 0
	for name := range out.Items[0] {
		if strings.HasPrefix(name, "b") {
			buckets++
		}
	}
	if buckets > 13 {
		t.Fatalf("%d buckets kept; a 10-minute window needs at most 13", buckets)
	}
	if _, ok := out.Items[0]["ttl"]; !ok {
		t.Fatal("counter item without TTL")
	}
	// Phone numbers are never in keys: the scope is hashed.
	if strings.Contains(ratePKForTest(t, st), "7912") {
		t.Fatal("phone number in a key")
	}
}

// ratePKForTest finds the one rate-limit counter of the table.
func ratePKForTest(t *testing.T, st *store.Store) string {
	t.Helper()
	out, err := storetest.Client(t).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		if it["SK"].(*types.AttributeValueMemberS).Value == "RATE" {
			return it["PK"].(*types.AttributeValueMemberS).Value
		}
	}
	t.Fatal("no counter item")
	return ""
}
