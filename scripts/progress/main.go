// Command progress runs a long command of `make test` and keeps its output
// readable: it prints a line at least every -every (30 s) with the time
// elapsed, so a silent compile or a slow package never looks like a hang.
//
//	progress [-label vet] [-every 30s] -- command args...
//
// When the command is `go test -json`, the event stream is turned back into
// what `go test` prints without -v: one line per finished package, and the
// whole output of every failed test (and of a package that failed outside
// its tests: a panic, a timeout, a build error) as soon as it fails;
// passing tests print nothing. The heartbeat then also says which packages
// are done and which test binaries are running, for how long. Lines that
// are not test events (vet's, pip's, build errors on stderr) pass through
// unchanged. The exit status is the command's.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	label := flag.String("label", "", "name of the step in heartbeat lines (default: the command)")
	every := flag.Duration("every", 30*time.Second, "longest silence before a heartbeat line")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: progress [-label name] [-every 30s] -- command args...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *label == "" {
		*label = strings.Join(flag.Args(), " ")
	}
	os.Exit(run(flag.Args(), *label, *every, os.Stdout, os.Stderr))
}

// run runs the command and returns its exit status.
func run(args []string, label string, every time.Duration, stdout, stderr io.Writer) int {
	start := time.Now()
	f := newFilter(stdout, label, start)
	// go test -json says nothing while it compiles: the heartbeat says so.
	f.events = slices.Contains(args, "-json")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = os.Stdin
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "progress:", err)
		return 2
	}
	// stderr is not test events: it goes through the filter's lock as
	// lines, so it never splits a failure report.
	errOut, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintln(stderr, "progress:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "progress:", err)
		return 127
	}
	// Ctrl-C reaches the command through the terminal's process group; this
	// process waits for it to finish and report.
	signal.Ignore(syscall.SIGINT)

	stop := make(chan struct{})
	var beats sync.WaitGroup
	beats.Add(1)
	go func() {
		defer beats.Done()
		t := time.NewTicker(every / 6)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				f.heartbeat(now, every)
			}
		}
	}()
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); scan(errOut, func(l string) { f.raw(stderr, l) }) }()
	go func() { defer readers.Done(); scan(out, f.line) }()
	readers.Wait()
	err = cmd.Wait()
	close(stop)
	beats.Wait()
	f.finish(err)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		fmt.Fprintln(stderr, "progress:", err)
		return 1
	}
}

func scan(r io.Reader, line func(string)) {
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			line(strings.TrimSuffix(s, "\n"))
		}
		if err != nil {
			return
		}
	}
}

// fmtDur prints a duration as 1m05s or 12s.
func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// shortPkg drops the module path's common prefix for heartbeat lines.
func shortPkg(p string) string {
	if i := strings.Index(p, "/cashback/"); i >= 0 {
		return p[i+len("/cashback/"):]
	}
	return p
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
