package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookEvent is the body of a webhook delivery.
type WebhookEvent struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	TenantID   string          `json:"tenantId"`
	MemberID   string          `json:"memberId,omitempty"`
	Seq        int64           `json:"seq,omitempty"`
	OccurredAt time.Time       `json:"occurredAt"`
	Data       json.RawMessage `json:"data"`
}

// WebhookTolerance is how far a delivery's webhook-timestamp may be from
// the receiver's clock (Standard Webhooks: 5 minutes), against replays.
const WebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrWebhookHeaders   = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrWebhookTimestamp = errors.New("webhook: timestamp outside the tolerance")
	ErrWebhookSignature = errors.New("webhook: no signature matches")
)

// VerifyWebhook checks a delivery (Standard Webhooks): the three headers
// are present, webhook-timestamp is within WebhookTolerance of now, and one
// of the space-separated `v1,<base64>` signatures is the HMAC-SHA256 of
// "id.timestamp.body" under one of secrets (whsec_…; pass both the old and
// the new secret while rotating). Compare signatures in constant time,
// verify before parsing, and deduplicate on webhook-id: retries carry the
// same id.
func VerifyWebhook(h http.Header, body []byte, now time.Time, secrets ...string) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return ErrWebhookTimestamp
	}
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return fmt.Errorf("webhook: secret is not whsec_ + base64")
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		want := m.Sum(nil)
		for _, sig := range strings.Fields(sigs) {
			version, b64, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue // other schemes (v1a, …) are not ours
			}
			got, err := base64.StdEncoding.DecodeString(b64)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}

// MaxWebhookBody bounds what ReadWebhook reads (events are small).
const MaxWebhookBody = 1 << 20

// ReadWebhook reads and verifies a delivery and decodes its event. Answer
// 2xx quickly once it returns nil (work later, the sender waits at most
// 15 s); any other answer is retried.
func ReadWebhook(r *http.Request, secrets ...string) (*WebhookEvent, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxWebhookBody {
		return nil, errors.New("webhook: body too large")
	}
	if err := VerifyWebhook(r.Header, body, time.Now(), secrets...); err != nil {
		return nil, err
	}
	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("webhook: body is not an event: %w", err)
	}
	return &ev, nil
}
