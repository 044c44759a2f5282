package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Table describes one kind of CSV import (members, products, card numbers):
// the columns a header may name, how a row is checked and how good rows are
// written. Run does the rest the same way for every kind: header checks,
// per-row validation, batched writes by some workers, progress and a
// per-row error report.
type Table[T any] struct {
	Columns  []string // known column names, lower case
	Required []string // columns the header must name
	// Parse checks one record and returns the row, or a reason the row is
	// reported instead of written. It runs on the reading goroutine, in file
	// order, so it may remember earlier rows (duplicates in the file).
	Parse func(rec Record, line int) (T, string)
	// Write stores a batch of good rows and returns one outcome per row:
	// nil (imported), an error wrapping ErrRowExists (counted as existing)
	// or a caller error (reported with the row's line). An internal error
	// for a row, or a returned error, stops the import.
	Write   func(ctx context.Context, rows []T) ([]error, error)
	Batch   int // rows per Write (default 1)
	Workers int // concurrent Writes (default 1)
}

// Record is one CSV record and the header's column positions.
type Record struct {
	Fields []string
	col    map[string]int
	header int
}

// Get returns the trimmed value of a column ("" when absent).
func (r Record) Get(name string) string {
	if i, ok := r.col[name]; ok && i < len(r.Fields) {
		return strings.TrimSpace(r.Fields[i])
	}
	return ""
}

// Extra reports fields beyond the header's columns (an unquoted comma).
func (r Record) Extra() bool { return len(r.Fields) > r.header }

// HeaderLen is the number of columns the header names.
func (r Record) HeaderLen() int { return r.header }

// ErrRowExists marks a row whose record is already there (a member's phone):
// running the same file again counts it, without failing it.
var ErrRowExists = loyalty.ErrImportExists

// Result sums up a Run.
type Result struct {
	Rows     int
	Imported int
	Existing int
	Failed   []RowError
}

type batch[T any] struct {
	lines []int
	rows  []T
}

// Run reads the CSV (a header row names the columns, in any order; an
// unknown, repeated or missing required column refuses the file) and
// writes the good rows. progress, when set, is called with the number of
// rows just processed (written, skipped or reported), from any goroutine.
// An error is returned when the file is refused as a whole or a write
// fails; the result then says how far it got.
func Run[T any](ctx context.Context, tb Table[T], r io.Reader, progress func(n int)) (Result, error) {
	res := Result{Failed: []RowError{}}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true // Parse keeps values, never the record
	header, err := cr.Read()
	if err != nil {
		return res, fmt.Errorf("read header: %w", err)
	}
	col, err := tb.columns(header)
	if err != nil {
		return res, err
	}
	size, workers := max(tb.Batch, 1), max(tb.Workers, 1)
	tick := func(n int) {
		if progress != nil {
			progress(n)
		}
	}
	var mu sync.Mutex
	var fatal error
	jobs := make(chan batch[T])
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				outcomes, err := tb.Write(ctx, b.rows)
				mu.Lock()
				if err != nil {
					if fatal == nil {
						fatal = fmt.Errorf("line %d: %w", b.lines[0], err)
					}
				} else {
					for i, line := range b.lines {
						var oerr error
						if i < len(outcomes) {
							oerr = outcomes[i]
						}
						switch {
						case oerr == nil:
							res.Imported++
						case errors.Is(oerr, ErrRowExists):
							res.Existing++
						case loyalty.CodeOf(oerr) != loyalty.CodeInternal:
							res.Failed = append(res.Failed, RowError{Line: line, Reason: oerr.Error()})
						default:
							if fatal == nil {
								fatal = fmt.Errorf("line %d: %w", line, oerr)
							}
						}
					}
				}
				mu.Unlock()
				tick(len(b.rows))
			}
		}()
	}
	fail := func(line int, reason string) {
		mu.Lock()
		res.Failed = append(res.Failed, RowError{Line: line, Reason: reason})
		mu.Unlock()
		tick(1)
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fatal != nil
	}
	cur := batch[T]{}
	send := func() bool {
		if len(cur.rows) == 0 {
			return true
		}
		select {
		case jobs <- cur:
			cur = batch[T]{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	rows := 0
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		rows++
		if err != nil {
			fail(line, "malformed CSV: "+err.Error())
			continue
		}
		row, reason := tb.Parse(Record{Fields: rec, col: col, header: len(header)}, line)
		if reason != "" {
			fail(line, reason)
			continue
		}
		cur.lines, cur.rows = append(cur.lines, line), append(cur.rows, row)
		if len(cur.rows) == size && (stopped() || !send()) {
			break
		}
	}
	if ctx.Err() == nil && !stopped() {
		send()
	}
	close(jobs)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	res.Rows = rows
	if fatal != nil {
		return res, fatal
	}
	return res, ctx.Err()
}

// columns maps the header's column names to their index. An unknown or
// repeated column refuses the file: a misspelt "points" column would
// otherwise import every balance as zero without a word.
func (tb Table[T]) columns(header []string) (map[string]int, error) {
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheets save UTF-8 with a byte order mark
		}
		name := strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range tb.Columns {
			known = known || c == name
		}
		if !known {
			return nil, fmt.Errorf("unknown column %q (column %d): the columns are %s", h, i+1, strings.Join(tb.Columns, ","))
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("column %q appears twice", name)
		}
		col[name] = i
	}
	for _, need := range tb.Required {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("the header has no %s column", need)
		}
	}
	return col, nil
}
