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
	"regexp"
	"strconv"
	"strings"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Columns of the member CSV, both ways: Export writes exactly these, in this
// order, and Import reads them (in any order; only phone is required), so an
// export imports as-is into another tenant. Member ids, tiers and creation
// times are not in it: the importing tenant assigns its own. Amounts are in
// points, whole points with up to two decimals ("12.50"), the figure a
// business reads; inside, points are hundredths.
var Columns = []string{"phone", "card", "name", "email", "status", "points", "pending", "held"}

// Column meanings, for help texts.
const ColumnHelp = `Columns (a header row names them, in any order; only phone is required).
members export writes exactly these, so its file imports as-is:
  phone    the member's phone, any common notation (8 912 345-67-89, +79123456789)
  card     16-digit card number with its check digit; a new one is drawn when empty
  name     up to 200 characters
  email    up to 254 characters
  status   active (default) or blocked
  points   available balance in points: whole points with up to 2 decimals and a
           dot as separator (12.50 is twelve and a half points; 12.345 is refused)
  pending  points not matured yet: imported only when empty or 0 (they mature on
           the exporting tenant's schedule); otherwise the row is reported
  held     points held on an open order: imported only when empty or 0 (close or
           cancel the order first); otherwise the row is reported
Any other column refuses the whole file. Imported points expire under the
tenant's current program, counted from the import.`

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

// Import reads the CSV (with a header row naming the columns) and imports
// rows with `workers` goroutines. normalize parses phone numbers; progress,
// when set, is called once per row processed.
func Import(ctx context.Context, imp Importer, c loyalty.Caller, r io.Reader, normalize func(string) (string, error), workers int, progress func()) (Report, error) {
	var tick func(int)
	if progress != nil {
		tick = func(n int) {
			for ; n > 0; n-- {
				progress()
			}
		}
	}
	res, err := Run(ctx, MemberTable(imp, c, normalize, workers), r, tick)
	rep := Report{Rows: res.Rows, Imported: res.Imported, Existing: res.Existing}
	if len(res.Failed) > 0 {
		rep.Failed = res.Failed
	}
	return rep, err
}

// MemberTable is the member CSV for Run: a row per member, imported one
// at a time (each its own transaction) by `workers` goroutines.
func MemberTable(imp Importer, c loyalty.Caller, normalize func(string) (string, error), workers int) Table[loyalty.ImportRow] {
	return Table[loyalty.ImportRow]{
		Columns: Columns, Required: []string{"phone"}, Workers: workers,
		Parse: func(rec Record, _ int) (loyalty.ImportRow, string) { return parseRow(rec, normalize) },
		Write: func(ctx context.Context, rows []loyalty.ImportRow) ([]error, error) {
			out := make([]error, len(rows))
			for i, row := range rows {
				_, out[i] = imp.ImportMember(ctx, c, row)
			}
			return out, nil
		},
	}
}

func parseRow(rec Record, normalize func(string) (string, error)) (loyalty.ImportRow, string) {
	phone, err := normalize(rec.Get("phone"))
	if err != nil {
		return loyalty.ImportRow{}, "invalid phone"
	}
	row := loyalty.ImportRow{Phone: phone, Card: rec.Get("card"), Name: rec.Get("name"), Email: rec.Get("email")}
	if len(row.Name) > 200 || len(row.Email) > 254 {
		return loyalty.ImportRow{}, "name or email too long"
	}
	switch st := loyalty.MemberStatus(strings.ToLower(rec.Get("status"))); st {
	case "", loyalty.MemberActive:
	case loyalty.MemberBlocked:
		row.Blocked = true
	default:
		return loyalty.ImportRow{}, fmt.Sprintf("status %q: want active or blocked", st)
	}
	if pts := rec.Get("points"); pts != "" {
		n, err := ParsePoints(pts)
		if err != nil {
			return loyalty.ImportRow{}, fmt.Sprintf("points %q: %v", pts, err)
		}
		row.Points = n
	}
	for _, c := range []struct{ name, why string }{
		{"pending", "pending points have not matured: export again after they do"},
		{"held", "held points belong to an open order: close or cancel it and export again"},
	} {
		v := rec.Get(c.name)
		if v == "" {
			continue
		}
		n, err := ParsePoints(v)
		if err != nil {
			return loyalty.ImportRow{}, fmt.Sprintf("%s %q: %v", c.name, v, err)
		}
		if n != 0 {
			return loyalty.ImportRow{}, fmt.Sprintf("%s %s: not imported, %s", c.name, FormatPoints(n), c.why)
		}
	}
	return row, ""
}

var pointsRe = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?$`)

// ParsePoints reads the CSV unit: whole points with at most two decimals
// ("12.5", "12.50", "1250"), returned in hundredths. More decimals are
// refused rather than rounded: a balance must import exactly or not at all.
func ParsePoints(s string) (loyalty.Points, error) {
	tooMany := fmt.Sprintf("more than %s points", FormatPoints(loyalty.MaxPoints))
	n, err := parseHundredths(s, int64(loyalty.MaxPoints), decimalTexts{
		example: "12.50", notNumber: "not a non-negative number of points (12.50)",
		tooPrecise: "at most 2 decimals: the unit is a point, the smallest amount 0.01", tooLarge: tooMany})
	return loyalty.Points(n), err
}

// decimalTexts are the refusals of parseHundredths, in the caller's unit.
type decimalTexts struct{ example, notNumber, tooPrecise, tooLarge string }

// parseHundredths reads a non-negative decimal with at most two decimals
// in hundredths, at most max. More decimals are refused, never rounded.
func parseHundredths(s string, max int64, t decimalTexts) (int64, error) {
	m := pointsRe.FindStringSubmatch(s)
	if m == nil {
		if strings.Contains(s, ",") {
			return 0, fmt.Errorf("use a dot as the decimal separator (%s)", t.example)
		}
		return 0, errors.New(t.notNumber)
	}
	whole, frac := m[1], m[2]
	if len(frac) > 2 {
		return 0, errors.New(t.tooPrecise)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > max/100 {
		return 0, errors.New(t.tooLarge)
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	if n := w*100 + f; n <= max {
		return n, nil
	}
	return 0, errors.New(t.tooLarge)
}

// FormatPoints writes hundredths in the CSV unit: whole points with two
// decimals (1250 → "12.50").
func FormatPoints(p loyalty.Points) string {
	sign := ""
	if p < 0 { // never in a balance; kept readable all the same
		sign, p = "-", -p
	}
	return fmt.Sprintf("%s%d.%02d", sign, p/100, p%100)
}

// Lister pages through members and reads their balances.
type Lister interface {
	ListMembers(ctx context.Context, c loyalty.Caller, after string, limit int) ([]loyalty.MemberSummary, error)
	GetMember(ctx context.Context, c loyalty.Caller, memberID string) (*loyalty.Account, error)
}

// Export writes every member of the caller's tenant as CSV in Columns
// order; Import reads the file back as it is.
func Export(ctx context.Context, l Lister, c loyalty.Caller, w io.Writer) (int, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write(Columns)
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
			_ = cw.Write([]string{a.Phone, a.Card, a.Name, a.Email, string(a.Status),
				FormatPoints(a.Available), FormatPoints(a.Pending), FormatPoints(a.Held)})
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
