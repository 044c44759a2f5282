package csvio

import (
	"context"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
)

// A column the importer does not know refuses the whole file before any row
// is imported: "available" (what the export used to write) must not turn
// into a zero balance for everyone.
func TestImportRefusesUnknownColumns(t *testing.T) {
	for _, header := range []string{
		"memberId,card,phone,name,status,tier,available,pending,held,createdAt",
		"phone,balance",
		"phone,points,points",
		"phone,points,",
	} {
		imp := &nopImporter{}
		rep, err := Import(context.Background(), imp, loyalty.Caller{}, strings.NewReader(header+"\n+79123456789,1,2,3,4,5,6,7,8,9\n"), libphone.Normalize, 1, nil)
		if err == nil || len(imp.rows) != 0 || rep.Rows != 0 {
			t.Fatalf("header %q: err %v, %d rows imported", header, err, len(imp.rows))
		}
		if !strings.Contains(err.Error(), "column") {
			t.Fatalf("header %q: unclear error %q", header, err)
		}
	}
	if _, err := Import(context.Background(), &nopImporter{}, loyalty.Caller{}, strings.NewReader("phone,available\n+79123456789,5\n"), libphone.Normalize, 1, nil); err == nil ||
		!strings.Contains(err.Error(), `"available"`) || !strings.Contains(err.Error(), strings.Join(Columns, ",")) {
		t.Fatalf("the error names neither the column nor the known ones: %v", err)
	}
	// A spreadsheet's byte order mark and other capitalisation are not unknown columns.
	imp := &nopImporter{}
	if rep, err := Import(context.Background(), imp, loyalty.Caller{}, strings.NewReader("\ufeffPhone, Points \n+79123456789,5\n"), libphone.Normalize, 1, nil); err != nil || rep.Imported != 1 || imp.rows[0].Points != 500 {
		t.Fatalf("BOM header: %+v %v", rep, err)
	}
}

// Points are whole points with up to two decimals; anything finer, negative
// or in another notation is a per-row error naming the value, and pending or
// held points (which cannot be carried over) refuse their row.
func TestImportPointsUnit(t *testing.T) {
	in := "phone,points,pending,held,status\n" +
		"+79120000001,12.5,,,\n" + // 2: 1250
		"+79120000002,12.345,,,\n" + // 3: too precise
		"+79120000003,-1,,,\n" + // 4
		"+79120000004,\"1,50\",,,\n" + // 5: decimal comma
		"+79120000005,1.+1,,,\n" + // 6
		"+79120000006,7,0.00,0,\n" + // 7: 700
		"+79120000007,7,1.00,,\n" + // 8: pending
		"+79120000008,7,,0.50,\n" + // 9: held
		"+79120000009,7,,,vip\n" + // 10: status
		"+79120000010,10000000000.00,,,blocked\n" + // 11: the maximum
		"+79120000011,10000000000.01,,,\n" // 12: past it
	imp := &nopImporter{}
	rep, err := Import(context.Background(), imp, loyalty.Caller{}, strings.NewReader(in), libphone.Normalize, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "at most 2 decimals", 4: "not a non-negative number", 5: "dot", 6: "not a non-negative number",
		8: "pending 1.00: not imported", 9: "held 0.50: not imported", 10: "status", 12: "more than"}
	if len(rep.Failed) != len(want) {
		t.Fatalf("failed rows %+v, want lines %v", rep.Failed, want)
	}
	for _, f := range rep.Failed {
		if w, ok := want[f.Line]; !ok || !strings.Contains(f.Reason, w) {
			t.Fatalf("line %d: reason %q, want %q", f.Line, f.Reason, w)
		}
	}
	got := map[string]loyalty.Points{}
	for _, r := range imp.rows {
		got[r.Phone] = r.Points
	}
	if got["+79120000001"] != 1250 || got["+79120000006"] != 700 || got["+79120000010"] != loyalty.MaxPoints || len(got) != 3 {
		t.Fatalf("imported %v", got)
	}
	for _, r := range imp.rows {
		if r.Blocked != (r.Phone == "+79120000010") {
			t.Fatalf("row %s blocked %v", r.Phone, r.Blocked)
		}
	}
}

func TestFormatPointsReadsBack(t *testing.T) {
	for _, p := range []loyalty.Points{0, 1, 99, 100, 1250, 123456789, loyalty.MaxPoints} {
		s := FormatPoints(p)
		back, err := ParsePoints(s)
		if err != nil || back != p {
			t.Fatalf("%d → %q → %d, %v", p, s, back, err)
		}
	}
	if FormatPoints(1250) != "12.50" {
		t.Fatalf("1250 hundredths is %q", FormatPoints(1250))
	}
}
