// Command chaos is the bank test (in the spirit of Jepsen's): concurrent
// clients run random redeem / close / cancel / refund / adjustment
// operations over a few members through the real HTTP handlers, while a
// fault-injecting transport under the AWS SDK throttles, delays, drops
// responses of applied writes and duplicates deliveries, clients retry with
// the same Idempotency-Key and sometimes send duplicates, and two sweeps run
// at once. Afterwards every invariant is checked; it prints
// `bank test: N ops, F faults, drift D, double spends S` and exits non-zero
// on any violation. The table's stream consumer runs all along (under the
// same faults), and the reports it builds must agree with the balances.
// Seedable and replayable from the printed seed.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/app"
	"github.com/loyalty/cashback/shared/ddblocal"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store"
)

// Config of one run.
type Config struct {
	Seed     uint64
	Ops      int
	Members  int
	Workers  int
	Duration time.Duration
	// Fault probabilities per DynamoDB request.
	Throttle, Drop, Dup, Delay float64
	// PointsLifetime is the program's (ISO 8601); "" is PT20S. Points must
	// expire within the run for the sweep's races to be exercised.
	PointsLifetime string
}

func main() {
	var cfg Config
	flag.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed (printed; pass it to replay a run)")
	flag.IntVar(&cfg.Ops, "ops", 20000, "operations to run")
	flag.IntVar(&cfg.Members, "members", 12, "members the clients share")
	flag.IntVar(&cfg.Workers, "workers", 16, "concurrent clients")
	flag.DurationVar(&cfg.Duration, "max", 9*time.Minute, "stop after this long even if ops are left")
	flag.Float64Var(&cfg.Throttle, "throttle", 0.03, "probability a DynamoDB call is throttled")
	flag.Float64Var(&cfg.Drop, "drop", 0.02, "probability a response is lost after the request was applied")
	flag.Float64Var(&cfg.Dup, "dup", 0.02, "probability a request is delivered twice")
	flag.Float64Var(&cfg.Delay, "delay", 0.05, "probability a call is delayed 1-20 ms")
	flag.Parse()

	fmt.Printf("bank test: seed %d (replay with -seed %d)\n", cfg.Seed, cfg.Seed)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bank test failed to run:", err)
		os.Exit(2)
	}
	fmt.Printf("bank test: %d ops, %d faults, drift %d, double spends %d\n", res.Ops, res.Faults, res.Drift, res.DoubleSpends)
	fmt.Printf("bank test: %s\n", res.Gift)
	for _, v := range res.Violations {
		fmt.Println("  violation:", v)
	}
	if len(res.Violations) > 0 {
		os.Exit(1)
	}
}

// Env is a running service under fault injection.
type Env struct {
	Server  *httptest.Server
	App     *app.App
	Faults  *faultTransport
	emu     *ddblocal.Server
	Tenant  string
	APIKey  string
	Members []string
	// GiftCards sold before the run (more are sold during it).
	GiftCards []string
}

// Close stops everything the run started.
func (e *Env) Close() {
	if e.Server != nil {
		e.Server.Close()
	}
	e.emu.Stop()
}

