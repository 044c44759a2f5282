package main

import (
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
)

// catalogCmd imports and exports a tenant's products, with the conventions
// of members import: a progress bar on stderr, bad rows reported by line
// (--report), a non-zero exit when any row failed.
func catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Import and export a tenant's product catalog as CSV"}
	var tenant, file, report string
	imp := &cobra.Command{
		Use:   "import",
		Short: "Import products from CSV (sku,name,category,price: what catalog export writes); exits non-zero when a row fails",
		Long: `Import products from CSV. Good rows are written, bad rows are reported
(line,reason; --report writes them to a file) and the command exits non-zero
when any row failed. A sku already in the catalog is replaced, so running the
same file again changes nothing.

` + csvio.CatalogHelp,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			lines, err := countLines(file)
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
			bar := progressbar.NewOptions(lines, progressbar.OptionSetWriter(cmd.ErrOrStderr()), progressbar.OptionSetDescription("importing"),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(100*time.Millisecond))
			rep, err := csvio.ImportCatalog(cmd.Context(), l.app.Service, owner(tenant), f, func(n int) { _ = bar.Add(n) })
			_ = bar.Finish()
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil && rep.Rows == 0 {
				return err // the file was refused as a whole (header) or never read
			}
			if report != "" {
				if werr := writeReport(report, rep.Failed); werr != nil {
					return werr
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rows %d, imported %d, failed %d\n", rep.Rows, rep.Imported, len(rep.Failed))
			if err != nil {
				return err
			}
			if len(rep.Failed) > 0 {
				where := "run again with --report FILE to list them"
				if report != "" {
					where = "see " + report
				}
				return fmt.Errorf("%d of %d rows failed: %s", len(rep.Failed), rep.Rows, where)
			}
			return nil
		},
	}
	imp.Flags().StringVar(&tenant, "tenant", "", "tenant id (required)")
	imp.Flags().StringVar(&file, "file", "", "CSV file (required)")
	imp.Flags().StringVar(&report, "report", "", "write failed rows (line,reason) to this CSV; written on every run, header only when no row failed")
	_ = imp.MarkFlagRequired("tenant")
	_ = imp.MarkFlagRequired("file")

	var exportTenant string
	exp := &cobra.Command{
		Use:   "export",
		Short: "Write the whole catalog as CSV to stdout, in the columns catalog import reads",
		Long:  "Write the whole catalog as CSV to stdout, in SKU order. The file imports as-is with catalog import.\n\n" + csvio.CatalogHelp,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			if err := requireTenant(cmd.Context(), l, exportTenant); err != nil {
				return err
			}
			n, err := csvio.ExportCatalog(cmd.Context(), l.app.Service, owner(exportTenant), cmd.OutOrStdout())
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d products\n", n)
			return err
		},
	}
	exp.Flags().StringVar(&exportTenant, "tenant", "", "tenant id (required)")
	_ = exp.MarkFlagRequired("tenant")
	cmd.AddCommand(imp, exp)
	return cmd
}
