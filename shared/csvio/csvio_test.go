package csvio_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/csvio"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/phone/libphone"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// importTwice imports a file of `rows` members, one row in a hundred bad
// (an invalid phone, too many decimals, a card failing its check digit, a
// negative balance, in turn): every good row is imported and every bad one
// reported with its line; the same file again imports nothing, finds every
// member and reports the bad rows again; the export (pages of 200) has every
// member. make test runs it on 500 rows, make volume (tag volume) on 10 000.
func importTwice(t *testing.T, rows int) {
	if rows < 400 || rows%100 != 0 {
		t.Fatalf("%d rows: use a multiple of 100, at least 400, so every kind of bad row occurs", rows)
	}
	e := apitest.New(t, apitest.Options{NoProgram: true})
	svc := e.App.Service
	nt, err := svc.CreateTenant(context.Background(), "Big shop", loyalty.PlanPAYG)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := svc.Authenticate(context.Background(), loyalty.HashAPIKey(nt.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("phone,card,name,email,points\n")
	bad := map[int]bool{}
	for i := 0; i < rows; i++ {
		line := i + 2
		switch {
		case i%100 == 7: // one bad row in a hundred, the kinds in turn
			bad[line] = true
			switch (i / 100) % 4 {
			case 0:
				fmt.Fprintf(&b, "not-a-phone,,Bad %d,,\n", i)
			case 1:
				fmt.Fprintf(&b, "+7912%07d,,Bad %d,,12.345\n", i, i)
			case 2:
				fmt.Fprintf(&b, "+7912%07d,1234567890123456,Bad %d,,\n", i, i) // fails the check digit
			case 3:
				fmt.Fprintf(&b, "+7912%07d,,Bad %d,,-5\n", i, i)
			}
		default:
			fmt.Fprintf(&b, "8 912 %03d-%02d-%02d,,Member %d,,%d.50\n", i/10000, (i/100)%100, i%100, i, i%7)
		}
	}
	good, nbad := rows-rows/100, rows/100
	data := b.Bytes()
	var seen atomic.Int64
	rep, err := csvio.Import(context.Background(), svc, owner, bytes.NewReader(data), libphone.Normalize, 8, func() { seen.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != rows || rep.Imported != good || len(rep.Failed) != nbad || seen.Load() != int64(rows) {
		t.Fatalf("first run: rows %d imported %d existing %d failed %d progress %d", rep.Rows, rep.Imported, rep.Existing, len(rep.Failed), seen.Load())
	}
	for _, f := range rep.Failed {
		if !bad[f.Line] {
			t.Fatalf("line %d reported but is good: %s", f.Line, f.Reason)
		}
	}
	again, err := csvio.Import(context.Background(), svc, owner, bytes.NewReader(data), libphone.Normalize, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Imported != 0 || again.Existing != good || len(again.Failed) != nbad {
		t.Fatalf("second run: imported %d existing %d failed %d", again.Imported, again.Existing, len(again.Failed))
	}
	var out strings.Builder
	n, err := csvio.Export(context.Background(), svc, owner, &out)
	if err != nil || n != good || !strings.Contains(out.String(), "+79120000001") {
		t.Fatalf("export: %d %v", n, err)
	}
}

// 500 rows, 5 of them bad (every kind): 495 members imported and 5 rows
// reported with their line; the same file again imports nothing. The
// 10 000-row run is TestImportTenThousandRowsTwice, in make volume.
func TestImportRowsTwice(t *testing.T) {
	t.Parallel()
	importTwice(t, 500)
}

func newTenant(t *testing.T, svc *loyalty.Service, name string) loyalty.Caller {
	t.Helper()
	nt, err := svc.CreateTenant(context.Background(), name, loyalty.PlanPAYG)
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.Authenticate(context.Background(), loyalty.HashAPIKey(nt.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines[1:]) // keep the header first; member order is the directory's
	return lines
}

// An export imports as-is into another tenant and exports back the same:
// every phone, card, name, email, status and balance survives, fractions of
// a point included.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{NoProgram: true})
	svc := e.App.Service
	a, b := newTenant(t, svc, "Shop A"), newTenant(t, svc, "Shop B")
	seed := "phone,card,name,email,status,points\n" +
		"8 912 345-67-89,,Ann,ann@example.com,,12.50\n" +
		"+79120000002,,\"Smith, \"\"Bob\"\"\",,blocked,0.01\n" +
		"+79120000003,,,,active,1234567.89\n" +
		"+79120000004,,Dora,,,\n"
	rep, err := csvio.Import(context.Background(), svc, a, strings.NewReader(seed), libphone.Normalize, 2, nil)
	if err != nil || rep.Imported != 4 || len(rep.Failed) != 0 {
		t.Fatalf("seed A: %+v %v", rep, err)
	}
	var fromA strings.Builder
	if n, err := csvio.Export(context.Background(), svc, a, &fromA); err != nil || n != 4 {
		t.Fatalf("export A: %d %v", n, err)
	}
	for _, want := range []string{"12.50", "0.01", "1234567.89", "ann@example.com", "blocked"} {
		if !strings.Contains(fromA.String(), want) {
			t.Fatalf("export of A lacks %q:\n%s", want, fromA.String())
		}
	}
	rep, err = csvio.Import(context.Background(), svc, b, strings.NewReader(fromA.String()), libphone.Normalize, 2, nil)
	if err != nil || rep.Imported != 4 || len(rep.Failed) != 0 {
		t.Fatalf("import A's export into B: %+v %v", rep, err)
	}
	var fromB strings.Builder
	if _, err := csvio.Export(context.Background(), svc, b, &fromB); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedLines(fromB.String()), sortedLines(fromA.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("B's export differs from A's:\nA:\n%s\nB:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	// The balance is the member's, not just a figure in the file.
	m, err := svc.FindMember(context.Background(), b, loyalty.MemberRef{Phone: "+79120000003"})
	if err != nil || m.Available != 123456789 {
		t.Fatalf("member in B: %+v %v", m, err)
	}
	if m, err := svc.FindMember(context.Background(), b, loyalty.MemberRef{Phone: "+79120000002"}); err != nil || m.Status != loyalty.MemberBlocked {
		t.Fatalf("blocked member in B: %+v %v", m, err)
	}
}