// Setup starts DynamoDB Local, the service with a faulty SDK transport, a
// tenant with a program whose points expire and holds time out during the
// run, and the members.
func Setup(ctx context.Context, cfg Config) (*Env, error) {
	emu, err := ddblocal.Start(ctx, ddblocal.Options{})
	if err != nil {
		return nil, err
	}
	e := &Env{emu: emu}
	ft := &faultTransport{base: http.DefaultTransport.(*http.Transport).Clone(), rng: rand.New(rand.NewPCG(cfg.Seed, 1)),
		pThrottle: cfg.Throttle, pDrop: cfg.Drop, pDup: cfg.Dup, pDelay: cfg.Delay}
	e.Faults = ft
	db := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(emu.Endpoint),
		Credentials:                     credentials.NewStaticCredentialsProvider("local", "local", ""),
		DisableValidateResponseChecksum: true,
		HTTPClient:                      &http.Client{Transport: ft, Timeout: 30 * time.Second},
		// Retries are part of what is under test: many, without the client
		// side retry quota that would turn injected faults into errors.
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 12
			o.RateLimiter = ratelimit.None
			o.MaxBackoff = 50 * time.Millisecond
		}),
	})
	a, err := app.New(ctx, app.Config{
		Table: "bank", DynamoDB: db, Sender: &apitest.Sender{}, OTPSecret: []byte("chaos-secret-chaos-secret-0123456789"),
		Phones: libphone.Normalize, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	e.App = a
	if err := a.Store.CreateTable(ctx); err != nil {
		e.Close()
		return nil, err
	}
	t, err := a.Service.CreateTenant(ctx, "Bank", loyalty.PlanPAYG)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Tenant, e.APIKey = t.TenantID, t.APIKey
	owner := loyalty.Caller{TenantID: t.TenantID, Role: loyalty.RoleOwner, KeyID: "chaos"}
	p, _, err := a.Service.CreateProgram(ctx, owner, loyalty.Idem{}, loyalty.Program{
		Name: "Bank", Type: "bonus", CashbackPercent: 1000, MaxRedeemPercent: 10000,
		PointsLifetime: cmp.Or(cfg.PointsLifetime, "PT20S"), HoldTimeout: "PT5S", ReturnSpentOnRefund: true,
		WelcomeBonus: &loyalty.WelcomeBonus{Points: 50000},
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	if _, _, err := a.Service.SetProgramStatus(ctx, owner, loyalty.Idem{}, p.ID, loyalty.ProgramActive); err != nil {
		e.Close()
		return nil, err
	}
	// Single-use coupons the clients race for, and a stamp card (2+1 on
	// coffee, the gift in the same order or a later one).
	for i := 0; i < Coupons; i++ {
		if _, _, err := a.Service.CreateCoupon(ctx, owner, loyalty.Idem{}, loyalty.Coupon{Code: CouponCode(i), Usage: loyalty.CouponSingle, Points: 500}); err != nil {
			e.Close()
			return nil, err
		}
	}
	if _, err := a.Service.CreatePromotion(ctx, owner, loyalty.Promotion{Name: "coffee", N: 2, M: 1, SKUs: []string{StampSKU}, Scope: loyalty.ScopeBoth}); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.sellGiftCards(ctx, owner); err != nil {
		e.Close()
		return nil, err
	}
	for i := 0; i < cfg.Members; i++ {
		id, err := a.Service.ImportMember(ctx, owner, loyalty.ImportRow{Phone: fmt.Sprintf("+7912%07d", 100+i), Points: 100000})
		if err != nil {
			e.Close()
			return nil, err
		}
		e.Members = append(e.Members, id)
	}
	e.Server = httptest.NewServer(a.Handler())
	return e, nil
}

// Coupons single-use coupons are raced for; StampSKU is the stamp card's article.
const (
	Coupons  = 20
	StampSKU = "COFFEE"
)

// CouponCode names the i-th single-use coupon.
func CouponCode(i int) string { return fmt.Sprintf("ONCE-%02d", i) }

// codeSink swallows one-time codes (the bank test imports its members).
type codeSink struct{}

func (codeSink) Send(context.Context, loyalty.Message) error { return nil }

// Result of a run.
type Result struct {
	Ops          int
	Faults       int64
	Drift        int
	DoubleSpends int
	Violations   []string
	// Gift sums up the gift cards of the run.
	Gift GiftFigures
}

// Run sets up, runs the clients and sweeps, checks and tears down.
func Run(ctx context.Context, cfg Config) (Result, error) {
	e, err := Setup(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer e.Close()
	stopFeed, err := e.feed(ctx)
	if err != nil {
		return Result{}, err
	}
	acks, ops := drive(ctx, e, cfg)
	if err := stopFeed(); err != nil {
		return Result{}, err
	}
	res := Check(ctx, e.App.Store, e.Tenant, e.Members, acks)
	res.Violations = append(res.Violations, CheckReports(ctx, e.App.Store, e.Tenant, e.Members)...)
	CheckGiftCards(ctx, e.App.Store, e.Tenant, e.GiftCards, acks, &res)
	res.Ops, res.Faults = ops, e.Faults.Faults()
	return res, nil
}

var _ = store.New
