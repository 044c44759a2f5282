package api_test

import (
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/routes"
)

// Any body on any write route gets a 2xx or a 4xx problem, never a 5xx.
// `go test` runs the seeds; `go test -fuzz FuzzRouteBodies` explores.
func FuzzRouteBodies(f *testing.F) {
	var writes []routes.Route
	for _, r := range routes.Routes {
		if (r.Method == "POST" || r.Method == "PUT") && !routes.IsPage(r) {
			writes = append(writes, r)
		}
	}
	seeds := []string{
		`{"member":{"id":"m_x"},"total":100,"points":1}`, `{"phone":"8 912 345-67-89","consent":{"terms":true}}`,
		`{"refundId":"r","amount":-1}`, `{"total":1e400}`, `{"code":"０１２３"}`, `[]`, `null`, `{"name":"\u0000"}`,
		`{"member":{"phone":"+7"},"total":9223372036854775807,"points":9223372036854775807}`, `{`, ``,
		`{"name":"p","type":"bonus","cashbackPercent":5.001,"maxRedeemPercent":50}`,
		`{"name":"p","type":"bonus","cashbackPercent":5,"maxRedeemPercent":50,"tiers":[{"name":"a","priority":1,"qualify":{"period":"P9999999D"}}]}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	e := apitest.New(f)
	m := e.Enroll("+79120000077")
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		r := writes[int(which)%len(writes)]
		path := r.Path
		for _, p := range []string{"{orderId}", "{programId}", "{staffId}", "{challengeId}", "{tenantSlug}"} {
			path = strings.ReplaceAll(path, p, "x")
		}
		path = strings.ReplaceAll(path, "{memberId}", m.ID)
		env := *e
		env.T = t // report through the fuzz target's t, not the F
		resp := env.Do(r.Method, path, body, apitest.Key())
		if resp.Status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.Method, path, body, resp.Status, resp.Body)
		}
		if resp.Status >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s %s: %d with %q", r.Method, path, resp.Status, resp.Header.Get("Content-Type"))
		}
	})
}
