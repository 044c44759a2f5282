package main

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
)

// CatalogImport is a large catalog CSV imported the way `loyalty catalog
// import` does it (csvio.Run over the catalog table: batches of 500,
// BatchWriteItem 25 a request), with one bad row in a hundred.
type CatalogImport struct {
	Rows        int     `json:"rows"`
	Imported    int     `json:"imported"`
	Failed      int     `json:"failed"`
	Progress    int64   `json:"progressRows"` // rows the progress callback saw
	Seconds     float64 `json:"seconds"`
	RowsPerSec  float64 `json:"rowsPerSec"`
	RoundTrips  int     `json:"roundTrips"`
	WCU         float64 `json:"wcu"`
	FirstFailed string  `json:"firstFailed,omitempty"`
	Note        string  `json:"note"`
}

// measureCatalogImport imports rows products into the bench tenant.
func (b *bench) measureCatalogImport(res *Results, rows int) error {
	var f bytes.Buffer
	f.WriteString("sku,name,category,price\n")
	bad := 0
	for i := 0; i < rows; i++ {
		switch {
		case i%100 == 42: // a price with a comma: a field too many
			fmt.Fprintf(&f, "K%06d,Product %d,cat-%d,12,50\n", i, i, i%40)
			bad++
		case i%100 == 77: // a bad category
			fmt.Fprintf(&f, "K%06d,Product %d,bad category,1.00\n", i, i)
			bad++
		default:
			fmt.Fprintf(&f, "K%06d,Product %d,cat-%d,%d.%02d\n", i, i, i%40, i%5000, i%100)
		}
	}
	owner := loyalty.Caller{TenantID: b.tenant, Role: loyalty.RoleOwner, KeyID: "bench"}
	m := &store.Meter{}
	ctx := store.WithMeter(b.ctx, m)
	var seen atomic.Int64
	start := time.Now()
	r, err := csvio.Run(ctx, csvio.CatalogTable(b.app.Service, owner), &f, func(n int) { seen.Add(int64(n)) })
	took := time.Since(start)
	if err != nil {
		return err
	}
	if len(r.Failed) != bad || r.Imported != rows-bad || seen.Load() != int64(rows) {
		return fmt.Errorf("catalog import: %d rows, %d imported, %d failed (want %d), progress %d", r.Rows, r.Imported, len(r.Failed), bad, seen.Load())
	}
	trips, _, wcu := m.Snapshot()
	ci := &CatalogImport{Rows: r.Rows, Imported: r.Imported, Failed: len(r.Failed), Progress: seen.Load(), Seconds: took.Seconds(),
		RowsPerSec: float64(r.Rows) / took.Seconds(), RoundTrips: trips, WCU: wcu,
		Note: "in-process as `loyalty catalog import` runs it, against DynamoDB Local on this machine: batches of 500 rows, BatchWriteItem 25 a request; WCU as DynamoDB reports them (1 per product item under 1 KB)"}
	ci.FirstFailed = fmt.Sprintf("line %d: %s", r.Failed[0].Line, r.Failed[0].Reason)
	res.CatalogImport = ci
	return nil
}

// measureParts measures only the parts asked for (-only) and merges them
// into the results file, whose other figures stay as they were.
func (b *bench) measureParts(out string, res *Results, n int, parts []string) error {
	prev, err := readResults(out)
	if err != nil {
		return err
	}
	for _, p := range parts {
		switch p {
		case "hotpath":
			if err := b.measureAll(res, n, ""); err != nil {
				return err
			}
			for k, v := range res.Operations {
				prev.Operations[k] = v
			}
		case "catalog":
			if err := b.measureCatalogImport(res, *catalogRows); err != nil {
				return err
			}
			prev.CatalogImport = res.CatalogImport
		}
	}
	return write(out, prev)
}
