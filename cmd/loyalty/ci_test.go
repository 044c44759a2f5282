package main

// The CI entry point .ci/run is tested here because `go test ./...` skips
// dot directories and this is the package of the local toolbox. It runs
// with a PATH of stand-ins, so nothing is installed and no make target runs.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func fakeBin(t *testing.T, log string) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"dirname", "head", "sed"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	scripts := map[string]string{
		"java":    `echo 'openjdk version "17.0.15" 2025-04-15' >&2`,
		"npm":     `exit 0`,
		"node":    `case "$1" in -p) echo "$FAKE_NODE_MAJOR" ;; *) echo "v$FAKE_NODE_MAJOR.0.0" ;; esac`,
		"python3": `case "$*" in *ensurepip*) exit 1 ;; esac`, // python3 without python3-venv
		"go":      `echo "go version go1.26.8 linux/amd64"`,
		"make":    `echo "make $*" >> "` + log + `"`,
		"apt-get": `echo "apt-get $*" >> "` + log + `"`,
		// curl and git are missing
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runCI(t *testing.T, nodeMajor string) (log, output string, err error) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "calls.log")
	cmd := exec.Command("/bin/bash", filepath.Join("..", "..", ".ci", "run"))
	cmd.Env = []string{"PATH=" + fakeBin(t, logPath), "HOME=" + t.TempDir(), "CI=true", "FAKE_NODE_MAJOR=" + nodeMajor}
	out, err := cmd.CombinedOutput()
	b, _ := os.ReadFile(logPath)
	return string(b), string(out), err
}

// A machine without curl, git or python3-venv gets them from apt-get; a
// Node older than 18 stops the run with a message before any target.
func TestCIRunPrerequisites(t *testing.T) {
	log, out, err := runCI(t, "16")
	if err == nil {
		t.Fatalf(".ci/run went on with Node 16:\n%s\n%s", out, log)
	}
	if !strings.Contains(out, "Node.js 18 or newer is required, found v16.0.0") {
		t.Fatalf("no clear message about Node:\n%s", out)
	}
	if !strings.Contains(log, "apt-get install -y -qq python3-venv curl git\n") {
		t.Fatalf("apt-get calls:\n%s", log)
	}
	if strings.Contains(log, "make ") {
		t.Fatalf("a target ran with Node 16:\n%s", log)
	}

	log, out, err = runCI(t, "20")
	if err != nil {
		t.Fatalf(".ci/run with Node 20: %v\n%s", err, out)
	}
	if i := strings.Index(log, "make "); i < 0 || !strings.HasPrefix(log[i:], "make test\n") {
		t.Fatalf("make test is not the first target:\n%s", log)
	}
}
