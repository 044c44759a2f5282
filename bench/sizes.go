package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loyalty/cashback/shared/routes"
)

// binaryTarget is DESIGN.md's "Lambda binary ≤ 12 MB", counted in MiB as
// this report always has (12 MiB = 12,582,912 bytes): the size of the
// stripped executable, unzipped, as the Lambda runtime loads it.
const binaryTarget = 12 << 20

// measureBinaries builds every function with `make build` (the Makefile's
// GO_BUILD_LAMBDA: linux/arm64, -tags lambda.norpc -trimpath -ldflags
// "-s -w"), so the sizes are those of what the stack deploys, and records
// each bootstrap's size, zipped too (the deployment package), beside the
// sizes of the results file this run replaces.
func measureBinaries(res *Results, previous string) error {
	dir, err := os.MkdirTemp("", "bench-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command("make", "--no-print-directory", "-s", "-j2", "build", "BUILD_DIR="+dir)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make build: %w", err)
	}
	res.Binaries, res.BinariesZipped = map[string]int64{}, map[string]int64{}
	for _, fn := range routes.AllFunctions() {
		path := filepath.Join(dir, fn, "bootstrap")
		bin, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		res.Binaries[fn] = int64(len(bin))
		if res.BinariesZipped[fn], err = zippedSize(bin); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
	}
	res.BinariesPrevious, res.BinariesPreviousCommit = nil, ""
	if previous == "" {
		// No results to compare with (the size check).
	} else if prev, err := readResults(previous); err == nil {
		res.BinariesPrevious = prev.Binaries
		res.BinariesPreviousCommit, _ = prev.Machine["commit"].(string)
		if prev.BinariesCommit != "" {
			res.BinariesPreviousCommit = prev.BinariesCommit
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	res.BinariesCommit = commit()
	return nil
}

// zippedSize is the size of the deployment package: the bootstrap alone in
// a deflated zip, as the CDK asset packs it.
func zippedSize(bin []byte) (int64, error) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, err := z.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(bin); err != nil {
		return 0, err
	}
	if err := z.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

func commit() string {
	c, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	return strings.TrimSpace(string(c))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// sizeLines are the Lambda sizes, one line per function, for the terminal.
func sizeLines(res *Results) []string {
	var lines []string
	for _, fn := range slices.Sorted(maps.Keys(res.Binaries)) {
		mark := "✓"
		if res.Binaries[fn] > binaryTarget {
			mark = "✗ (target ≤ 12 MiB)"
		}
		was := ""
		if p, ok := res.BinariesPrevious[fn]; ok {
			was = fmt.Sprintf("  (was %.1f MiB at %s)", mib(p), res.BinariesPreviousCommit)
		}
		lines = append(lines, fmt.Sprintf("binary %-14s %11d bytes %6.1f MiB %s  zipped %5.1f MiB  init (app + handler, in process) %.2f ms%s",
			fn, res.Binaries[fn], mib(res.Binaries[fn]), mark, mib(res.BinariesZipped[fn]), res.InitMs[fn], was))
	}
	return lines
}

// sizesSection is REPORT.md's "Lambda sizes".
func sizesSection(res *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Lambda sizes\n\n"+
		"Every function built by `make build` (linux/arm64, `-tags lambda.norpc -trimpath -ldflags \"-s -w\"`) at commit %s. "+
		"**Binary** is the stripped executable, unzipped, as the runtime loads it: the figure DESIGN.md's target, ≤ 12 MB "+
		"(counted in MiB: 12 MiB = 12,582,912 bytes), is about. Zipped is the deployment package. "+
		"Before is the size in the results this run replaced (commit %s). Init is wiring the app and building the handler in process; "+
		"the Lambda runtime's own start is not included.\n\n"+
		"| function | binary (bytes) | binary (MiB) | target ≤ 12 MiB | before (MiB) | zipped (MiB) | init in process (ms) |\n|---|---|---|---|---|---|---|\n",
		orDash(res.BinariesCommit), orDash(res.BinariesPreviousCommit))
	for _, fn := range slices.Sorted(maps.Keys(res.Binaries)) {
		ok := "met"
		if res.Binaries[fn] > binaryTarget {
			ok = "missed"
		}
		before := "—"
		if p, found := res.BinariesPrevious[fn]; found {
			before = fmt.Sprintf("%.1f", mib(p))
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %s | %s | %.1f | %.2f |\n", fn, res.Binaries[fn], mib(res.Binaries[fn]), ok, before, mib(res.BinariesZipped[fn]), res.InitMs[fn])
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// sizeCeilings are the functions allowed over binaryTarget, each with its
// ceiling and the reason; checkSizes holds every other function to the
// target.
var sizeCeilings = map[string]int64{
	// The pages render with html/template, whose executor looks methods up
	// by name through reflection (text/template's evalField): the linker
	// then keeps every exported method of every type stored in an interface
	// — the AWS SDK clients' operations above all — several MiB more than
	// the same code without templates (16.9 MiB at this writing, from 19.1
	// before the functions linked only what they serve). Reaching 12 MiB
	// needs the pages rendered without text/template's executor; until
	// then the web function may not grow past this.
	routes.FnWeb: 18 << 20,
}

// checkSizes builds every function and fails when one is over its
// ceiling: binaryTarget, or its entry in sizeCeilings (`make sizes-check`).
func checkSizes() error {
	res := &Results{}
	if err := measureBinaries(res, ""); err != nil {
		return err
	}
	var over []string
	for _, fn := range slices.Sorted(maps.Keys(res.Binaries)) {
		limit, why := int64(binaryTarget), "the 12 MiB target"
		if c, ok := sizeCeilings[fn]; ok {
			limit, why = c, "its ceiling (bench/sizes.go)"
		}
		fmt.Printf("%-18s %11d bytes %6.2f MiB (limit %.2f MiB)\n", fn, res.Binaries[fn], mib(res.Binaries[fn]), mib(limit))
		if res.Binaries[fn] > limit {
			over = append(over, fmt.Sprintf("%s: %d bytes, over %s (%d)", fn, res.Binaries[fn], why, limit))
		}
	}
	if len(over) > 0 {
		return fmt.Errorf("Lambda binaries too large (link only what the function serves: shared/app):\n  %s", strings.Join(over, "\n  "))
	}
	return nil
}

// remeasureSizes updates only the sizes in an existing results file and
// rewrites the report (`go run ./bench -sizes-only`, seconds instead of
// the minutes of a full run).
func remeasureSizes(path string) error {
	res, err := readResults(path)
	if err != nil {
		return err
	}
	if err := measureBinaries(res, path); err != nil {
		return err
	}
	return write(path, res)
}
