// Command loyalty is the local toolbox: `serve` runs every function on one
// port with the sweep on a ticker (what `make run` starts), `tenant create`
// adds a tenant to the same store, `outbox last` shows the last message sent
// to someone, and `ledger verify` recomputes every hash chain and balance.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store"
)

func main() {
	root := &cobra.Command{Use: "loyalty", Short: "Loyalty cashback service: local server and admin CLI", SilenceUsage: true}
	root.AddCommand(serveCmd(), tenantCmd(), outboxCmd(), ledgerCmd(), membersCmd(), usageCmd())
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func serveCmd() *cobra.Command {
	var sweepEvery time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every operation on one port (LOYALTY_PORT, default 8080) with the expiry sweep on a ticker",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
			l, err := openLocal(ctx, logger, true)
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
			creds, err := ensureDemoTenant(ctx, l.app.Service, baseURL)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: l.app.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go sweepLoop(ctx, l.app.Service, logger, sweepEvery)
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(shutdown)
			}()
			// The demo key is printed on purpose: it is a local demo tenant's.
			fmt.Fprintf(os.Stdout, "loyalty: serving on %s\n  demo tenant %s (slug %s)\n  API key %s (also in %s)\n  messages go to %s\n",
				baseURL, creds.TenantID, creds.TenantSlug, creds.APIKey, credentialsPath(), filepath.Join(dataDir(), "outbox.jsonl"))
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			fmt.Fprintln(os.Stdout, "loyalty: stopped")
			return nil
		},
	}
	cmd.Flags().DurationVar(&sweepEvery, "sweep-every", 30*time.Second, "how often the expiry sweep runs")
	return cmd
}

// sweepLoop is the local stand-in for the scheduled expire-sweep function.
func sweepLoop(ctx context.Context, svc *loyalty.Service, logger *slog.Logger, every time.Duration) {
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
		}
	}
}

// ensureDemoTenant reuses the demo tenant of credentials.json when its key
// still works, or creates one with an active bonus program (5 % cashback, up
// to 50 % of an order in points).
func ensureDemoTenant(ctx context.Context, svc *loyalty.Service, baseURL string) (*Credentials, error) {
	if c, err := readCredentials(); err == nil {
		if caller, err := svc.Authenticate(ctx, loyalty.HashAPIKey(c.APIKey)); err == nil && caller.TenantID == c.TenantID {
			c.BaseURL = baseURL
			return c, writeCredentials(c)
		}
	}
	t, err := svc.CreateTenant(ctx, "Demo Café", loyalty.PlanFree)
	if err != nil {
		return nil, fmt.Errorf("create demo tenant: %w", err)
	}
	owner := loyalty.Caller{TenantID: t.TenantID, Role: loyalty.RoleOwner, KeyID: "setup"}
	p, _, err := svc.CreateProgram(ctx, owner, loyalty.Idem{}, loyalty.Program{
		Name: "Demo cashback", Type: "bonus", CashbackPercent: 500, MaxRedeemPercent: 5000,
		PointsLifetime: "P180D", ReturnSpentOnRefund: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create demo program: %w", err)
	}
	if _, _, err := svc.SetProgramStatus(ctx, owner, loyalty.Idem{}, p.ID, loyalty.ProgramActive); err != nil {
		return nil, fmt.Errorf("activate demo program: %w", err)
	}
	c := &Credentials{BaseURL: baseURL, TenantID: t.TenantID, TenantSlug: t.Slug, APIKey: t.APIKey}
	return c, writeCredentials(c)
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
			l, err := openLocal(cmd.Context(), quietLogger(), false)
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
			return writeJSON(os.Stdout, t)
		},
	}
	create.Flags().StringVar(&name, "name", "", "tenant name (required)")
	create.Flags().StringVar(&plan, "plan", loyalty.PlanFree, "plan: free, payg or custom")
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
	cmd := &cobra.Command{Use: "outbox", Short: "Messages kept instead of sent (notifier mode table)"}
	var to string
	last := &cobra.Command{
		Use:   "last",
		Short: "Print the last message kept for a phone or email",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(), false)
			if err != nil {
				return err
			}
			defer l.Close()
			if e164, err := libphone.Normalize(to); err == nil {
				to = e164
			}
			m, err := store.TableOutbox{Store: l.app.Store}.Last(cmd.Context(), to)
			if err != nil {
				return err
			}
			return writeJSON(os.Stdout, m)
		},
	}
	last.Flags().StringVar(&to, "to", "", "phone or email (required)")
	_ = last.MarkFlagRequired("to")
	cmd.AddCommand(last)
	return cmd
}

func ledgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Ledger tools"}
	var tenant, member string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute hash chains and balances from the ledger: one member, a tenant's members, or every tenant's",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(), false)
			if err != nil {
				return err
			}
			defer l.Close()
			ctx, st := cmd.Context(), l.app.Store
			if member != "" {
				if err := st.VerifyMember(ctx, tenant, member); err != nil {
					return err
				}
				fmt.Println("ok")
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
							fmt.Printf("tenant %s: %v\n", t, err)
						}
					}
					if len(page) < 200 {
						break
					}
					after = page[len(page)-1].MemberID
				}
			}
			fmt.Printf("verified %d members, %d mismatches\n", checked, bad)
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
