package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// catalog import: progress on stderr, bad rows in the report, non-zero exit
// when a row failed; export imports as-is into another tenant.
func TestCatalogImportExport(t *testing.T) {
	c := newCLI(t)
	a, b := c.newTenant("payg"), c.newTenant("payg")
	report := filepath.Join(t.TempDir(), "report.csv")
	var sb strings.Builder
	sb.WriteString("sku,name,category,price\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&sb, "s%04d,Product %d,cat-%d,%d.%02d\n", i, i, i%7, i, i%100)
	}
	good := c.write("good.csv", sb.String())
	out, errOut, err := c.run("catalog", "import", "--tenant", a, "--file", good, "--report", report)
	if err != nil || !strings.Contains(out, "rows 1200, imported 1200, failed 0") || !strings.Contains(errOut, "1200/1200") {
		t.Fatalf("good file: %v\n%s\n%s", err, out, errOut)
	}
	if got := readFile(t, report); got != "line,reason\n" {
		t.Fatalf("report of a clean import: %q", got)
	}
	bad := c.write("bad.csv", "sku,name,price\nz1,Fine,1\nz2,Comma price,1,50\nz1,Twice,2\nz3,,1\n")
	out, _, err = c.run("catalog", "import", "--tenant", a, "--file", bad, "--report", report)
	if err == nil || !strings.Contains(err.Error(), "3 of 4 rows failed") || !strings.Contains(out, "imported 1") {
		t.Fatalf("bad rows exit 0: %v\n%s", err, out)
	}
	rep := readFile(t, report)
	for _, want := range []string{"3,", "4,", "already on line 2", "5,", "name"} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
	if _, _, err := c.run("catalog", "import", "--tenant", a, "--file", c.write("h.csv", "sku,title\nq,Q\n")); err == nil || !strings.Contains(err.Error(), `unknown column "title"`) {
		t.Fatalf("bad header: %v", err)
	}
	if _, _, err := c.run("catalog", "import", "--tenant", "t_nope", "--file", good); err == nil || !strings.Contains(err.Error(), "t_nope not found") {
		t.Fatalf("unknown tenant: %v", err)
	}

	fromA := c.mustRun("catalog", "export", "--tenant", a)
	if n := strings.Count(fromA, "\n"); n != 1202 || !strings.Contains(fromA, "s0101,Product 101,cat-3,101.01\n") {
		t.Fatalf("export of A: %d lines\n%.300s", n, fromA)
	}
	c.mustRun("catalog", "import", "--tenant", b, "--file", c.write("a.csv", fromA))
	if fromB := c.mustRun("catalog", "export", "--tenant", b); fromB != fromA {
		t.Fatalf("round trip differs")
	}
}
