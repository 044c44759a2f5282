package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GoogleObjects updates loyalty objects in Google Wallet.
type GoogleObjects interface {
	// UpdateObject patches the object's balance and tier; notify asks
	// Google to tell the user (Google allows 3 such updates per pass a day).
	UpdateObject(ctx context.Context, objectID string, c Card, notify bool) error
}

// Google's endpoints.
const (
	GoogleWalletAPI = "https://walletobjects.googleapis.com/walletobjects/v1"
	GoogleTokenURL  = "https://oauth2.googleapis.com/token"
	googleScope     = "https://www.googleapis.com/auth/wallet_object.issuer"
)

// GoogleAPI is the Wallet REST API with the service account's key: an
// OAuth access token from a signed JWT assertion (cached until shortly
// before it expires), then one PATCH per update, spaced to stay under
// Google's ~20 requests/s per issuer (per process: a Lambda instance
// handles one batch at a time).
type GoogleAPI struct {
	Keys     *Keys
	BaseURL  string // GoogleWalletAPI
	TokenURL string // GoogleTokenURL
	Client   *http.Client
	Now      func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	last    time.Time
}

// NewGoogleAPI returns the client of the service account in k.
func NewGoogleAPI(k *Keys) *GoogleAPI {
	return &GoogleAPI{Keys: k, BaseURL: GoogleWalletAPI, TokenURL: GoogleTokenURL, Client: &http.Client{Timeout: 10 * time.Second}}
}

func (g *GoogleAPI) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// minInterval spaces requests: 20 per second.
const minInterval = 50 * time.Millisecond

// accessToken returns a cached token or fetches one; it also paces calls.
func (g *GoogleAPI) accessToken(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if wait := minInterval - time.Since(g.last); wait > 0 {
		time.Sleep(wait)
	}
	g.last = time.Now()
	if g.token != "" && g.now().Before(g.expires) {
		return g.token, nil
	}
	now := g.now()
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": g.Keys.GoogleEmail, "scope": googleScope, "aud": g.TokenURL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}).SignedString(g.Keys.GoogleKey)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := g.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("google token: %w", err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("google token: status %d", res.StatusCode)
	}
	g.token, g.expires = tok.AccessToken, now.Add(time.Duration(tok.ExpiresIn)*time.Second-time.Minute)
	return g.token, nil
}

// ObjectPatch is the part of a loyalty object an update changes.
func ObjectPatch(c Card, notify bool) map[string]any {
	p := map[string]any{
		"loyaltyPoints": map[string]any{"label": "Points", "balance": map[string]any{"string": FormatPoints(c.Balance)}},
	}
	if c.Tier != "" {
		p["secondaryLoyaltyPoints"] = map[string]any{"label": "Tier", "balance": map[string]any{"string": c.Tier}}
	}
	if notify {
		p["notifyPreference"] = "notifyOnUpdate"
	}
	return p
}

// UpdateObject patches one object.
func (g *GoogleAPI) UpdateObject(ctx context.Context, objectID string, c Card, notify bool) error {
	token, err := g.accessToken(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(ObjectPatch(c, notify))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, g.BaseURL+"/loyaltyObject/"+url.PathEscape(objectID), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := g.Client.Do(req)
	if err != nil {
		return fmt.Errorf("google wallet: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("google wallet: PATCH object: status %d", res.StatusCode)
	}
	return nil
}

// OutboxGoogle stands in for the Wallet REST API locally: each update is a
// message {"to": objectId, "channel": "google-wallet", "body": the patch}.
type OutboxGoogle struct {
	Out Sender
	Now func() time.Time
}

// UpdateObject records the update.
func (o OutboxGoogle) UpdateObject(ctx context.Context, objectID string, c Card, notify bool) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	b, err := json.Marshal(ObjectPatch(c, notify))
	if err != nil {
		return err
	}
	return o.Out.Send(ctx, messageOf(objectID, "google-wallet", string(b), now()))
}
