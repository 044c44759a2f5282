package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	rep := CatalogReport{Failed: []RowError{}}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return rep, fmt.Errorf("read header: %w", err)
	}
	col, err := catalogColumns(header)
	if err != nil {
		return rep, err
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	firstLine := map[string]int{}
	batch := make([]loyalty.Product, 0, catalogBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.ImportProducts(ctx, c, batch); err != nil {
			return err
		}
		rep.Imported += len(batch)
		if progress != nil {
			progress(len(batch))
		}
		batch = batch[:0]
		return nil
	}
	fail := func(line int, reason string) {
		rep.Failed = append(rep.Failed, RowError{Line: line, Reason: reason})
		if progress != nil {
			progress(1)
		}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		rep.Rows++
		if err != nil {
			fail(line, "malformed CSV: "+err.Error())
			continue
		}
		p, reason := parseProduct(rec, field)
		if len(rec) > len(header) {
			// Most often an unquoted comma: 12,50 for a price.
			reason = fmt.Sprintf("%d fields, the header has %d (quote a value with a comma; prices take a dot)", len(rec), len(header))
		}
		if reason == "" {
			if first, dup := firstLine[p.SKU]; dup {
				reason = fmt.Sprintf("sku %q already on line %d", p.SKU, first)
			}
		}
		if reason != "" {
			fail(line, reason)
			continue
		}
		firstLine[p.SKU] = line
		batch = append(batch, p)
		if len(batch) == catalogBatch {
			if err := flush(); err != nil {
				return rep, fmt.Errorf("line %d: %w", line, err)
			}
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	return rep, nil
}

func catalogColumns(header []string) (map[string]int, error) {
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		name := strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range CatalogColumns {
			known = known || c == name
		}
		if !known {
			return nil, fmt.Errorf("unknown column %q (column %d): the columns are %s", h, i+1, strings.Join(CatalogColumns, ","))
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("column %q appears twice", name)
		}
		col[name] = i
	}
	for _, need := range []string{"sku", "name"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the header has no %s column", need)
		}
	}
	return col, nil
}

func parseProduct(rec []string, field func([]string, string) string) (loyalty.Product, string) {
	p := loyalty.Product{SKU: field(rec, "sku"), Name: field(rec, "name"), Category: field(rec, "category")}
	if v := field(rec, "price"); v != "" {
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
	m := pointsRe.FindStringSubmatch(s)
	if m == nil {
		if strings.Contains(s, ",") {
			return 0, errors.New("use a dot as the decimal separator (149.90)")
		}
		return 0, errors.New("not a non-negative amount (149.90)")
	}
	whole, frac := m[1], m[2]
	if len(frac) > 2 {
		return 0, errors.New("at most 2 decimals")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(loyalty.MaxMoney)/100 {
		return 0, fmt.Errorf("more than %s", FormatMoney(loyalty.MaxMoney))
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return loyalty.Money(w*100 + f), nil
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
