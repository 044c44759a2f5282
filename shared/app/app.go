// Package app wires the service from its environment: DynamoDB client, store,
// notifier, OTP secret and logger, built once per process (Lambda init or the
// local server) and shared by every request.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/cloud/awsenv"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/notify"
	"github.com/loyalty/cashback/shared/otp"
	"github.com/loyalty/cashback/shared/phone"
	"github.com/loyalty/cashback/shared/store"
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
	Logger       *slog.Logger
	phones       api.PhoneNormalizer
}

// New builds the app from cfg.
func New(ctx context.Context, cfg Config) (*App, error) {
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
	a := &App{Store: st, Service: svc, Logger: logger, phones: phones}
	if err := a.wireWebhooks(cfg, sender); err != nil {
		return nil, err
	}
	return a, nil
}

// wireWebhooks builds the webhooks service over the same store.
func (a *App) wireWebhooks(cfg Config, sender loyalty.Sender) error {
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
		Sender: sender, Now: cfg.Now, Logger: a.Logger, Timeout: cfg.WebhookTimeout})
	return nil
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
	}
	if os.Getenv(layout.EnvWebhookLoopback) == "1" {
		cfg.WebhookGuard = &webhooks.Guard{Local: true}
	}
	for _, o := range opts {
		if err := o(ctx, &cfg); err != nil {
			return nil, err
		}
	}
	return New(ctx, cfg)
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

// WithWebhookQueueFrom sends delivery kicks through the queue newQueue
// makes (SQS, in shared/cloud/kicks) when the environment names one.
func WithWebhookQueueFrom(newQueue func(ctx context.Context, url string) (webhooks.Queue, error)) Option {
	return func(ctx context.Context, cfg *Config) error {
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

// Handler serves the operations of the given functions (all when none).
func (a *App) Handler(functions ...string) http.Handler {
	return api.New(api.Deps{
		Service:      a.Service,
		Capabilities: api.Capabilities{Webhooks: a.Webhooks},
		Ping:         a.Store.Ping,
		RateLimit: func(ctx context.Context, scope string) error {
			return a.Store.Hit(ctx, "public", time.Now(), loyalty.RateLimit{Name: loyalty.LimitIP, Scope: scope, Max: api.PublicLimit, Window: api.PublicWindow})
		},
		Logger: a.Logger,
		Phones: a.phones,
		Meter: func(ctx context.Context) (context.Context, func() (int, float64, float64)) {
			if m := store.MeterOf(ctx); m != nil {
				return ctx, m.Snapshot // the caller (a benchmark) meters already
			}
			m := &store.Meter{}
			return store.WithMeter(ctx, m), m.Snapshot
		},
	}, functions...)
}
