package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), build events included.
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string // build-output, build-fail
}

// filter turns test events into readable output and keeps track of what is
// running for the heartbeat. Every write goes through mu, so a failed
// test's report is never split by another line.
type filter struct {
	mu        sync.Mutex
	w         io.Writer
	label     string
	start     time.Time
	lastPrint time.Time
	events    bool                 // the command writes test events
	running   map[string]time.Time // package → when its test binary started
	buf       map[string][]string  // package + "\x00" + test → its output so far
	pkgOut    map[string][]string  // package → its own lines, shown when it is done
	done      int
	failed    []string // packages
	failTests map[string][]string
}

func newFilter(w io.Writer, label string, start time.Time) *filter {
	return &filter{w: w, label: label, start: start, lastPrint: start,
		running: map[string]time.Time{}, buf: map[string][]string{}, pkgOut: map[string][]string{}, failTests: map[string][]string{}}
}

// printf writes and notes the time; mu is held.
func (f *filter) printf(format string, args ...any) {
	fmt.Fprintf(f.w, format, args...)
	f.lastPrint = time.Now()
}

// raw passes a line through to w unchanged.
func (f *filter) raw(w io.Writer, line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintln(w, line)
	f.lastPrint = time.Now()
}

// line handles one line of the command's standard output.
func (f *filter) line(l string) {
	var e event
	if !strings.HasPrefix(l, "{") || json.Unmarshal([]byte(l), &e) != nil || e.Action == "" {
		f.raw(f.w, l)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.event(e, time.Now())
}

func key(pkg, test string) string { return pkg + "\x00" + test }

// event handles one test event; mu is held.
func (f *filter) event(e event, now time.Time) {
	f.events = true
	switch e.Action {
	case "build-output":
		f.printf("%s", e.Output) // compiler and vet errors: always shown
	case "start":
		f.running[e.Package] = now
	case "output":
		if e.Test == "" {
			// The package's own lines: "ok  pkg 1.2s", "FAIL pkg", what
			// TestMain or a crash prints; shown when the package is done,
			// after its unfinished tests. A bare PASS says nothing.
			if strings.TrimSpace(e.Output) != "PASS" {
				f.pkgOut[e.Package] = append(f.pkgOut[e.Package], e.Output)
			}
			return
		}
		if isFraming(e.Output) {
			return
		}
		k := key(e.Package, e.Test)
		f.buf[k] = append(f.buf[k], e.Output)
	case "pass", "fail", "skip":
		if e.Test != "" {
			k := key(e.Package, e.Test)
			if e.Action == "fail" {
				f.failTests[e.Package] = append(f.failTests[e.Package], e.Test)
				f.printf("%s", strings.Join(f.buf[k], ""))
			}
			delete(f.buf, k)
			return
		}
		// The package is done. A test that never reported (a timeout, a
		// crash in another goroutine) shows what it printed when the
		// package failed.
		delete(f.running, e.Package)
		f.done++
		prefix := key(e.Package, "")
		for _, k := range sortedKeys(f.buf) {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if e.Action == "fail" {
				f.printf("--- output of %s, unfinished when the package failed:\n%s", strings.TrimPrefix(k, prefix), strings.Join(f.buf[k], ""))
			}
			delete(f.buf, k)
		}
		f.printf("%s", strings.Join(f.pkgOut[e.Package], ""))
		delete(f.pkgOut, e.Package)
		if e.Action == "fail" {
			f.failed = append(f.failed, e.Package)
		}
	}
}

// isFraming tells the "=== RUN" kind of line, which -v adds and go test
// without -v does not print.
func isFraming(s string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// heartbeat prints a progress line when nothing was printed for a while.
func (f *filter) heartbeat(now time.Time, every time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.lastPrint) < every-every/6 {
		return
	}
	f.printf("%s\n", f.status(now))
}

// status is the heartbeat line; mu is held.
func (f *filter) status(now time.Time) string {
	s := fmt.Sprintf("[%s %s]", f.label, fmtDur(now.Sub(f.start)))
	if !f.events {
		return s + " still running"
	}
	s += fmt.Sprintf(" %d packages done", f.done)
	if len(f.failed) > 0 {
		s += fmt.Sprintf(" (%d failed)", len(f.failed))
	}
	if len(f.running) == 0 {
		return s + "; compiling"
	}
	var run []string
	for _, p := range sortedKeys(f.running) {
		run = append(run, fmt.Sprintf("%s %s", shortPkg(p), fmtDur(now.Sub(f.running[p]))))
	}
	return s + "; running: " + strings.Join(run, ", ")
}

// finish prints the closing line: how long the step took and, for tests,
// which packages and tests failed.
func (f *filter) finish(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	took := fmtDur(time.Since(f.start))
	switch {
	case f.events && len(f.failed) > 0:
		var parts []string
		for _, p := range f.failed {
			if ts := f.failTests[p]; len(ts) > 0 {
				parts = append(parts, fmt.Sprintf("%s (%s)", p, strings.Join(ts, ", ")))
			} else {
				parts = append(parts, p)
			}
		}
		f.printf("[%s %s] FAILED: %d of %d packages: %s\n", f.label, took, len(f.failed), f.done, strings.Join(parts, "; "))
	case f.events && err == nil:
		f.printf("[%s %s] %d packages passed\n", f.label, took, f.done)
	case err != nil:
		f.printf("[%s %s] FAILED: %v\n", f.label, took, err)
	default:
		f.printf("[%s %s] done\n", f.label, took)
	}
}
