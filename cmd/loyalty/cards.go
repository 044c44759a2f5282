package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/loyalty/cashback/shared/csvio"
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

	var exportTenant string
	exp := &cobra.Command{
		Use:   "export",
		Short: "Write the card pool as CSV to stdout (number,memberId,boundAt)",
		Long:  "Write the card pool as CSV to stdout, in number order. The file imports as-is with cards import.\n\n" + csvio.CardsHelp,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := openLocal(cmd.Context(), quietLogger(cmd), false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer l.Close()
			if err := requireTenant(cmd.Context(), l, exportTenant); err != nil {
				return err
			}
			n, err := csvio.ExportCards(cmd.Context(), l.app.Service, owner(exportTenant), cmd.OutOrStdout())
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d cards\n", n)
			return err
		},
	}
	exp.Flags().StringVar(&exportTenant, "tenant", "", "tenant id (required)")
	_ = exp.MarkFlagRequired("tenant")
	cmd.AddCommand(imp, exp)
	return cmd
}
