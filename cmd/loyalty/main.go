// Command loyalty is the local toolbox: `serve` runs every function on one
// port with the sweep on a ticker (what `make run` starts), `tenant create`
// adds a tenant to the same store, `outbox last` shows the last message sent
// to someone, and `ledger verify` recomputes every hash chain and balance.
// Every tool says on stderr which store it uses (see openLocal).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/app/pages"
	"github.com/loyalty/cashback/shared/campaigns"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		os.Exit(1)
	}
}

// newRoot builds the command tree; tests run it in-process.
func newRoot() *cobra.Command {
	root := &cobra.Command{Use: "loyalty", Short: "Loyalty cashback service: local server and admin CLI", SilenceUsage: true}
	root.AddCommand(serveCmd(), tenantCmd(), outboxCmd(), ledgerCmd(), membersCmd(), catalogCmd(), couponsCmd(), cardsCmd(), usageCmd())
	return root
}

func quietLogger(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// demoPlan is the plan of the demo tenant serve creates. Pay-as-you-go by
// default: on the free plan a demo stops taking writes (402 plan_limit)
// after 5 000 operations in a month, which a load test reaches in seconds.
func demoPlan() (string, error) {
	switch p := env(envDemoPlan, loyalty.PlanPAYG); p {
	case loyalty.PlanPAYG, loyalty.PlanFree:
		return p, nil
	default:
		return "", fmt.Errorf("%s=%q: want payg or free", envDemoPlan, p)
	}
}

func serveCmd() *cobra.Command {
	var sweepEvery, feedEvery, campaignEvery time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every operation on one port (LOYALTY_PORT, default 8080) with the expiry sweep on a ticker and the event feed polling the table's stream",
		Long: `Serve every operation on one port (LOYALTY_PORT, default 8080) with the expiry
sweep on a ticker and the event feed reading the table's stream (which also
counts pay-as-you-go usage). Data lives in LOYALTY_DATA_DIR (default .local). On first
start it creates a demo tenant with an active 5 % cashback program and writes
its owner API key to credentials.json in the data dir. The demo tenant's plan is
LOYALTY_DEMO_PLAN: payg (default, no monthly limit) or free (5 000 operations a
month, then 402 plan_limit).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			plan, err := demoPlan()
			if err != nil {
				return err
			}
			l, err := openLocal(ctx, logger, true, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()

			port := env(envPort, "8080")
			ln, err := net.Listen("tcp", "127.0.0.1:"+port)
			if err != nil {
				return fmt.Errorf("listen on port %s: %w", port, err)
			}
			baseURL := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
			unregister, err := registerServer(serverRecord{PID: os.Getpid(), DataDir: absDataDir(), BaseURL: baseURL,
				Endpoint: l.endpoint, Table: l.table, StartedAt: time.Now().UTC()})
			if err != nil {
				_ = ln.Close()
				return err
			}
			defer unregister()
			creds, note, err := ensureDemoTenant(ctx, l.app.Service, baseURL, plan)
			if err != nil {
				_ = ln.Close()
				return err
			}
			handler, err := pages.Handler(l.app)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
			go sweepLoop(ctx, l.app.Service, l.app.Campaigns, logger, sweepEvery)
			// The webhook delivery worker: the code the deliver-webhooks
			// Lambda runs, fed by an in-process queue instead of SQS.
			go l.app.WebhookQueue.Run(ctx, l.app.Webhooks, 4)
			// The campaign worker: the code the send-campaigns Lambda
			// runs, polling the due index instead of waiting for SQS.
			if l.app.Campaigns.BaseURL == "" {
				l.app.Campaigns.BaseURL = baseURL
			}
			go campaignLoop(ctx, l.app.Campaigns, logger, campaignEvery)
			// The feed: DynamoDB Local's stream read through the Streams
			// API, as the dispatch Lambda's event source mapping reads the
			// table's stream in the cloud.
			poller, err := l.poller(ctx)
			if err != nil {
				_ = ln.Close()
				return err
			}
			poller.Interval = feedEvery
			go func() { _ = poller.Run(ctx) }()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(shutdown)
			}()
			// Where the key is, never the key: this output ends up in
			// terminals, CI logs and screenshots.
			fmt.Fprintf(out, "loyalty: serving on %s\n  demo tenant %s (slug %s, plan %s), program %s\n  owner API key in %s\n  messages go to %s\n  store: %s\n",
				baseURL, creds.TenantID, creds.TenantSlug, creds.Plan, creds.ProgramID, credentialsPath(), outboxPath(), l.store)
			fmt.Fprintf(out, "  pages: %s/j/%s (enrollment), %s/c/%s (card), %s/cashier (till)\n",
				baseURL, creds.TenantSlug, baseURL, creds.TenantSlug, baseURL)
			if note != "" {
				fmt.Fprintf(out, "  note: %s\n", note)
			}
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			fmt.Fprintln(out, "loyalty: stopped")
			return nil
		},
	}
	cmd.Flags().DurationVar(&sweepEvery, "sweep-every", 30*time.Second, "how often the expiry sweep runs")
	cmd.Flags().DurationVar(&campaignEvery, "campaigns-every", time.Second, "how often the campaign worker looks for due campaigns")
	cmd.Flags().DurationVar(&feedEvery, "feed-every", 100*time.Millisecond, "how often the feed polls the table's stream when it is idle")
	return cmd
}

// campaignLoop is the local stand-in for the send-campaigns function: it
// runs every due campaign (and, after a crash, resumes those whose worker
// died once their lease runs out).
func campaignLoop(ctx context.Context, svc *campaigns.Service, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := svc.Reconcile(ctx); err != nil && ctx.Err() == nil {
				logger.Error("campaigns failed", "error", err.Error())
			}
		}
	}
}

// sweepLoop is the local stand-in for the scheduled expire-sweep function.
func sweepLoop(ctx context.Context, svc *loyalty.Service, reminders *campaigns.Service, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := svc.Sweep(ctx, "")
			if err != nil {
				if ctx.Err() == nil {
					logger.Error("sweep failed", "error", err.Error())
				}
				continue
			}
			if res != (loyalty.SweepResult{}) {
				logger.Info("sweep", "expiredLots", res.ExpiredLots, "expiredPoints", int64(res.ExpiredPoints),
					"releasedHolds", res.ReleasedHolds, "maturedLots", res.MaturedLots)
			}
			// Expiry reminders read the same index, once a day.
			if rem, err := reminders.Remind(ctx); err != nil {
				if ctx.Err() == nil {
					logger.Error("expiry reminders failed", "error", err.Error())
				}
			} else if rem.Sent > 0 {
				logger.Info("expiry reminders", "days", rem.Days, "members", rem.Members, "sent", rem.Sent)
			}
		}
	}
}

// demoProgramName names the program serve creates for the demo tenant.
const demoProgramName = "Demo cashback"

// ensureDemoTenant reuses the demo tenant of credentials.json when its key
// still works, or creates one on the given plan with an active bonus program
// (5 % cashback, up to 50 % of an order in points). The note says when a
// reused tenant is on another plan than asked for.
func ensureDemoTenant(ctx context.Context, svc *loyalty.Service, baseURL, plan string) (*Credentials, string, error) {
	if c, err := readCredentials(); err == nil {
		if caller, err := svc.Authenticate(ctx, loyalty.HashAPIKey(c.APIKey)); err == nil && caller.TenantID == c.TenantID {
			c.BaseURL = baseURL
			note := ""
			if t, err := svc.Tenancy.Store.GetTenant(ctx, c.TenantID); err == nil {
				c.Plan = t.Plan
				if t.Plan != plan {
					note = fmt.Sprintf("the demo tenant was created on the %s plan; %s=%s applies to a new one: move %s away (or use another %s) and start again",
						t.Plan, envDemoPlan, plan, credentialsPath(), envDataDir)
				}
			}
			if c.ProgramID == "" { // written before credentials named the program
				if ps, err := svc.ListPrograms(ctx, caller); err == nil {
					for _, p := range ps {
						if p.Name == demoProgramName {
							c.ProgramID = p.ID
							break
						}
					}
				}
			}
			return c, note, writeCredentials(c)
		}
	}
	t, err := svc.CreateTenant(ctx, "Demo Café", plan)
	if err != nil {
		return nil, "", fmt.Errorf("create demo tenant: %w", err)
	}
	owner := loyalty.Caller{TenantID: t.TenantID, Role: loyalty.RoleOwner, KeyID: "setup"}
	p, _, err := svc.CreateProgram(ctx, owner, loyalty.Idem{}, loyalty.Program{
		Name: demoProgramName, Type: "bonus", CashbackPercent: 500, MaxRedeemPercent: 5000,
		PointsLifetime: "P180D", ReturnSpentOnRefund: true,
	})
	if err != nil {
		return nil, "", fmt.Errorf("create demo program: %w", err)
	}
	if _, _, err := svc.SetProgramStatus(ctx, owner, loyalty.Idem{}, p.ID, loyalty.ProgramActive); err != nil {
		return nil, "", fmt.Errorf("activate demo program: %w", err)
	}
	c := &Credentials{BaseURL: baseURL, TenantID: t.TenantID, TenantSlug: t.Slug, Plan: plan, ProgramID: p.ID, APIKey: t.APIKey}
	return c, "", writeCredentials(c)
}

func tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	var name, plan string
	var limPOS, limStaff, limMembers, limOps int64
	var country string
	var smsCountries []string
	var sending loyalty.SendLimits
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant and print its id, slug and owner API key (shown once)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			var custom *loyalty.PlanLimits
			if plan == loyalty.PlanCustom {
				custom = &loyalty.PlanLimits{PointsOfSale: limPOS, Staff: limStaff, Members: limMembers, MonthlyOps: limOps, Sending: sending}
			}
			t, err := l.app.Service.CreateTenantWithSettings(cmd.Context(), name, plan,
				loyalty.TenantSettings{Limits: custom, Country: country, SMSCountries: smsCountries})
			if err != nil {
				return err
			}
			return writeJSON(cmd.OutOrStdout(), t)
		},
	}
	create.Flags().StringVar(&name, "name", "", "tenant name (required)")
	create.Flags().StringVar(&plan, "plan", loyalty.PlanFree, "plan: free (5 000 operations a month, 1 000 members, 3 points of sale, 6 staff), payg (no limits) or custom (the limits below)")
	create.Flags().Int64Var(&limPOS, "points-of-sale", 0, "custom plan: points of sale (0: unlimited)")
	create.Flags().Int64Var(&limStaff, "staff", 0, "custom plan: staff keys (0: unlimited)")
	create.Flags().Int64Var(&limMembers, "members", 0, "custom plan: members (0: unlimited)")
	create.Flags().Int64Var(&limOps, "monthly-operations", 0, "custom plan: metered operations a month (0: unlimited)")
	def := loyalty.PAYGSending
	create.Flags().Int64Var(&sending.KeyPerMinute, "sms-key-per-minute", def.KeyPerMinute, "custom plan: codes one API key may send per minute")
	create.Flags().Int64Var(&sending.KeyPerDay, "sms-key-per-day", def.KeyPerDay, "custom plan: codes one API key may send per 24 hours")
	create.Flags().Int64Var(&sending.TenantPerMinute, "sms-tenant-per-minute", def.TenantPerMinute, "custom plan: codes all API keys may send per minute")
	create.Flags().Int64Var(&sending.TenantPerDay, "sms-tenant-per-day", def.TenantPerDay, "custom plan: codes all API keys may send per 24 hours")
	create.Flags().Int64Var(&sending.PublicPerMinute, "sms-public-per-minute", def.PublicPerMinute, "custom plan: codes the public enrollment page may send per minute")
	create.Flags().Int64Var(&sending.PublicPerDay, "sms-public-per-day", def.PublicPerDay, "custom plan: codes the public enrollment page may send per 24 hours")
	create.Flags().StringVar(&country, "country", loyalty.DefaultCountry, "the business's country (ISO 3166-1 alpha-2)")
	create.Flags().StringSliceVar(&smsCountries, "sms-countries", nil, "regions codes may be sent to by SMS, e.g. RU,KZ (default: the country)")
	_ = create.MarkFlagRequired("name")
	cmd.AddCommand(create)
	return cmd
}

func outboxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "Messages kept instead of sent: the outbox file of the data dir and the table (notifier table)"}
	var to string
	last := &cobra.Command{
		Use:   "last",
		Short: "Print the newest message kept for a phone or email, from outbox.jsonl in the data dir (what make run writes) or the table",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			if e164, err := libphone.Normalize(to); err == nil {
				to = e164
			}
			msgs, err := readOutboxFile(outboxPath(), to)
			if err != nil {
				return err
			}
			m, err := store.TableOutbox{Store: l.app.Store}.Last(cmd.Context(), to)
			switch {
			case err == nil:
				msgs = append(msgs, *m)
			// TableOutbox.Last has no sentinel for "none": this is its message.
			case err.Error() == fmt.Sprintf("no message for %s", to):
			default:
				return err
			}
			if len(msgs) == 0 {
				return fmt.Errorf("no message for %s in %s or in table %s", to, outboxPath(), l.table)
			}
			// Newest last: the file and the table each keep their own order.
			sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].SentAt.Before(msgs[j].SentAt) })
			return writeJSON(cmd.OutOrStdout(), msgs[len(msgs)-1])
		},
	}
	last.Flags().StringVar(&to, "to", "", "phone or email (required)")
	_ = last.MarkFlagRequired("to")
	cmd.AddCommand(last)
	return cmd
}

// readOutboxFile reads the messages to `to` from a local outbox file (one
// JSON line each, see package notify); a missing file has none.
func readOutboxFile(path, to string) ([]loyalty.Message, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []loyalty.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var m loyalty.Message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue // a line cut short by a crash
		}
		if m.To == to || (strings.Contains(to, "@") && strings.EqualFold(m.To, to)) {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

func ledgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Ledger tools"}
	var tenant, member string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute hash chains and balances from the ledger: one member, a tenant's members, or every tenant's",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if member != "" && tenant == "" {
				return errors.New("--member needs --tenant")
			}
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			ctx, st, out := cmd.Context(), l.app.Store, cmd.OutOrStdout()
			// An unknown tenant has no members, so it would "verify" fine.
			if tenant != "" {
				if err := requireTenant(ctx, l, tenant); err != nil {
					return err
				}
			}
			if member != "" {
				if err := st.VerifyMember(ctx, tenant, member); err != nil {
					return err
				}
				fmt.Fprintln(out, "ok")
				return nil
			}
			tenants := []string{tenant}
			if tenant == "" {
				if tenants, err = st.ListTenantIDs(ctx); err != nil {
					return err
				}
			}
			checked, bad := 0, 0
			for _, t := range tenants {
				after := ""
				for {
					page, err := st.ListMembers(ctx, t, after, 200)
					if err != nil {
						return err
					}
					for _, m := range page {
						checked++
						if err := st.VerifyMember(ctx, t, m.MemberID); err != nil {
							bad++
							fmt.Fprintf(out, "tenant %s: %v\n", t, err)
						}
					}
					if len(page) < 200 {
						break
					}
					after = page[len(page)-1].MemberID
				}
			}
			fmt.Fprintf(out, "verified %d members, %d mismatches\n", checked, bad)
			if bad > 0 {
				return fmt.Errorf("%d members fail verification", bad)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&tenant, "tenant", "", "tenant id (default: every tenant)")
	verify.Flags().StringVar(&member, "member", "", "member id (default: every member of the tenant)")
	cmd.AddCommand(verify)
	return cmd
}

// requireTenant fails for a tenant id the store does not know, so a typo
// is an error rather than an empty result.
func requireTenant(ctx context.Context, l *local, tenantID string) error {
	if _, err := l.app.Store.GetTenant(ctx, tenantID); err != nil {
		if errors.Is(err, loyalty.ErrTenantNotFound) {
			return fmt.Errorf("tenant %s not found (store: %s)", tenantID, l.store)
		}
		return err
	}
	return nil
}
