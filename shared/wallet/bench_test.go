package wallet_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/wallet"
)

// BenchmarkSyncOneMember times wallet-sync's part of the change → push
// lag: one batch for a member with a pass on one device (read the wallet
// partition, move the tag, push to the outbox), against DynamoDB Local.
// Reported as p50/p99; run with go test -bench SyncOneMember ./shared/wallet.
func BenchmarkSyncOneMember(b *testing.B) {
	w := newWalletEnv(b)
	m := w.Enroll("+79161234599")
	pass := wallet.CheckPass(b, w.Do("GET", "/v1/members/"+m.ID+"/pass.pkpass", nil, nil).Want(200).Body, w.keys.Root)
	serial, token := pass["serialNumber"].(string), pass["authenticationToken"].(string)
	w.call(b, "POST", "/wallet/apple/v1/devices/benchdev/registrations/"+w.keys.PassTypeID+"/"+serial, []byte(`{"pushToken":"benchtok"}`),
		map[string]string{"Authorization": "ApplePass " + token}).want(b, 201, "register")
	sink := w.App.WalletSink()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ev := []feed.Event{{ID: fmt.Sprint(i), Type: feed.PointsAdjusted, TenantID: w.TenantID, MemberID: m.ID, Seq: int64(100 + i)}}
		if err := sink.Consume(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
