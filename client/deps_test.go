package client

import (
	"os/exec"
	"strings"
	"testing"
)

// A shop that builds this client must get the standard library and nothing
// else: not huma, not the AWS SDK, not the service's own packages (the
// review finding of issue 17 was the client importing shared/api and with it
// huma). go list sees the whole import graph, however indirect; test files
// are not part of it, so the tests here may use the server freely.
func TestClientDependsOnTheStandardLibraryOnly(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	self := "github.com/loyalty/cashback/client"
	var foreign []string
	for _, p := range strings.Fields(string(out)) {
		if p != self {
			foreign = append(foreign, p)
		}
	}
	if len(foreign) > 0 {
		t.Errorf("package client depends on packages outside the standard library:\n%s", strings.Join(foreign, "\n"))
	}
	if !strings.Contains(string(out), self) {
		t.Errorf("go list did not list the client itself; output:\n%s", out)
	}
}
