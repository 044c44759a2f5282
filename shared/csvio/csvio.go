// Package csvio imports and exports members as CSV for the CLI: bad rows are
// reported with their line and reason while good rows are kept, and running
// the same file again imports nothing twice (a phone joins once).
package csvio

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Columns of the member CSV, in order. Only phone is required.
var Columns = []string{"phone", "card", "name", "email", "points"}

// RowError is a row that was not imported.
type RowError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Report sums up an import.
type Report struct {
	Rows     int        `json:"rows"`
	Imported int        `json:"imported"`
	Existing int        `json:"existing"` // already members: skipped
	Failed   []RowError `json:"failed"`
}

// Importer imports one member row.
type Importer interface {
	ImportMember(ctx context.Context, c loyalty.Caller, row loyalty.ImportRow) (string, error)
}

type job struct {
	line int
	row  loyalty.ImportRow
}

// Import reads the CSV (with a header row naming the columns) and imports
// rows with `workers` goroutines. normalize parses phone numbers; progress,
// when set, is called once per row processed.
func Import(ctx context.Context, imp Importer, c loyalty.Caller, r io.Reader, normalize func(string) (string, error), workers int, progress func()) (Report, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Report{}, fmt.Errorf("read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["phone"]; !ok {
		return Report{}, errors.New("the header has no phone column")
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	if workers < 1 {
		workers = 1
	}
	var rep Report
	var mu sync.Mutex
	fail := func(line int, reason string) {
		mu.Lock()
		rep.Failed = append(rep.Failed, RowError{Line: line, Reason: reason})
		mu.Unlock()
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var fatal error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				_, err := imp.ImportMember(ctx, c, j.row)
				mu.Lock()
				switch {
				case err == nil:
					rep.Imported++
				case errors.Is(err, loyalty.ErrImportExists):
					rep.Existing++
				case loyalty.CodeOf(err) != loyalty.CodeInternal:
					rep.Failed = append(rep.Failed, RowError{Line: j.line, Reason: err.Error()})
				default:
					if fatal == nil {
						fatal = fmt.Errorf("line %d: %w", j.line, err)
					}
				}
				mu.Unlock()
				if progress != nil {
					progress()
				}
			}
		}()
	}
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if err == io.EOF {
			break
		}
		rep.Rows++
		if err != nil {
			fail(line, "malformed CSV: "+err.Error())
			if progress != nil {
				progress()
			}
			continue
		}
		row, reason := parseRow(rec, field, normalize)
		if reason != "" {
			fail(line, reason)
			if progress != nil {
				progress()
			}
			continue
		}
		select {
		case jobs <- job{line: line, row: row}:
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return rep, ctx.Err()
		}
	}
	close(jobs)
	wg.Wait()
	return rep, fatal
}

func parseRow(rec []string, field func([]string, string) string, normalize func(string) (string, error)) (loyalty.ImportRow, string) {
	phone, err := normalize(field(rec, "phone"))
	if err != nil {
		return loyalty.ImportRow{}, "invalid phone"
	}
	row := loyalty.ImportRow{Phone: phone, Card: field(rec, "card"), Name: field(rec, "name"), Email: field(rec, "email")}
	if len(row.Name) > 200 || len(row.Email) > 254 {
		return loyalty.ImportRow{}, "name or email too long"
	}
	if pts := field(rec, "points"); pts != "" {
		n, err := parsePoints(pts)
		if err != nil {
			return loyalty.ImportRow{}, "invalid points: " + err.Error()
		}
		row.Points = n
	}
	return row, ""
}

// parsePoints reads "12.5" or "1250" style point amounts: a decimal number
// of whole points with at most two decimals, stored in hundredths.
func parsePoints(s string) (loyalty.Points, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && (len(frac) == 0 || len(frac) > 2) {
		return 0, errors.New("at most two decimals")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || w > int64(loyalty.MaxPoints)/100 {
		return 0, errors.New("not a non-negative number")
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, errors.New("not a number")
	}
	return loyalty.Points(w*100 + f), nil
}

// Lister pages through members and reads their balances.
type Lister interface {
	ListMembers(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.MemberSummary, error)
	GetMember(ctx context.Context, c loyalty.Caller, memberID string) (*loyalty.Account, error)
}

// Export writes every member of the caller's tenant as CSV.
func Export(ctx context.Context, l Lister, c loyalty.Caller, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"memberId", "card", "phone", "name", "status", "tier", "available", "pending", "held", "createdAt"})
	n, after := 0, ""
	for {
		page, err := l.ListMembers(ctx, c, after, 200)
		if err != nil {
			return n, err
		}
		for _, m := range page {
			a, err := l.GetMember(ctx, c, m.MemberID)
			if err != nil {
				return n, err
			}
			_ = cw.Write([]string{a.MemberID, a.Card, a.Phone, a.Name, a.Status, a.Tier,
				points(a.Available), points(a.Pending), points(a.Held), a.CreatedAt.Format("2006-01-02T15:04:05Z07:00")})
			n++
		}
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].MemberID
	}
	cw.Flush()
	return n, cw.Error()
}

func points(p loyalty.Points) string { return fmt.Sprintf("%d.%02d", p/100, p%100) }
