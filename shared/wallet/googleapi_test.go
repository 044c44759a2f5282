package wallet

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/loyalty/cashback/shared/loyalty"
)

// The Wallet REST API client: one token for many updates (a JWT assertion
// of the service account), then a PATCH of the object with the balance.
func TestGoogleAPIUpdatesObjects(t *testing.T) {
	k := testKeys(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var tokens int
	var patches []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/token":
			_ = r.ParseForm()
			claims := jwt.MapClaims{}
			_, err := jwt.ParseWithClaims(r.Form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &k.GoogleKey.PublicKey, nil },
				jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(srv.URL+"/token"), jwt.WithTimeFunc(func() time.Time { return now }))
			if err != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || claims["scope"] != googleScope {
				t.Errorf("token request: %v %v", err, r.Form)
				w.WriteHeader(400)
				return
			}
			tokens++
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-1", "expires_in": 3600})
		case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/v1/loyaltyObject/"):
			if r.Header.Get("Authorization") != "Bearer at-1" {
				w.WriteHeader(401)
				return
			}
			b, _ := io.ReadAll(r.Body)
			patches = append(patches, r.URL.Path+" "+string(b))
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	g := NewGoogleAPI(k)
	g.BaseURL, g.TokenURL, g.Client = srv.URL+"/v1", srv.URL+"/token", srv.Client()
	g.Now = func() time.Time { return now }
	for i, notify := range []bool{true, false} {
		if err := g.UpdateObject(context.Background(), "338.m_a.t_b", Card{Balance: loyalty.Points(1250 + 100*i), Tier: "Gold"}, notify); err != nil {
			t.Fatal(err)
		}
	}
	if tokens != 1 || len(patches) != 2 {
		t.Fatalf("%d tokens, %d patches", tokens, len(patches))
	}
	if !strings.Contains(patches[0], `/v1/loyaltyObject/338.m_a.t_b `) || !strings.Contains(patches[0], `"string":"12.50"`) ||
		!strings.Contains(patches[0], `"notifyPreference":"notifyOnUpdate"`) || strings.Contains(patches[1], "notifyPreference") ||
		!strings.Contains(patches[1], `"string":"Gold"`) {
		t.Errorf("patches %q", patches)
	}
	// An expired token is fetched again.
	now = now.Add(2 * time.Hour)
	if err := g.UpdateObject(context.Background(), "338.m_a.t_b", Card{}, false); err != nil || tokens != 2 {
		t.Fatalf("after expiry: %v, %d tokens", err, tokens)
	}
}
