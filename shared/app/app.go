// Package app wires the service from its environment: DynamoDB client, store,
// notifier, OTP secret and logger, built once per process (Lambda init or the
// local server) and shared by every request.
//
// A Lambda links only what it serves (DESIGN.md: every binary ≤ 12 MiB):
// its main passes its own api.Function to ServeHTTP (its handlers alone),
// and the optional parts — the webhooks service, the wallets — are wired
// only by the options that need them (WithWebhookQueueFrom, WithWalletFrom).
// New, for the local server, the tests and the bench, wires every part, and
// Handler serves every function. A new optional part follows the same
// shape: a wire function (see wireWebhooks) added by an Option, never
// called from build.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/campaigns"
	"github.com/loyalty/cashback/shared/cloud/awsenv"
	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/notify"
	"github.com/loyalty/cashback/shared/otp"
	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/recentops"
	"github.com/loyalty/cashback/shared/referral"
	"github.com/loyalty/cashback/shared/reports"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/wallet"
	"github.com/loyalty/cashback/shared/webhooks"
)

// Notifier modes (layout.EnvNotifier).
const (
	NotifierAWS    = "aws"    // SNS for SMS, SES for email
	NotifierTable  = "table"  // kept in the table, for smoke tests of a deployed stack
	NotifierOutbox = "outbox" // appended to a local file
)

// Config says how to build the app.
type Config struct {
	Table      string
	Notifier   string
	OutboxPath string // NotifierOutbox
	EmailFrom  string
	OTPSecret  []byte
	// DynamoDB overrides the client (local server, tests); nil builds one
	// from the Lambda environment (awsenv: AWS_ENDPOINT_URL_DYNAMODB or
	// AWS_ENDPOINT_URL point it elsewhere).
	DynamoDB store.API
	// Sender overrides the notifier (the enroll function injects SNS + SES,
	// so only its binary carries those clients).
	Sender loyalty.Sender
	// Phones parses phone numbers; nil uses the lean lookup parser, and the
	// functions that store numbers pass phone.Normalize.
	Phones api.PhoneNormalizer
	Logger *slog.Logger
	Now    func() time.Time

	// BaseURL is where unsubscribe links in campaign messages point.
	BaseURL string
	// CampaignKicker wakes the campaign worker (SQS in the cloud); nil: the
	// local worker polls the due index (App.Campaigns.Reconcile).
	CampaignKicker campaigns.Kicker
	// SMSInboundSecret authenticates the SMS gateway's inbound replies
	// (STOP); empty: the inbound route refuses every call.
	SMSInboundSecret []byte

	// WebhookKey seals webhook signing secrets; without it webhooks cannot
	// be created or delivered (their operations answer 500).
	WebhookKey []byte
	// WebhookGuard resolves and dials receivers; nil is the cloud's guard
	// (https only, no loopback). The local server sets Local.
	WebhookGuard *webhooks.Guard
	// WebhookQueue carries delivery kicks: SQS in the cloud; nil makes a
	// LocalQueue, which the caller runs (App.WebhookQueue).
	WebhookQueue webhooks.Queue
	// WebhookTimeout overrides the 15 s delivery timeout (tests).
	WebhookTimeout time.Duration
	// Wallet configures the wallet passes; zero: none (the wallet
	// operations answer wallet_not_configured).
	Wallet WalletConfig

	// parts wire the optional services; FromEnv wires those its options
	// add, New all of them.
	parts     []part
	partNames map[string]bool
}

// part wires one optional service into the app. Only the binaries whose
// options add it link it and what it depends on.
type part func(a *App, cfg Config) error

// withPart adds a part once.
func (cfg *Config) withPart(p part, name string) {
	if cfg.partNames == nil {
		cfg.partNames = map[string]bool{}
	}
	if !cfg.partNames[name] {
		cfg.partNames[name] = true
		cfg.parts = append(cfg.parts, p)
	}
}

// WalletConfig is what the wallets need beyond the store.
type WalletConfig struct {
	Keys *wallet.Keys
	// Callbacks verifies Google's callbacks; nil refuses them.
	Callbacks *wallet.CallbackVerifier
	// Pusher overrides the APNs client; nil pushes through the notifier's
	// outbox locally and in tests, through APNs with the pass certificate
	// in the aws mode.
	Pusher wallet.Pusher
	// Google overrides the Wallet REST API client the same way.
	Google wallet.GoogleObjects
}

