package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/ddblocal"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/store"
)

// Environment of the local tools (API.md, "Local run").
const (
	envPort    = "LOYALTY_PORT"
	envDataDir = "LOYALTY_DATA_DIR"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func dataDir() string { return env(envDataDir, ".local") }

// endpointFile records the DynamoDB endpoint of a running local server, so
// the CLI talks to the same emulator instead of opening its files twice.
func endpointFile() string { return filepath.Join(dataDir(), "dynamodb.endpoint") }

// externalEndpoint is a DynamoDB endpoint given by the environment.
func externalEndpoint() string {
	if e := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); e != "" {
		return e
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// local is the store the local tools use and what must be stopped after.
type local struct {
	app      *app.App
	emulator *ddblocal.Server
}

func (l *local) Close() {
	if l.emulator != nil {
		l.emulator.Stop()
		_ = os.Remove(endpointFile())
	}
}

// openLocal wires the app against, in order of preference: the endpoint in
// the environment; the emulator of a running local server; a new emulator
// on the data dir (own = true lets it start one).
func openLocal(ctx context.Context, logger *slog.Logger, own bool) (*local, error) {
	l := &local{}
	table := env(routes.EnvTable, "loyalty")
	var endpoint string
	switch {
	case externalEndpoint() != "":
		endpoint = externalEndpoint()
	default:
		if b, err := os.ReadFile(endpointFile()); err == nil && !own {
			endpoint = strings.TrimSpace(string(b))
		} else {
			srv, err := ddblocal.Start(ctx, ddblocal.Options{
				DataDir: filepath.Join(dataDir(), "dynamodb"),
				LogPath: filepath.Join(dataDir(), "dynamodb.log"),
			})
			if err != nil {
				return nil, err
			}
			l.emulator = srv
			endpoint = srv.Endpoint
			if own {
				if err := os.WriteFile(endpointFile(), []byte(endpoint), 0o644); err != nil {
					l.Close()
					return nil, err
				}
			}
		}
	}
	secret, err := otpSecret()
	if err != nil {
		l.Close()
		return nil, err
	}
	notifier := env(routes.EnvNotifier, app.NotifierOutbox)
	a, err := app.New(ctx, app.Config{
		Table:      table,
		Notifier:   notifier,
		OutboxPath: filepath.Join(dataDir(), "outbox.jsonl"),
		OTPSecret:  secret,
		DynamoDB:   dynamoClient(endpoint),
		Phones:     libphone.Normalize,
		Logger:     logger,
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	if err := a.Store.CreateTable(ctx); err != nil {
		l.Close()
		return nil, err
	}
	l.app = a
	return l, nil
}

// dynamoClient talks to a local or emulated endpoint. Credentials come from
// the environment when set (LocalStack accepts any), else dummy ones.
func dynamoClient(endpoint string) store.API {
	return ddblocal.Client(endpoint)
}

// otpSecret is the local HMAC key for codes: from the environment, else
// generated once and kept in the data dir (never in git).
func otpSecret() ([]byte, error) {
	if s := os.Getenv(routes.EnvOTPSecret); s != "" {
		return []byte(s), nil
	}
	path := filepath.Join(dataDir(), "otp.secret")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	secret := []byte(hex.EncodeToString(b))
	if err := os.MkdirAll(dataDir(), 0o755); err != nil {
		return nil, err
	}
	return secret, os.WriteFile(path, secret, 0o600)
}

// Credentials is what make run writes for the demo tenant.
type Credentials struct {
	BaseURL    string `json:"baseUrl"`
	TenantID   string `json:"tenantId"`
	TenantSlug string `json:"tenantSlug"`
	APIKey     string `json:"apiKey"`
}

func credentialsPath() string { return filepath.Join(dataDir(), "credentials.json") }

func readCredentials() (*Credentials, error) {
	b, err := os.ReadFile(credentialsPath())
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	if c.APIKey == "" || c.TenantID == "" {
		return nil, errors.New("incomplete credentials")
	}
	return &c, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeCredentials(c *Credentials) error {
	f, err := os.OpenFile(credentialsPath(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := writeJSON(f, c); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}
