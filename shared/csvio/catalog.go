package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/loyalty/cashback/shared/loyalty"
)

// CatalogColumns of the product CSV, both ways: ExportCatalog writes exactly
// these and ImportCatalog reads them in any order (sku and name required).
var CatalogColumns = []string{"sku", "name", "category", "price"}

// CatalogHelp explains the product CSV, for help texts and the docs.
const CatalogHelp = `Columns (a header row names them, in any order; sku and name are required).
catalog export writes exactly these, so its file imports as-is:
  sku       the article as the till sends it in order lines, 1-128 characters
  name      up to 200 characters
  category  1-64 letters, digits, '_', '.' or '-'; order lines naming the sku
            without a category of their own get it (category rules apply)
  price     in currency units with up to 2 decimals and a dot (149.90);
            empty: no price
A row whose sku appeared on an earlier row is reported, not imported. A sku
already in the catalog is replaced. Any other column refuses the whole file.`

// CatalogReport sums up a catalog import.
type CatalogReport struct {
	Rows     int        `json:"rows" minimum:"0"`
	Imported int        `json:"imported" minimum:"0"`
	Failed   []RowError `json:"failed"`
}

// CatalogWriter stores validated products (see loyalty.Catalog).
type CatalogWriter interface {
	ImportProducts(ctx context.Context, c loyalty.Caller, ps []loyalty.Product) error
}

// catalogBatch rows are written together: large enough that BatchWriteItem
// runs full, small enough that progress moves.
const catalogBatch = 500

// ImportCatalog reads a product CSV and writes the good rows; bad rows
// (bad price, bad category, a repeated sku, …) are reported with their line.
// progress, when set, is called once per row processed. An error is returned
// only when the file is refused as a whole (header) or a write fails.
func ImportCatalog(ctx context.Context, w CatalogWriter, c loyalty.Caller, r io.Reader, progress func(n int)) (CatalogReport, error) {
	res, err := Run(ctx, CatalogTable(w, c), r, progress)
	return CatalogReport{Rows: res.Rows, Imported: res.Imported, Failed: res.Failed}, err
}

// CatalogTable is the product CSV for Run: batches of catalogBatch rows,
// one writer; a sku repeated in the file is reported on its later lines.
func CatalogTable(w CatalogWriter, c loyalty.Caller) Table[loyalty.Product] {
	firstLine := map[string]int{}
	return Table[loyalty.Product]{
		Columns: CatalogColumns, Required: []string{"sku", "name"}, Batch: catalogBatch,
		Parse: func(rec Record, line int) (loyalty.Product, string) {
			p, reason := parseProduct(rec)
			if rec.Extra() {
				// Most often an unquoted comma: 12,50 for a price.
				reason = fmt.Sprintf("%d fields, the header has %d (quote a value with a comma; prices take a dot)", len(rec.Fields), rec.HeaderLen())
			}
			if reason == "" {
				if first, dup := firstLine[p.SKU]; dup {
					reason = fmt.Sprintf("sku %q already on line %d", p.SKU, first)
				}
			}
			if reason == "" {
				firstLine[p.SKU] = line
			}
			return p, reason
		},
		// Products are configuration: a batch is written whole or the
		// import stops (nothing about a product fails one row alone).
		Write: func(ctx context.Context, ps []loyalty.Product) ([]error, error) {
			return nil, w.ImportProducts(ctx, c, ps)
		},
	}
}

func parseProduct(rec Record) (loyalty.Product, string) {
	p := loyalty.Product{SKU: rec.Get("sku"), Name: rec.Get("name"), Category: rec.Get("category")}
	if v := rec.Get("price"); v != "" {
		m, err := ParseMoney(v)
		if err != nil {
			return p, fmt.Sprintf("price %q: %v", v, err)
		}
		p.Price = m
	}
	if err := loyalty.ValidateProduct(&p); err != nil {
		var le *loyalty.Error
		if errors.As(err, &le) {
			return p, le.Field + ": " + le.Message
		}
		return p, err.Error()
	}
	return p, ""
}

// ParseMoney reads an amount in currency units with at most two decimals
// ("149.9", "149.90", "149"), returned in minor units. More decimals are
// refused rather than rounded.
func ParseMoney(s string) (loyalty.Money, error) {
	n, err := parseHundredths(s, int64(loyalty.MaxMoney), decimalTexts{
		example: "149.90", notNumber: "not a non-negative amount (149.90)",
		tooPrecise: "at most 2 decimals", tooLarge: fmt.Sprintf("more than %s", FormatMoney(loyalty.MaxMoney))})
	return loyalty.Money(n), err
}

// FormatMoney writes minor units as currency units with two decimals.
func FormatMoney(m loyalty.Money) string {
	return fmt.Sprintf("%d.%02d", m/100, m%100)
}

// CatalogLister pages through the catalog.
type CatalogLister interface {
	ListProducts(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.Product, error)
}

// ExportCatalog writes the whole catalog in CatalogColumns order, a page at
// a time; ImportCatalog reads the file back as it is.
func ExportCatalog(ctx context.Context, l CatalogLister, c loyalty.Caller, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write(CatalogColumns)
	n, after := 0, ""
	const page = 1000
	for {
		ps, err := l.ListProducts(ctx, c, after, page)
		if err != nil {
			return n, err
		}
		for _, p := range ps {
			price := ""
			if p.Price > 0 {
				price = FormatMoney(p.Price)
			}
			_ = cw.Write([]string{p.SKU, p.Name, p.Category, price})
			n++
		}
		if len(ps) < page {
			break
		}
		after = ps[len(ps)-1].SKU
	}
	cw.Flush()
	return n, cw.Error()
}
