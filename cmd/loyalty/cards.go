package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
)

// cardsCmd imports and exports a tenant's pool of pre-printed card numbers,
// with the conventions of the other imports.
func cardsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cards", Short: "Import and export a tenant's pool of pre-printed card numbers as CSV"}
	ci := &csvImport{
		run: func(ctx context.Context, l *local, tenant string, f io.Reader, progress func(int)) (csvio.Result, error) {
			return csvio.Run(ctx, csvio.CardsTable(l.app.Service, owner(tenant)), f, progress)
		},
		summary: func(r csvio.Result) string {
			return fmt.Sprintf("rows %d, imported %d, already in the pool %d, failed %d", r.Rows, r.Imported, r.Existing, len(r.Failed))
		},
	}
	imp := &cobra.Command{
		Use:   "import",
		Short: "Import card numbers from CSV (number: what cards export writes); exits non-zero when a row fails",
		Long: `Import pre-printed card numbers into the tenant's pool. A program whose
cardNumbers.mode is "imported" accepts only pool numbers; each is bound to a
member when first handed out. Good rows are added, bad rows are reported
(line,reason; --report writes them to a file) and the command exits non-zero
when any row failed. Running the same file again adds nothing twice.

` + csvio.CardsHelp,
		RunE: ci.runE,
	}
	ci.flags(imp)

	exp := exportCmd("Write the card pool as CSV to stdout (number,memberId,boundAt)",
		"Write the card pool as CSV to stdout, in number order. The file imports as-is with cards import.\n\n"+csvio.CardsHelp,
		"cards", func(ctx context.Context, svc *loyalty.Service, c loyalty.Caller, w io.Writer) (int, error) {
			return csvio.ExportCards(ctx, svc, c, w)
		})
	cmd.AddCommand(imp, exp)
	return cmd
}
