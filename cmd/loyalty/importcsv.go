package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
)

// csvImport is what every `… import` command shares: open the file, check
// the tenant, show a progress bar on stderr, write the bad rows to --report
// (header only when none failed, so a script never reads a stale one), print
// a summary and exit non-zero when any row failed.
type csvImport struct {
	tenant, file, report string
	// run imports the file; progress takes the rows just processed.
	run func(ctx context.Context, l *local, tenant string, f io.Reader, progress func(int)) (csvio.Result, error)
	// summary is the line printed on stdout.
	summary func(csvio.Result) string
}

func (ci *csvImport) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&ci.tenant, "tenant", "", "tenant id (required)")
	cmd.Flags().StringVar(&ci.file, "file", "", "CSV file (required)")
	cmd.Flags().StringVar(&ci.report, "report", "", "write failed rows (line,reason) to this CSV; written on every run, header only when no row failed")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("file")
}

func (ci *csvImport) runE(cmd *cobra.Command, _ []string) error {
	f, err := os.Open(ci.file)
	if err != nil {
		return err
	}
	defer f.Close()
	lines, err := countLines(ci.file)
	if err != nil {
		return err
	}
	l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer l.Close()
	if err := requireTenant(cmd.Context(), l, ci.tenant); err != nil {
		return err
	}
	bar := progressbar.NewOptions(lines, progressbar.OptionSetWriter(cmd.ErrOrStderr()), progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond))
	rep, err := ci.run(cmd.Context(), l, ci.tenant, f, func(n int) { _ = bar.Add(n) })
	_ = bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil && rep.Rows == 0 {
		return err // the file was refused as a whole (header) or never read
	}
	if ci.report != "" {
		if werr := writeReport(ci.report, rep.Failed); werr != nil {
			return werr
		}
	}
	fmt.Fprintln(cmd.OutOrStdout(), ci.summary(rep))
	if err != nil {
		return err
	}
	if len(rep.Failed) > 0 {
		where := "run again with --report FILE to list them"
		if ci.report != "" {
			where = "see " + ci.report
		}
		return fmt.Errorf("%d of %d rows failed: %s", len(rep.Failed), rep.Rows, where)
	}
	return nil
}

// exportCmd is an "export" subcommand: it writes a tenant's rows as CSV to
// stdout with export and says on stderr how many (of noun) it wrote.
func exportCmd(short, long, noun string, export func(ctx context.Context, svc *loyalty.Service, c loyalty.Caller, w io.Writer) (int, error)) *cobra.Command {
	var tenant string
	exp := &cobra.Command{
		Use:   "export",
		Short: short,
		Long:  long,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			if err := requireTenant(cmd.Context(), l, tenant); err != nil {
				return err
			}
			n, err := export(cmd.Context(), l.app.Service, owner(tenant), cmd.OutOrStdout())
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d %s\n", n, noun)
			return err
		},
	}
	exp.Flags().StringVar(&tenant, "tenant", "", "tenant id (required)")
	_ = exp.MarkFlagRequired("tenant")
	return exp
}
