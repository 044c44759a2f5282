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

	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/ddblocal"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/stream"
	"github.com/loyalty/cashback/shared/wallet"
	"github.com/loyalty/cashback/shared/webhooks"
)

// Environment of the local tools (API.md, "Local run").
const (
	envPort     = "LOYALTY_PORT"
	envDataDir  = "LOYALTY_DATA_DIR"
	envDemoPlan = "LOYALTY_DEMO_PLAN" // plan of the demo tenant serve creates: payg (default) or free
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func dataDir() string { return env(envDataDir, ".local") }

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
	endpoint string
	table    string
	// store says in one line which store this is, for the user.
	store string
}

func (l *local) Close() {
	if l.emulator != nil {
		l.emulator.Stop()
	}
}

// openLocal wires the app against, in order of preference: the endpoint in
// the environment; the emulator of the server running on this data dir; a
// new emulator on the data dir. serve (own) never borrows another server's
// emulator and refuses to start a second one on the same files. Tools say on
// notes which store they use, and warn when a server runs on another data
// dir: its data is not what they read and write.
func openLocal(ctx context.Context, logger *slog.Logger, own bool, notes io.Writer) (*local, error) {
	l := &local{table: env(layout.EnvTable, "loyalty")}
	dir := absDataDir()
	var mine *serverRecord
	var others []serverRecord
	for _, r := range runningServers() {
		if r.DataDir == dir && mine == nil {
			mine = &r
		} else {
			others = append(others, r)
		}
	}
	if mine != nil && own {
		return nil, fmt.Errorf("a server (pid %d, %s) already serves data dir %s: stop it or set %s to another folder", mine.PID, mine.BaseURL, dir, envDataDir)
	}
	switch {
	case externalEndpoint() != "":
		l.endpoint = externalEndpoint()
		l.store = fmt.Sprintf("DynamoDB at %s (AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL), table %s", l.endpoint, l.table)
		others = nil // the environment chose the store
	case mine != nil:
		l.endpoint = mine.Endpoint
		if os.Getenv(layout.EnvTable) == "" && mine.Table != "" {
			l.table = mine.Table
		}
		l.store = fmt.Sprintf("the running server's (pid %d, %s, data dir %s): DynamoDB %s, table %s", mine.PID, mine.BaseURL, dir, l.endpoint, l.table)
		others = nil
	default:
		srv, err := ddblocal.Start(ctx, ddblocal.Options{
			DataDir: filepath.Join(dir, "dynamodb"),
			LogPath: filepath.Join(dir, "dynamodb.log"),
		})
		if err != nil {
			return nil, err
		}
		l.emulator = srv
		l.endpoint = srv.Endpoint
		l.store = fmt.Sprintf("own DynamoDB Local on %s, table %s", filepath.Join(dir, "dynamodb"), l.table)
		if !own {
			l.store += " (no server runs on this data dir)"
		}
	}
	if !own {
		fmt.Fprintf(notes, "loyalty: store: %s\n", l.store)
		for _, r := range others {
			fmt.Fprintf(notes, "loyalty: warning: a server (pid %d, %s) runs on data dir %s, not on %s: this command does not see its data; set %s=%s to use it\n",
				r.PID, r.BaseURL, r.DataDir, dir, envDataDir, r.DataDir)
		}
	}
	secret, err := otpSecret()
	if err != nil {
		l.Close()
		return nil, err
	}
	webhookKey, err := localKey(layout.EnvWebhookKey, "webhook.key")
	if err != nil {
		l.Close()
		return nil, err
	}
	// The fake SMS gateway signs its inbound replies (STOP) with this key.
	inboundKey, err := localKey(layout.EnvSMSInboundSecret, "sms-inbound.secret")
	if err != nil {
		l.Close()
		return nil, err
	}
	notifier := env(layout.EnvNotifier, app.NotifierOutbox)
	// Throwaway wallet keys, generated once into the data dir: passes are
	// signed but install on no real device.
	walletKeys, err := wallet.LocalKeys(dataDir())
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("wallet keys: %w", err)
	}
	walletCfg, err := app.WalletFromEnv(walletKeys)
	if err != nil {
		l.Close()
		return nil, err
	}
	a, err := app.New(ctx, app.Config{
		Wallet:     walletCfg,
		Table:      l.table,
		Notifier:   notifier,
		OutboxPath: outboxPath(),
		OTPSecret:  secret,
		DynamoDB:   dynamoClient(l.endpoint),
		Phones:     libphone.Normalize,
		Logger:     logger,
		WebhookKey: webhookKey,
		// Campaign links point at the local server (set again by serve
		// once it knows its port).
		BaseURL:          os.Getenv(layout.EnvBaseURL),
		SMSInboundSecret: inboundKey,
		// On a laptop receivers listen on 127.0.0.1 over plain http; every
		// other private or reserved range stays refused.
		WebhookGuard: &webhooks.Guard{Local: true},
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

// poller reads the table's stream through DynamoDB Local's Streams API (or
// the endpoint's) into the feed's dispatcher, as the dispatch function's
// event source mapping does in the cloud.
func (l *local) poller(ctx context.Context) (*stream.Poller, error) {
	return stream.NewPoller(ctx, l.app.Store, ddblocal.StreamsClient(l.endpoint), stream.NewDispatcher(l.app.Store, l.app.Logger, feedSinks(l.app)...))
}

// drainFeed reads the table's stream up to now through the feed's
// dispatcher (which counts pay-as-you-go usage).
func drainFeed(ctx context.Context, l *local) error {
	p, err := l.poller(ctx)
	if err != nil {
		return err
	}
	return p.Drain(ctx)
}

// feedSinks are the consumers of the feed's events locally, the same as
// functions/dispatch hands its events to (usage counting needs none).
func feedSinks(a *app.App) []feed.Sink {
	return []feed.Sink{a.Webhooks, a.WalletSink(), a.ReferralSink(), a.RecentOpsSink()}
}

func outboxPath() string { return filepath.Join(dataDir(), "outbox.jsonl") }

// dynamoClient talks to a local or emulated endpoint. Credentials come from
// the environment when set (LocalStack accepts any), else dummy ones.
func dynamoClient(endpoint string) store.API {
	return ddblocal.Client(endpoint)
}

// otpSecret is the local HMAC key for codes: from the environment, else
// generated once and kept in the data dir (never in git).
func otpSecret() ([]byte, error) { return localKey(layout.EnvOTPSecret, "otp.secret") }

// localKey is a local key from the environment variable, else generated
// once and kept in the data dir file (never in git).
func localKey(envName, file string) ([]byte, error) {
	if s := os.Getenv(envName); s != "" {
		return []byte(s), nil
	}
	path := filepath.Join(dataDir(), file)
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
	Plan       string `json:"plan,omitempty"`
	// ProgramID is the demo program, so the README's walk-through can
	// switch to another program and back.
	ProgramID string `json:"programId,omitempty"`
	APIKey    string `json:"apiKey"`
}

func credentialsPath() string {
	return filepath.Join(absDataDir(), "credentials.json")
}

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
