package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// cards import: progress, bad rows in the report, numbers already in the
// pool counted apart; export imports as-is into another tenant.
func TestCardsImportExport(t *testing.T) {
	c := newCLI(t)
	a, b := c.newTenant("payg"), c.newTenant("payg")
	report := filepath.Join(t.TempDir(), "report.csv")
	var sb strings.Builder
	sb.WriteString("number\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&sb, "4400%06d\n", i)
	}
	sb.WriteString("44x0\n4400000007\n")
	file := c.write("cards.csv", sb.String())
	out, errOut, err := c.run("cards", "import", "--tenant", a, "--file", file, "--report", report)
	if err == nil || !strings.Contains(out, "rows 302, imported 300, already in the pool 0, failed 2") || !strings.Contains(errOut, "302/302") {
		t.Fatalf("import: %v\n%s\n%s", err, out, errOut)
	}
	if rep := readFile(t, report); !strings.Contains(rep, "302,") || !strings.Contains(rep, "303,number 4400000007 already on line 9") {
		t.Fatalf("report:\n%s", rep)
	}
	out, _, _ = c.run("cards", "import", "--tenant", a, "--file", file)
	if !strings.Contains(out, "imported 0, already in the pool 300") {
		t.Fatalf("again: %s", out)
	}
	fromA := c.mustRun("cards", "export", "--tenant", a)
	if n := strings.Count(fromA, "\n"); n != 301 || !strings.HasPrefix(fromA, "number,memberId,boundAt\n4400000000,,\n") {
		t.Fatalf("export: %d lines\n%.200s", n, fromA)
	}
	c.mustRun("cards", "import", "--tenant", b, "--file", c.write("a.csv", fromA))
	if fromB := c.mustRun("cards", "export", "--tenant", b); fromB != fromA {
		t.Fatalf("round trip differs")
	}
}
