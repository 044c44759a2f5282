package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// coupons import: codes in requests of 1000, progress on stderr, bad and
// taken codes by line in the report, non-zero exit when a row failed.
func TestCouponsImport(t *testing.T) {
	c := newCLI(t)
	a := c.newTenant("payg")
	report := filepath.Join(t.TempDir(), "report.csv")
	var sb strings.Builder
	sb.WriteString("code\n")
	for i := 0; i < 1100; i++ {
		fmt.Fprintf(&sb, "VOUCHER-%04d\n", i)
	}
	good := c.write("codes.csv", sb.String())
	out, errOut, err := c.run("coupons", "import", "--tenant", a, "--file", good, "--discount-amount", "500", "--report", report)
	if err != nil || !strings.Contains(out, "rows 1100, imported 1100, failed 0") || !strings.Contains(errOut, "1100/1100") {
		t.Fatalf("good file: %v\n%s\n%s", err, out, errOut)
	}
	bad := c.write("bad.csv", "NEW-0001\nx\nVOUCHER-0007\nNEW-0001\n")
	out, _, err = c.run("coupons", "import", "--tenant", a, "--file", bad, "--free-sku", "CRO-1", "--report", report)
	if err == nil || !strings.Contains(err.Error(), "3 of 4 rows failed") || !strings.Contains(out, "imported 1") {
		t.Fatalf("bad rows: %v\n%s", err, out)
	}
	rep := readFile(t, report)
	for _, want := range []string{"2,\"x: a code", "3,VOUCHER-0007: a coupon with this code exists", "4,\"NEW-0001: listed before"} {
		if !strings.Contains(rep, want) {
			t.Fatalf("report lacks %q:\n%s", want, rep)
		}
	}
	if _, _, err := c.run("coupons", "import", "--tenant", a, "--file", bad, "--points", "100", "--free-sku", "X"); err == nil {
		t.Fatal("two effects accepted")
	}
}
