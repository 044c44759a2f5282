package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
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

	exp := exportCmd("Write the whole catalog as CSV to stdout, in the columns catalog import reads",
		"Write the whole catalog as CSV to stdout, in SKU order. The file imports as-is with catalog import.\n\n"+csvio.CatalogHelp,
		"products", func(ctx context.Context, svc *loyalty.Service, c loyalty.Caller, w io.Writer) (int, error) {
			return csvio.ExportCatalog(ctx, svc, c, w)
		})
	cmd.AddCommand(imp, exp)
	return cmd
}