// App is the wired service.
type App struct {
	Store   *store.Store
	Service *loyalty.Service
	// Webhooks is the webhooks API, the feed sink (Webhooks.Consume) and the
	// delivery worker (Webhooks.ProcessLane).
	Webhooks *webhooks.Service
	// WebhookQueue is the in-process queue when no other was configured:
	// run it with WebhookQueue.Run(ctx, Webhooks, workers).
	WebhookQueue *webhooks.LocalQueue
	// Wallet builds passes and answers the wallets; its Sync is the
	// wallet-sync consumer of the event feed.
	Wallet *wallet.Service
	// Campaigns sends campaigns and keeps marketing consent.
	Campaigns *campaigns.Service
	Logger    *slog.Logger
	// What the optional parts add to the API: nil where they are not wired.
	webhooksAPI   api.Webhooks
	wallets       api.Wallets
	walletService http.Handler // Apple's PassKit web service, Google's callback
	sender        loyalty.Sender
	phones        api.PhoneNormalizer
	secret        []byte // keys the pages' sealed state (derived keys only)
	smsInbound    []byte
	now           func() time.Time
}

// New builds the whole app from cfg, every optional part included: the
// local server, the tests, the bench. A Lambda builds with FromEnv, which
// wires only the parts its options add.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg.withPart((*App).wireWebhooks, "webhooks")
	cfg.withPart((*App).wireWallet, "wallet")
	return build(ctx, cfg)
}

