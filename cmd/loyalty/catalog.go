package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
)

// catalogCmd imports and exports a tenant's products, with the conventions
// of members import: a progress bar on stderr, bad rows reported by line
// (--report), a non-zero exit when any row failed.
func catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Import and export a tenant's product catalog as CSV"}
	ci := &csvImport{
		run: func(ctx context.Context, l *local, tenant string, f io.Reader, progress func(int)) (csvio.Result, error) {
			return csvio.Run(ctx, csvio.CatalogTable(l.app.Service, owner(tenant)), f, progress)
		},
		summary: func(r csvio.Result) string {
			return fmt.Sprintf("rows %d, imported %d, failed %d", r.Rows, r.Imported, len(r.Failed))
		},
	}
	imp := &cobra.Command{
		Use:   "import",
		Short: "Import products from CSV (sku,name,category,price: what catalog export writes); exits non-zero when a row fails",
		Long: `Import products from CSV. Good rows are written, bad rows are reported
(line,reason; --report writes them to a file) and the command exits non-zero
when any row failed. A sku already in the catalog is replaced, so running the
same file again changes nothing.

` + csvio.CatalogHelp,
		RunE: ci.runE,
	}
	ci.flags(imp)

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
