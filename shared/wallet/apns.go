package wallet

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Pusher sends a pass-update push to one device.
type Pusher interface {
	// Push tells the device holding pushToken that passes of topic (the
	// pass type id) changed. ErrUnregistered: the token is dead and its
	// registration should go.
	Push(ctx context.Context, pushToken, topic string) error
}

// ErrUnregistered is APNs saying a token no longer reaches a device.
var ErrUnregistered = errors.New("apns: device token unregistered")

// APNsProduction is Apple's push endpoint.
const APNsProduction = "https://api.push.apple.com"

// APNs pushes over HTTP/2 with the Pass Type ID certificate as the client
// certificate: one POST per device with an empty JSON payload, as Apple
// specifies for pass updates.
type APNs struct {
	BaseURL string // APNsProduction; a test server in tests
	Client  *http.Client
}

// NewAPNs returns a client authenticating with the pass signer's
// certificate. Go's transport speaks HTTP/2 to a TLS server offering it.
func NewAPNs(k *Keys) *APNs {
	cert := tls.Certificate{Certificate: [][]byte{k.Signer.Raw, k.WWDR.Raw}, PrivateKey: k.SignerKey, Leaf: k.Signer}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}
	return &APNs{BaseURL: APNsProduction, Client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Push sends one update notification.
func (a *APNs) Push(ctx context.Context, pushToken, topic string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/3/device/"+url.PathEscape(pushToken), bytes.NewReader([]byte("{}")))
	if err != nil {
		return err
	}
	req.Header.Set("apns-topic", topic)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.Client.Do(req)
	if err != nil {
		return fmt.Errorf("apns: %w", err)
	}
	defer res.Body.Close()
	var reason struct {
		Reason string `json:"reason"`
	}
	_ = json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&reason)
	switch {
	case res.StatusCode == http.StatusOK:
		return nil
	case res.StatusCode == http.StatusGone, reason.Reason == "Unregistered", reason.Reason == "BadDeviceToken":
		return ErrUnregistered
	default:
		return fmt.Errorf("apns: status %d %s", res.StatusCode, reason.Reason)
	}
}

// Sender is where OutboxPusher writes (notify.Outbox locally).
type Sender interface {
	Send(ctx context.Context, m loyalty.Message) error
}

// OutboxPusher stands in for APNs on a laptop and in tests: every push is a
// message {"to": pushToken, "channel": "apns", "body": passTypeIdentifier}.
type OutboxPusher struct {
	Out Sender
	Now func() time.Time
}

// Push records the push.
func (o OutboxPusher) Push(ctx context.Context, pushToken, topic string) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	return o.Out.Send(ctx, messageOf(pushToken, "apns", topic, now()))
}

func messageOf(to, channel, body string, at time.Time) loyalty.Message {
	return loyalty.Message{To: to, Channel: channel, Body: body, SentAt: at}
}
