package client_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/loyalty/cashback/client"
	"github.com/loyalty/cashback/shared/webhooks"
)

// The receiver helper accepts what our signer and the Standard Webhooks
// library sign, with one or two (rotation) signatures, and refuses a
// tampered body, a wrong secret, an old timestamp and missing headers.
func TestVerifyWebhook(t *testing.T) {
	oldSecret, _ := webhooks.NewSecret()
	newSecret, _ := webhooks.NewSecret()
	body := []byte(`{"id":"evt_1","type":"points.accrued","tenantId":"t1","memberId":"m1","seq":3,"occurredAt":"2026-03-01T10:00:00Z","data":{"amount":700}}`)
	now := time.Now()

	lib, err := standardwebhooks.NewWebhook(newSecret)
	if err != nil {
		t.Fatal(err)
	}
	libSig, err := lib.Sign("evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	key := func(s string) []byte { k, _ := decode(s); return k }
	headers := func(sig string, ts time.Time) http.Header {
		h := http.Header{}
		h.Set("webhook-id", "evt_1")
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}
	both := webhooks.Signature([][]byte{key(newSecret), key(oldSecret)}, "evt_1", now, body)
	cases := []struct {
		name    string
		h       http.Header
		body    []byte
		secrets []string
		want    error
	}{
		{"library signature", headers(libSig, now), body, []string{newSecret}, nil},
		{"ours, two signatures, old secret", headers(both, now), body, []string{oldSecret}, nil},
		{"ours, two signatures, new secret", headers(both, now), body, []string{newSecret}, nil},
		{"unknown scheme first", headers("v1a,AAAA "+libSig, now), body, []string{newSecret}, nil},
		{"tampered body", headers(libSig, now), bytes.Replace(body, []byte("700"), []byte("900"), 1), []string{newSecret}, client.ErrWebhookSignature},
		{"wrong secret", headers(libSig, now), body, []string{oldSecret}, client.ErrWebhookSignature},
		{"old timestamp", headers(webhooks.Signature([][]byte{key(newSecret)}, "evt_1", now.Add(-6*time.Minute), body), now.Add(-6*time.Minute)), body, []string{newSecret}, client.ErrWebhookTimestamp},
		{"no headers", http.Header{}, body, []string{newSecret}, client.ErrWebhookHeaders},
	}
	for _, c := range cases {
		if err := client.VerifyWebhook(c.h, c.body, now, c.secrets...); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		// The library agrees on everything in its scope.
		if c.name == "library signature" || c.name == "tampered body" || c.name == "wrong secret" {
			w, _ := standardwebhooks.NewWebhook(c.secrets[0])
			if libErr := w.Verify(c.body, c.h); (libErr == nil) != (c.want == nil) {
				t.Errorf("%s: the library says %v", c.name, libErr)
			}
		}
	}

	req := httptest.NewRequest("POST", "/hook", bytes.NewReader(body))
	req.Header = headers(both, now)
	ev, err := client.ReadWebhook(req, newSecret)
	if err != nil || ev.ID != "evt_1" || ev.Seq != 3 || ev.Type != "points.accrued" {
		t.Fatalf("read: %+v %v", ev, err)
	}
}

func decode(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
}