// build wires the store and the domain, then the parts cfg names.
func build(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Table == "" {
		return nil, errors.New("no table name: set " + layout.EnvTable)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	db := cfg.DynamoDB
	if db == nil {
		c, err := awsenv.Load()
		if err != nil {
			return nil, fmt.Errorf("AWS configuration: %w", err)
		}
		db = dynamodb.NewFromConfig(c, func(o *dynamodb.Options) { o.BaseEndpoint = awsenv.Endpoint(c, "DYNAMODB") })
	}
	st := store.New(db, cfg.Table)

	sender := cfg.Sender
	if sender == nil {
		switch cfg.Notifier {
		case NotifierOutbox:
			if cfg.OutboxPath == "" {
				return nil, errors.New("outbox notifier needs an outbox path")
			}
			sender = &notify.Outbox{Path: cfg.OutboxPath}
		case NotifierTable:
			sender = store.TableOutbox{Store: st}
		case NotifierAWS, "":
			// The functions that send inject SNS + SES through cfg.Sender.
			sender = noSender{}
		default:
			return nil, fmt.Errorf("unknown notifier %q (want aws, table or outbox)", cfg.Notifier)
		}
	}
	svc := loyalty.NewService(st, cfg.Now)
	svc.Sender, svc.ClassifyPhone = sender, classifyPhone
	if len(cfg.OTPSecret) > 0 {
		codes, err := otp.New(cfg.OTPSecret)
		if err != nil {
			return nil, err
		}
		svc.Codes = codes
	}
	phones := cfg.Phones
	if phones == nil {
		phones = phone.NormalizeForLookup
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	a := &App{Store: st, Service: svc, Logger: logger, sender: sender, phones: phones, secret: cfg.OTPSecret, now: now}
	a.Campaigns = &campaigns.Service{Store: st, Sender: sender, Kicker: cfg.CampaignKicker, Now: cfg.Now, Logger: logger, BaseURL: cfg.BaseURL}
	if len(cfg.OTPSecret) > 0 {
		tokens, err := campaigns.NewTokens(cfg.OTPSecret)
		if err != nil {
			return nil, err
		}
		a.Campaigns.Tokens = tokens
	}
	a.smsInbound = cfg.SMSInboundSecret
	for _, wire := range cfg.parts {
		if err := wire(a, cfg); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// wireWallet builds the wallet passes' service over the same store.
func (a *App) wireWallet(cfg Config) error {
	// Pushes and Google object updates go out in the aws mode, to the
	// notifier's outbox otherwise.
	pusher, google := cfg.Wallet.Pusher, cfg.Wallet.Google
	if cfg.Notifier == NotifierAWS || cfg.Notifier == "" {
		if pusher == nil && cfg.Wallet.Keys.Apple() {
			pusher = wallet.NewAPNs(cfg.Wallet.Keys)
		}
		if google == nil && cfg.Wallet.Keys.Google() {
			google = wallet.NewGoogleAPI(cfg.Wallet.Keys)
		}
	} else {
		if pusher == nil {
			pusher = wallet.OutboxPusher{Out: a.sender, Now: cfg.Now}
		}
		if google == nil {
			google = wallet.OutboxGoogle{Out: a.sender, Now: cfg.Now}
		}
	}
	a.Wallet = &wallet.Service{Keys: cfg.Wallet.Keys, Store: a.Store, Members: a.Store, Pusher: pusher, Google: google,
		Callbacks: cfg.Wallet.Callbacks, Logger: a.Logger, Now: cfg.Now}
	if (cfg.Notifier == NotifierAWS || cfg.Notifier == "") && cfg.Wallet.Pusher == nil {
		// A tenant's own certificate pushes to APNs as itself.
		a.Wallet.TenantPusher = func(k *wallet.Keys) wallet.Pusher { return wallet.NewAPNs(k) }
	}
	a.wallets, a.walletService = a.Wallet, a.Wallet.Handler()
	return nil
}

// wireWebhooks builds the webhooks service over the same store.
func (a *App) wireWebhooks(cfg Config) error {
	var sealer *webhooks.Sealer
	if len(cfg.WebhookKey) > 0 {
		var err error
		if sealer, err = webhooks.NewSealer(cfg.WebhookKey); err != nil {
			return err
		}
	}
	queue := cfg.WebhookQueue
	if queue == nil {
		a.WebhookQueue = webhooks.NewLocalQueue()
		queue = a.WebhookQueue
	}
	guard := cfg.WebhookGuard
	if guard == nil {
		guard = &webhooks.Guard{}
	}
	a.Webhooks = webhooks.New(&webhooks.Service{Store: a.Store, Sealer: sealer, Guard: guard, Queue: queue,
		Sender: a.sender, Now: cfg.Now, Logger: a.Logger, Timeout: cfg.WebhookTimeout})
	a.webhooksAPI = a.Webhooks
	return nil
}

// WalletSink is the wallet-sync consumer of the event feed: the stream
// reader hands it every batch (feed.Sink).
func (a *App) WalletSink() feed.Sink { return &wallet.Sync{Service: a.Wallet} }

// ReferralSink rewards qualified referrals from the event feed (feed.Sink).
func (a *App) ReferralSink() feed.Sink {
	return &referral.Sink{Rewarder: a.Service.Referrals, Log: a.Logger}
}

// RecentOpsSink keeps each point of sale's list of recent operations (the
// till page's) from the event feed (feed.Sink).
func (a *App) RecentOpsSink() feed.Sink {
	return &recentops.Sink{Store: a.Store, Logger: a.Logger}
}

// Option adjusts the configuration read from the environment.
type Option func(ctx context.Context, cfg *Config) error

// FromEnv builds the app of a Lambda function from its environment.
func FromEnv(ctx context.Context, opts ...Option) (*App, error) {
	cfg := Config{
		Table:     os.Getenv(layout.EnvTable),
		Notifier:  os.Getenv(layout.EnvNotifier),
		EmailFrom: os.Getenv(layout.EnvEmailFrom),
		OTPSecret: []byte(os.Getenv(layout.EnvOTPSecret)),

		WebhookKey: []byte(os.Getenv(layout.EnvWebhookKey)),

		BaseURL:          os.Getenv(layout.EnvBaseURL),
		SMSInboundSecret: []byte(os.Getenv(layout.EnvSMSInboundSecret)),
	}
	if os.Getenv(layout.EnvWebhookLoopback) == "1" {
		cfg.WebhookGuard = &webhooks.Guard{Local: true}
	}
	for _, o := range opts {
		if err := o(ctx, &cfg); err != nil {
			return nil, err
		}
	}
	return build(ctx, cfg)
}

// WithOTPSecretFrom reads the OTP key with read (Secrets Manager, in
// shared/cloud/secrets) when the environment names a secret. The reader is
// passed in, not imported, so only the functions that need it link the
// Secrets Manager client, and the wiring package depends on no adapter.
func WithOTPSecretFrom(read func(ctx context.Context, arn string) ([]byte, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
		arn := os.Getenv(layout.EnvOTPSecretARN)
		if arn == "" {
			return nil
		}
		secret, err := read(ctx, arn)
		if err != nil {
			return err
		}
		cfg.OTPSecret = secret
		return nil
	}
}

// WithWebhookKeyFrom reads the key sealing webhook secrets with read
// (Secrets Manager) when the environment names a secret.
func WithWebhookKeyFrom(read func(ctx context.Context, arn string) ([]byte, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
		arn := os.Getenv(layout.EnvWebhookKeyARN)
		if arn == "" {
			return nil
		}
		key, err := read(ctx, arn)
		if err != nil {
			return err
		}
		cfg.WebhookKey = key
		return nil
	}
}

// WithWebhookQueueFrom wires the webhooks service (its API, the feed's
// sink, the delivery worker), sending delivery kicks through the queue
// newQueue makes (SQS, in shared/cloud/kicks) from the environment's URL.
// Only the functions passing it link the webhooks.
func WithWebhookQueueFrom(newQueue func(ctx context.Context, url string) (webhooks.Queue, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
		cfg.withPart((*App).wireWebhooks, "webhooks")
		url := os.Getenv(layout.EnvWebhookQueueURL)
		if url == "" {
			// Without it kicks would wait in a process nobody runs.
			return errors.New("no webhook queue: set " + layout.EnvWebhookQueueURL)
		}
		q, err := newQueue(ctx, url)
		if err != nil {
			return err
		}
		cfg.WebhookQueue = q
		return nil
	}
}

// WithCampaignQueueFrom kicks the campaign worker through the queue
// newQueue opens at the URL the environment names.
func WithCampaignQueueFrom(newQueue func(ctx context.Context, url string) (campaigns.Kicker, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
		url := os.Getenv(layout.EnvCampaignQueueURL)
		if url == "" {
			return errors.New("no campaign queue: set " + layout.EnvCampaignQueueURL)
		}
		q, err := newQueue(ctx, url)
		if err != nil {
			return err
		}
		cfg.CampaignKicker = q
		return nil
	}
}

// WithSenderFrom makes the SMS/email sender with newSender (SNS and SES, in
// shared/cloud) when the notifier mode is aws.
func WithSenderFrom(newSender func(ctx context.Context, emailFrom string) (loyalty.Sender, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
		if cfg.Notifier != NotifierAWS && cfg.Notifier != "" {
			return nil
		}
		s, err := newSender(ctx, cfg.EmailFrom)
		if err != nil {
			return err
		}
		cfg.Sender = s
		return nil
	}
}

// WithWalletFrom wires the wallet passes (the pass and save-link
// operations, the wallets' own calls, the feed's wallet sync), reading the
// keys with read (Secrets Manager, in shared/cloud/secrets) when the
// environment names a secret, and Google's callback settings from the
// environment. Only the functions passing it link the wallets.
func WithWalletFrom(read func(ctx context.Context, arn string) ([]byte, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
		cfg.withPart((*App).wireWallet, "wallet")
		var keys *wallet.Keys
		if arn := os.Getenv(layout.EnvWalletSecretARN); arn != "" {
			b, err := read(ctx, arn)
			if err != nil {
				return err
			}
			if keys, err = wallet.ParseSecret(b); err != nil {
				return err
			}
		}
		w, err := WalletFromEnv(keys)
		if err != nil {
			return err
		}
		cfg.Wallet = w
		return nil
	}
}

// WalletFromEnv completes the wallet configuration of keys (nil: none)
// from the environment: Google's root keys file, issuer and sender ids.
func WalletFromEnv(keys *wallet.Keys) (WalletConfig, error) {
	if keys != nil {
		if id := os.Getenv(layout.EnvGoogleIssuerID); id != "" {
			keys.GoogleIssuerID = id
		}
	}
	w := WalletConfig{Keys: keys}
	path := os.Getenv(layout.EnvGoogleRootKeys)
	if path == "" {
		return w, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return w, fmt.Errorf("%s: %w", layout.EnvGoogleRootKeys, err)
	}
	roots, err := wallet.ParseRootKeys(b)
	if err != nil {
		return w, err
	}
	issuer := os.Getenv(layout.EnvGoogleIssuerID)
	if issuer == "" && keys != nil {
		issuer = keys.GoogleIssuerID
	}
	w.Callbacks = &wallet.CallbackVerifier{Roots: roots, IssuerID: issuer, SenderID: os.Getenv(layout.EnvGoogleSenderID)}
	return w, nil
}

// WithPhones sets the phone parser: the functions that store numbers
// (enroll) and the local server pass libphone.Normalize.
func WithPhones(normalize api.PhoneNormalizer) Option {
	return func(_ context.Context, cfg *Config) error {
		cfg.Phones = normalize
		return nil
	}
}

// classifyPhone reads a number's region and type from the phone-number
// metadata, which only binaries importing libphone carry (they register it);
// elsewhere it fails, and no code goes by SMS.
func classifyPhone(e164 string) (loyalty.PhoneInfo, error) {
	i, err := phone.Classify(e164)
	return loyalty.PhoneInfo{Region: i.Region, Type: i.Type, Texts: i.Texts}, err
}

// noSender stands in where a function sends nothing.
type noSender struct{}

func (noSender) Send(context.Context, loyalty.Message) error {
	return errors.New("this function has no notifier configured")
}

// Handler serves the operations of the functions named (routes.Fn…; all
// when none), as their Lambdas do: the local server and the tests. It
// links every function's handlers; a Lambda's main goes through
// ServeHTTP with its own api.Function.
func (a *App) Handler(functions ...string) http.Handler {
	fns := api.Functions()
	if len(functions) > 0 {
		fns = nil
		for _, name := range functions {
			if f, ok := api.FunctionNamed(name); ok {
				fns = append(fns, f)
			}
		}
	}
	return a.HandlerOf(fns...)
}

// HandlerOf serves the operations of the given functions, and the
// wallets' own calls (PassKit, Google's callback) when the wallet function
// is among them. The web pages are wired apart (shared/app/pages), so that
// the functions of the API do not carry the templates and assets.
func (a *App) HandlerOf(functions ...api.Function) http.Handler {
	h := a.apiHandler(functions...)
	if a.walletService == nil || !slices.ContainsFunc(functions, func(f api.Function) bool { return f.Name == routes.FnWallet }) {
		return h
	}
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, r := range routes.Routes {
		if routes.IsWalletService(r) && !seen[r.Path] {
			seen[r.Path] = true
			mux.Handle(r.Path, a.walletService) // the wallet handler dispatches methods
		}
	}
	mux.Handle("/", h)
	return mux
}

// PublicRateLimit counts one public request from a source (the API's public
// routes and the pages share it) and refuses past the limit.
func (a *App) PublicRateLimit(ctx context.Context, scope string) error {
	return a.Store.Hit(ctx, "public", time.Now(), loyalty.RateLimit{Name: loyalty.LimitIP, Scope: scope, Max: api.PublicLimit, Window: api.PublicWindow})
}

// Secret is the OTP secret the pages derive their sealing keys from.
func (a *App) Secret() []byte { return a.secret }

// Phones is the app's phone parser.
func (a *App) Phones() api.PhoneNormalizer { return a.phones }

// Now is the app's clock.
func (a *App) Now() time.Time { return a.now() }

// Reports answers the owner's reports from the aggregates the feed keeps
// (the API's /v1/reports and the console's reports section).
func (a *App) Reports() *reports.Service { return &reports.Service{Store: a.Store, Now: a.now} }

func (a *App) apiHandler(functions ...api.Function) http.Handler {
	return api.New(api.Deps{
		Service:          a.Service,
		Capabilities:     api.Capabilities{Webhooks: a.webhooksAPI, Campaigns: a.Campaigns, Reports: a.Reports()},
		SMSInboundSecret: a.smsInbound,
		Wallets:          a.wallets,
		WalletStates:     wallet.States{Store: a.Store}, // GET /v1/members/{id} shows them in every function
		Ping:             a.Store.Ping,
		RateLimit:        a.PublicRateLimit,
		Logger:           a.Logger,
		Phones:           a.phones,
		Meter: func(ctx context.Context) (context.Context, func() (int, float64, float64)) {
			if m := store.MeterOf(ctx); m != nil {
				return ctx, m.Snapshot // the caller (a benchmark) meters already
			}
			m := &store.Meter{}
			return store.WithMeter(ctx, m), m.Snapshot
		},
	}, functions...)
}
