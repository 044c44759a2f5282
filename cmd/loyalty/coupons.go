package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
)

// couponsCmd imports coupon codes the shop brings (printed vouchers, a
// partner's list), with the conventions of the other imports: a progress
// bar on stderr, bad rows by line (--report), non-zero exit when any failed.
func couponsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "coupons", Short: "Import coupon codes sharing one definition"}
	var tenant, file, report, usage, percent, freeSKU, group, validUntil string
	var limit, perMember, amount, points int64
	imp := &cobra.Command{
		Use:   "import",
		Short: "Import coupon codes from CSV (one code a row, first column; a header 'code' is skipped); exits non-zero when a row fails",
		Long: `Import coupon codes from CSV: one coupon per code, all with the definition
given by the flags (exactly one of --discount-percent, --discount-amount,
--points, --free-sku). Good rows are written; bad codes, codes listed twice
and codes of existing coupons are reported (line,reason; --report writes
them to a file) and the command exits non-zero when any row failed. Codes
are sent 1000 a request, each request one POST /v1/coupons/import.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tpl := loyalty.Coupon{Usage: usage, Limit: limit, PerMemberLimit: perMember, DiscountAmount: loyalty.Money(amount),
				Points: loyalty.Points(points), FreeSKU: freeSKU, Group: group}
			if percent != "" {
				bp, err := loyalty.ParsePercent(percent)
				if err != nil {
					return fmt.Errorf("--discount-percent: %w", err)
				}
				tpl.DiscountPercent = bp
			}
			if validUntil != "" {
				t, err := time.Parse(time.RFC3339, validUntil)
				if err != nil {
					return fmt.Errorf("--valid-until: %w", err)
				}
				tpl.ValidUntil = t.UTC()
			}
			codes, lines, err := readCodes(file)
			if err != nil {
				return err
			}
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			if err := requireTenant(cmd.Context(), l, tenant); err != nil {
				return err
			}
			bar := progressbar.NewOptions(len(codes), progressbar.OptionSetWriter(cmd.ErrOrStderr()), progressbar.OptionSetDescription("importing"),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond))
			var failed []csvio.RowError
			imported := 0
			for start := 0; start < len(codes); start += loyalty.MaxCouponImport {
				end := min(start+loyalty.MaxCouponImport, len(codes))
				rep, _, err := l.app.Service.ImportCoupons(cmd.Context(), owner(tenant), loyalty.Idem{}, codes[start:end], tpl)
				if err != nil {
					_ = bar.Finish()
					return err
				}
				imported += rep.Imported
				for _, f := range rep.Failed {
					failed = append(failed, csvio.RowError{Line: lines[start+f.Row-1], Reason: f.Code + ": " + f.Reason})
				}
				_ = bar.Add(end - start)
			}
			_ = bar.Finish()
			fmt.Fprintln(cmd.ErrOrStderr())
			if report != "" {
				if err := writeReport(report, failed); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rows %d, imported %d, failed %d\n", len(codes), imported, len(failed))
			if len(failed) > 0 {
				where := "run again with --report FILE to list them"
				if report != "" {
					where = "see " + report
				}
				return fmt.Errorf("%d of %d rows failed: %s", len(failed), len(codes), where)
			}
			return nil
		},
	}
	f := imp.Flags()
	f.StringVar(&tenant, "tenant", "", "tenant id (required)")
	f.StringVar(&file, "file", "", "CSV file of codes (required)")
	f.StringVar(&report, "report", "", "write failed rows (line,reason) to this CSV")
	f.StringVar(&usage, "usage", "single", "single or multi")
	f.Int64Var(&limit, "limit", 0, "uses in all of each multi-use coupon (0: no limit)")
	f.Int64Var(&perMember, "per-member-limit", 0, "uses per member (0: no limit)")
	f.StringVar(&percent, "discount-percent", "", "percent off (e.g. 10 or 7.5)")
	f.Int64Var(&amount, "discount-amount", 0, "money off, minor units")
	f.Int64Var(&points, "points", 0, "bonus points, hundredths")
	f.StringVar(&freeSKU, "free-sku", "", "one unit of this SKU free")
	f.StringVar(&group, "group", "", "combination group")
	f.StringVar(&validUntil, "valid-until", "", "RFC 3339 time the coupons stop (exclusive)")
	_ = imp.MarkFlagRequired("tenant")
	_ = imp.MarkFlagRequired("file")
	cmd.AddCommand(imp)
	return cmd
}

// readCodes reads the first column of a CSV file, skipping a header "code"
// and empty rows; lines are the file's line of each code.
func readCodes(path string) ([]string, []int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	var codes []string
	var lines []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" || (len(codes) == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "code")) {
			continue
		}
		codes = append(codes, strings.TrimSpace(rec[0]))
		lines = append(lines, line)
	}
	if len(codes) == 0 {
		return nil, nil, fmt.Errorf("%s has no codes", path)
	}
	return codes, lines, nil
}
