package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func events(t *testing.T, evs ...event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range evs {
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// A failed test's whole output is shown, in order; a passing test's is not;
// package lines pass through, and the summary names what failed.
func TestFilterShowsFailuresWhole(t *testing.T) {
	const a, b = "github.com/loyalty/cashback/a", "github.com/loyalty/cashback/b"
	in := events(t,
		event{Action: "start", Package: a},
		event{Action: "start", Package: b},
		event{Action: "run", Package: a, Test: "TestGood"},
		event{Action: "output", Package: a, Test: "TestGood", Output: "=== RUN   TestGood\n"},
		event{Action: "output", Package: a, Test: "TestGood", Output: "    a_test.go:5: chatter of a passing test\n"},
		event{Action: "output", Package: b, Test: "TestBad", Output: "=== RUN   TestBad\n"},
		event{Action: "output", Package: b, Test: "TestBad", Output: "    b_test.go:9: first line of the failure\n"},
		event{Action: "output", Package: a, Test: "TestGood", Output: "--- PASS: TestGood (0.01s)\n"},
		event{Action: "pass", Package: a, Test: "TestGood"},
		event{Action: "output", Package: b, Test: "TestBad", Output: "    b_test.go:10: second line\n        with a continuation\n"},
		event{Action: "output", Package: b, Test: "TestBad", Output: "--- FAIL: TestBad (0.02s)\n"},
		event{Action: "fail", Package: b, Test: "TestBad"},
		event{Action: "output", Package: a, Output: "PASS\n"},
		event{Action: "output", Package: a, Output: "ok  \t" + a + "\t0.1s\n"},
		event{Action: "pass", Package: a},
		event{Action: "output", Package: b, Output: "FAIL\n"},
		event{Action: "output", Package: b, Output: "FAIL\t" + b + "\t0.2s\n"},
		event{Action: "fail", Package: b},
	) + "not an event: passed through\n"
	var out bytes.Buffer
	f := newFilter(&out, "test", time.Now())
	scan(strings.NewReader(in), f.line)
	f.finish(nil)
	got := out.String()
	want := "    b_test.go:9: first line of the failure\n" +
		"    b_test.go:10: second line\n        with a continuation\n" +
		"--- FAIL: TestBad (0.02s)\n" +
		"ok  \t" + a + "\t0.1s\n" +
		"FAIL\n" +
		"FAIL\t" + b + "\t0.2s\n" +
		"not an event: passed through\n"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("output:\n%s\nwant it to start with:\n%s", got, want)
	}
	if strings.Contains(got, "chatter") || strings.Contains(got, "=== RUN") {
		t.Fatalf("a passing test's output or -v framing was shown:\n%s", got)
	}
	if !strings.Contains(got, "FAILED: 1 of 2 packages: "+b+" (TestBad)") {
		t.Fatalf("summary does not name the failure:\n%s", got)
	}
}

// A test binary that dies (a timeout panic) without its test reporting
// still shows that test's output when the package fails.
func TestFilterShowsUnfinishedTestsOfAFailedPackage(t *testing.T) {
	const p = "github.com/loyalty/cashback/p"
	in := events(t,
		event{Action: "start", Package: p},
		event{Action: "output", Package: p, Test: "TestSlow", Output: "    p_test.go:3: waiting\n"},
		event{Action: "output", Package: p, Test: "TestSlow", Output: "panic: test timed out after 1s\n"},
		event{Action: "output", Package: p, Output: "FAIL\t" + p + "\t1.0s\n"},
		event{Action: "fail", Package: p},
	)
	var out bytes.Buffer
	f := newFilter(&out, "test", time.Now())
	scan(strings.NewReader(in), f.line)
	got := out.String()
	want := "--- output of TestSlow, unfinished when the package failed:\n" +
		"    p_test.go:3: waiting\npanic: test timed out after 1s\n" +
		"FAIL\t" + p + "\t1.0s\n"
	if got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

// Build errors are shown as they come.
func TestFilterShowsBuildErrors(t *testing.T) {
	in := events(t,
		event{Action: "build-output", ImportPath: "x [x.test]", Output: "# x\n"},
		event{Action: "build-output", ImportPath: "x [x.test]", Output: "x_test.go:1:1: undefined: y\n"},
		event{Action: "build-fail", ImportPath: "x [x.test]"},
		event{Action: "output", Package: "x", Output: "FAIL\tx [build failed]\n"},
		event{Action: "fail", Package: "x"},
	)
	var out bytes.Buffer
	f := newFilter(&out, "test", time.Now())
	scan(strings.NewReader(in), f.line)
	if got := out.String(); got != "# x\nx_test.go:1:1: undefined: y\nFAIL\tx [build failed]\n" {
		t.Fatalf("output:\n%s", got)
	}
}

// The heartbeat says which test binaries run, for how long; nothing is
// printed while output keeps coming.
func TestHeartbeat(t *testing.T) {
	start := time.Now()
	var out bytes.Buffer
	f := newFilter(&out, "test", start)
	f.heartbeat(start.Add(10*time.Second), 30*time.Second)
	if out.Len() != 0 {
		t.Fatalf("heartbeat after 10 s of silence: %q", out.String())
	}
	f.event(event{Action: "start", Package: "github.com/loyalty/cashback/shared/api"}, start.Add(5*time.Second))
	f.event(event{Action: "skip", Package: "github.com/loyalty/cashback/bench"}, start)
	f.lastPrint = start
	f.heartbeat(start.Add(65*time.Second), 30*time.Second)
	if got, want := out.String(), "[test 1m05s] 1 packages done; running: shared/api 1m00s\n"; got != want {
		t.Fatalf("heartbeat %q, want %q", got, want)
	}
}

// Before its first event, go test -json is compiling: the heartbeat says so.
func TestRunSaysCompilingBeforeTheFirstEvent(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"sh", "-c", "sleep 1", "-json"}, "test", 300*time.Millisecond, &out, &errOut); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if !strings.Contains(out.String(), "] 0 packages done; compiling\n") {
		t.Fatalf("stdout:\n%s", out.String())
	}
}

// A real command: its lines pass through, a silent stretch gets heartbeat
// lines, and its exit status is returned.
func TestRunPassesStatusAndBeats(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"sh", "-c", "echo hello; echo oops >&2; sleep 1; exit 3"}, "step", 300*time.Millisecond, &out, &errOut)
	if code != 3 {
		t.Fatalf("exit status %d, want 3", code)
	}
	if !strings.HasPrefix(out.String(), "hello\n") || !strings.Contains(out.String(), "[step ") || !strings.Contains(out.String(), "still running") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	if errOut.String() != "oops\n" {
		t.Fatalf("stderr %q", errOut.String())
	}
}
