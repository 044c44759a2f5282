package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

// owner acts as a tenant's owner from the CLI (an operator with store access).
func owner(tenantID string) loyalty.Caller {
	return loyalty.Caller{TenantID: tenantID, Role: loyalty.RoleOwner, KeyID: "cli"}
}

func membersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "members", Short: "Import and export a tenant's members as CSV"}
	var workers int
	ci := &csvImport{
		run: func(ctx context.Context, l *local, tenant string, f io.Reader, progress func(int)) (csvio.Result, error) {
			return csvio.Run(ctx, csvio.MemberTable(l.app.Service, owner(tenant), libphone.Normalize, workers), f, progress)
		},
		summary: func(r csvio.Result) string {
			return fmt.Sprintf("rows %d, imported %d, already members %d, failed %d", r.Rows, r.Imported, r.Existing, len(r.Failed))
		},
	}
	imp := &cobra.Command{
		Use:   "import",
		Short: "Import members from CSV (phone,card,name,email,status,points,pending,held: what members export writes); exits non-zero when a row fails",
		Long: `Import members from CSV. Good rows are imported, bad rows are reported
(line,reason; --report writes them to a file) and the command exits non-zero
when any row failed. Running the same file again imports nothing twice (a
phone joins once; such rows count as "already members", not as failures).

` + csvio.ColumnHelp,
		RunE: ci.runE,
	}
	ci.flags(imp)
	imp.Flags().IntVar(&workers, "workers", 8, "parallel writers")

	exp := exportCmd("Write every member with balances as CSV to stdout, in the columns members import reads",
		`Write every member with balances as CSV to stdout. The file imports as-is
with members import (into this or another tenant). Member ids, tiers and
creation times are not written: the importing tenant assigns its own.

`+csvio.ColumnHelp,
		"members", func(ctx context.Context, svc *loyalty.Service, c loyalty.Caller, w io.Writer) (int, error) {
			return csvio.Export(ctx, svc, c, w)
		})
	cmd.AddCommand(imp, exp)
	return cmd
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	n := -1 // header
	for {
		if _, err := r.Read(); err != nil {
			if n < 0 {
				n = 0
			}
			return n, nil
		}
		n++
	}
}

func writeReport(path string, failed []csvio.RowError) error {
	sort.Slice(failed, func(i, j int) bool { return failed[i].Line < failed[j].Line })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"line", "reason"})
	for _, r := range failed {
		_ = w.Write([]string{strconv.Itoa(r.Line), r.Reason})
	}
	w.Flush()
	return w.Error()
}

func usageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "usage", Short: "Metered usage"}
	var month string
	exp := &cobra.Command{
		Use:   "export",
		Short: "Write one month's metered operations of every tenant as CSV (tenantId,plan,month,kind,count) for billing",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if month == "" {
				month = time.Now().UTC().Format("2006-01")
			}
			// A month that cannot exist has no usage: an empty export would
			// pass for "nothing to bill".
			if _, err := time.Parse("2006-01", month); err != nil || len(month) != len("2006-01") {
				return fmt.Errorf("--month %q: want YYYY-MM with a month from 01 to 12", month)
			}
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			// Pay-as-you-go operations are counted from the table's stream:
			// read it up to now first (a running server's poller may be at it
			// too; each operation is counted once either way).
			if err := drainFeed(cmd.Context(), l); err != nil {
				return err
			}
			ids, err := l.app.Store.ListTenantIDs(cmd.Context())
			if err != nil {
				return err
			}
			w := csv.NewWriter(cmd.OutOrStdout())
			_ = w.Write([]string{"tenantId", "plan", "month", "kind", "count"})
			for _, id := range ids {
				u, err := l.app.Service.Usage(cmd.Context(), owner(id), month)
				if err != nil {
					return err
				}
				kinds := make([]string, 0, len(u.ByKind))
				for k := range u.ByKind {
					kinds = append(kinds, k)
				}
				sort.Strings(kinds)
				for _, k := range kinds {
					_ = w.Write([]string{id, u.Plan, month, k, strconv.FormatInt(u.ByKind[k], 10)})
				}
			}
			w.Flush()
			return w.Error()
		},
	}
	exp.Flags().StringVar(&month, "month", "", "YYYY-MM (default this month)")
	cmd.AddCommand(exp)
	return cmd
}
