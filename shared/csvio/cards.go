package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// CardColumns of the card-pool CSV: ExportCards writes these; ImportCards
// reads number and accepts (and ignores) the others, so an export imports
// as-is.
var CardColumns = []string{"number", "memberid", "boundat"}

// cardHeader is the header ExportCards writes (the column names as the API
// spells them; the importer reads names case-insensitively).
var cardHeader = []string{"number", "memberId", "boundAt"}

// CardsHelp explains the card-pool CSV, for help texts and the docs.
const CardsHelp = `Columns (a header row names them; number is required).
cards export writes all three, so its file imports as-is:
  number    the pre-printed card's number, 4-19 digits; a 16-digit number
            starting with 77 (the shape of generated numbers) must carry its
            Luhn check digit
  memberId  export only: the member the card is bound to (ignored on import)
  boundAt   export only: when it was bound (ignored on import)
A number already in the pool is counted as existing and left as it is (a
bound card stays bound); a number repeated in the file is reported on its
later lines. A card is bound to a member when first handed out (enrollment
or card replacement with the number), at most once.`

// CardImporter adds numbers to the tenant's card pool (loyalty.Cards).
type CardImporter interface {
	ImportPoolCards(ctx context.Context, c loyalty.Caller, numbers []string) ([]error, error)
}

// CardsTable is the card-pool CSV for Run: batches of 25 numbers, each a
// conditioned write, by 8 workers.
func CardsTable(imp CardImporter, c loyalty.Caller) Table[string] {
	firstLine := map[string]int{}
	return Table[string]{
		Columns: CardColumns, Required: []string{"number"}, Batch: 25, Workers: 8,
		Parse: func(rec Record, line int) (string, string) {
			n := rec.Get("number")
			if rec.Extra() {
				return n, fmt.Sprintf("%d fields, the header has %d", len(rec.Fields), rec.HeaderLen())
			}
			if err := loyalty.ValidatePoolNumber(n); err != nil {
				var le *loyalty.Error
				if errors.As(err, &le) {
					return n, le.Field + ": " + le.Message
				}
				return n, err.Error()
			}
			if first, dup := firstLine[n]; dup {
				return n, fmt.Sprintf("number %s already on line %d", n, first)
			}
			firstLine[n] = line
			return n, ""
		},
		Write: func(ctx context.Context, ns []string) ([]error, error) { return imp.ImportPoolCards(ctx, c, ns) },
	}
}

// CardsReport sums up a card-pool import.
type CardsReport struct {
	Rows     int        `json:"rows" minimum:"0"`
	Imported int        `json:"imported" minimum:"0"`
	Existing int        `json:"existing" minimum:"0" doc:"Numbers already in the pool, left as they are"`
	Failed   []RowError `json:"failed"`
}

// ImportCards reads a card-pool CSV; see CardsHelp.
func ImportCards(ctx context.Context, imp CardImporter, c loyalty.Caller, r io.Reader, progress func(int)) (CardsReport, error) {
	res, err := Run(ctx, CardsTable(imp, c), r, progress)
	return CardsReport{Rows: res.Rows, Imported: res.Imported, Existing: res.Existing, Failed: res.Failed}, err
}

// CardLister pages through the card pool.
type CardLister interface {
	ListPoolCards(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.PoolCard, error)
}

// ExportCards writes the whole pool in number order.
func ExportCards(ctx context.Context, l CardLister, c loyalty.Caller, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write(cardHeader)
	n, after := 0, ""
	const page = 1000
	for {
		cs, err := l.ListPoolCards(ctx, c, after, page)
		if err != nil {
			return n, err
		}
		for _, pc := range cs {
			bound := ""
			if !pc.BoundAt.IsZero() {
				bound = pc.BoundAt.UTC().Format(time.RFC3339)
			}
			_ = cw.Write([]string{pc.Number, pc.MemberID, bound})
			n++
		}
		if len(cs) < page {
			break
		}
		after = cs[len(cs)-1].Number
	}
	cw.Flush()
	return n, cw.Error()
}
