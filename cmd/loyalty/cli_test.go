package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyalty/cashback/client"
	"github.com/loyalty/cashback/shared/layout"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/store"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var tables atomic.Int64

// cliEnv runs the commands in-process against the test emulator, with a
// table, data dir and run dir of their own. The environment is the CLI's
// input, so these tests do not run in parallel.
type cliEnv struct {
	t       *testing.T
	dataDir string
	runDir  string
	table   string
}

func newCLI(t *testing.T) *cliEnv {
	t.Helper()
	c := &cliEnv{t: t, dataDir: t.TempDir(), runDir: t.TempDir(), table: fmt.Sprintf("cli%d", tables.Add(1))}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", storetest.Endpoint(t))
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv(layout.EnvTable, c.table)
	t.Setenv(layout.EnvNotifier, "")
	t.Setenv(layout.EnvOTPSecret, "cli-test-secret-cli-test-secret-0123")
	t.Setenv(envDataDir, c.dataDir)
	t.Setenv(envRunDir, c.runDir)
	t.Setenv(envDemoPlan, "")
	t.Setenv(envPort, "0")
	return c
}

// syncBuffer is written by a running command while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (c *cliEnv) runCtx(ctx context.Context, stdout, stderr *syncBuffer, args ...string) error {
	root := newRoot()
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// run runs one command to its end; err is what makes main exit 1.
func (c *cliEnv) run(args ...string) (stdout, stderr string, err error) {
	var o, e syncBuffer
	err = c.runCtx(context.Background(), &o, &e, args...)
	return o.String(), e.String(), err
}

func (c *cliEnv) mustRun(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("loyalty %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func (c *cliEnv) newTenant(plan string) string {
	c.t.Helper()
	var t loyalty.NewTenantResult
	if err := json.Unmarshal([]byte(c.mustRun("tenant", "create", "--name", "Shop", "--plan", plan)), &t); err != nil || t.TenantID == "" {
		c.t.Fatalf("tenant create: %v", err)
	}
	return t.TenantID
}

func (c *cliEnv) store() *store.Store {
	return store.New(storetest.Client(c.t), c.table)
}

func (c *cliEnv) write(name, content string) string {
	c.t.Helper()
	p := filepath.Join(c.t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A failed row makes the import exit non-zero, and --report always leaves a
// report: header only when every row went in.
func TestMembersImportExitAndReport(t *testing.T) {
	c := newCLI(t)
	tenant := c.newTenant("payg")
	report := filepath.Join(t.TempDir(), "report.csv")

	good := c.write("good.csv", "phone,name,points\n+79120000001,Ann,1.50\n+79120000002,Bob,\n")
	out, errOut, err := c.run("members", "import", "--tenant", tenant, "--file", good, "--report", report)
	if err != nil || !strings.Contains(out, "imported 2") {
		t.Fatalf("good file: %v\n%s%s", err, out, errOut)
	}
	if got := readFile(t, report); got != "line,reason\n" {
		t.Fatalf("report of a clean import: %q", got)
	}

	bad := c.write("bad.csv", "phone,name,points\n+79120000003,Cid,2\n+79120000004,Dan,12.345\n")
	out, _, err = c.run("members", "import", "--tenant", tenant, "--file", bad, "--report", report)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 rows failed") {
		t.Fatalf("a failed row exits 0: %v\n%s", err, out)
	}
	if !strings.Contains(out, "imported 1") || !strings.Contains(out, "failed 1") {
		t.Fatalf("summary: %s", out)
	}
	if got := readFile(t, report); !strings.HasPrefix(got, "line,reason\n3,") || !strings.Contains(got, "at most 2 decimals") {
		t.Fatalf("report: %q", got)
	}

	// The same file again: the good row is already a member (not a
	// failure), the bad one still fails.
	if out, _, err := c.run("members", "import", "--tenant", tenant, "--file", bad); err == nil || !strings.Contains(out, "already members 1") {
		t.Fatalf("re-run: %v %s", err, out)
	}

	// A file the importer cannot read as a whole fails before any row.
	legacy := c.write("legacy.csv", "memberId,card,phone,name,status,tier,available,pending,held,createdAt\nm_1,,+79120000005,Eve,active,,5.00,0.00,0.00,2026-01-01T00:00:00Z\n")
	if _, _, err := c.run("members", "import", "--tenant", tenant, "--file", legacy); err == nil || !strings.Contains(err.Error(), `unknown column "memberId"`) {
		t.Fatalf("legacy header: %v", err)
	}
	if _, _, err := c.run("members", "import", "--tenant", "t_nope", "--file", good); err == nil || !strings.Contains(err.Error(), "t_nope not found") {
		t.Fatalf("unknown tenant: %v", err)
	}
}

func sortedRows(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines[1:])
	return strings.Join(lines, "\n")
}

// Export from tenant A, import into tenant B, export B: the same rows and
// balances, through the commands a business runs.
func TestMembersExportImportRoundTrip(t *testing.T) {
	c := newCLI(t)
	a, b := c.newTenant("payg"), c.newTenant("payg")
	seed := c.write("seed.csv", "phone,card,name,email,status,points\n"+
		"8 912 345-67-89,,Ann,ann@example.com,active,12.50\n"+
		"+79120000002,,\"Smith, Bob\",,blocked,0.07\n"+
		"+79120000003,,Cid,,,250\n")
	c.mustRun("members", "import", "--tenant", a, "--file", seed)
	fromA := c.mustRun("members", "export", "--tenant", a)
	if !strings.HasPrefix(fromA, "phone,card,name,email,status,points,pending,held\n") || !strings.Contains(fromA, ",12.50,") || !strings.Contains(fromA, "ann@example.com") {
		t.Fatalf("export of A:\n%s", fromA)
	}
	file := c.write("a.csv", fromA)
	c.mustRun("members", "import", "--tenant", b, "--file", file)
	fromB := c.mustRun("members", "export", "--tenant", b)
	if sortedRows(fromA) != sortedRows(fromB) {
		t.Fatalf("A:\n%s\nB:\n%s", fromA, fromB)
	}
	if _, _, err := c.run("members", "export", "--tenant", "t_nope"); err == nil {
		t.Fatal("export of an unknown tenant succeeds")
	}
}

// Arguments that cannot name anything are refused instead of producing an
// empty, successful answer.
func TestUsageAndLedgerRefuseWhatDoesNotExist(t *testing.T) {
	c := newCLI(t)
	tenant := c.newTenant("free")
	for _, m := range []string{"2026-13", "2026-00", "2026-1", "26-11", "november"} {
		if _, _, err := c.run("usage", "export", "--month", m); err == nil || !strings.Contains(err.Error(), "YYYY-MM") {
			t.Fatalf("--month %s: %v", m, err)
		}
	}
	if out := c.mustRun("usage", "export", "--month", "2026-11"); !strings.HasPrefix(out, "tenantId,plan,month,kind,count\n") {
		t.Fatalf("usage export: %q", out)
	}
	if _, _, err := c.run("ledger", "verify", "--tenant", "t_nope"); err == nil || !strings.Contains(err.Error(), "t_nope not found") {
		t.Fatalf("ledger verify of an unknown tenant: %v", err)
	}
	if _, _, err := c.run("ledger", "verify", "--member", "m_1"); err == nil || !strings.Contains(err.Error(), "--tenant") {
		t.Fatalf("ledger verify --member without --tenant: %v", err)
	}
	if out := c.mustRun("ledger", "verify", "--tenant", tenant); !strings.Contains(out, "verified 0 members, 0 mismatches") {
		t.Fatalf("ledger verify: %q", out)
	}
}

// outbox last reads the outbox file make run writes as well as the table,
// and shows the newest message of both.
func TestOutboxLastReadsFileAndTable(t *testing.T) {
	c := newCLI(t)
	c.mustRun("tenant", "create", "--name", "Shop") // creates the table
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var file strings.Builder
	for _, m := range []loyalty.Message{
		{To: "+79123456789", Channel: "sms", Body: "1111 file old", SentAt: t0},
		{To: "+79123456789", Channel: "sms", Body: "3333 file new", SentAt: t0.Add(2 * time.Minute)},
		{To: "+79990000000", Channel: "sms", Body: "9999 someone else", SentAt: t0.Add(5 * time.Minute)},
	} {
		b, _ := json.Marshal(m)
		file.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(c.dataDir, "outbox.jsonl"), []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	table := store.TableOutbox{Store: c.store()}
	send := func(body string, at time.Time) {
		if err := table.Send(context.Background(), loyalty.Message{To: "+79123456789", Channel: "sms", Body: body, SentAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	last := func(to string) loyalty.Message {
		t.Helper()
		var m loyalty.Message
		if err := json.Unmarshal([]byte(c.mustRun("outbox", "last", "--to", to)), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	send("2222 table mid", t0.Add(time.Minute))
	if m := last("8 912 345-67-89"); m.Body != "3333 file new" {
		t.Fatalf("newest of file and table: %+v", m)
	}
	send("4444 table newest", t0.Add(3*time.Minute))
	if m := last("+7 912 345 67 89"); m.Body != "4444 table newest" {
		t.Fatalf("newest of file and table: %+v", m)
	}
	if _, _, err := c.run("outbox", "last", "--to", "+79111111111"); err == nil || !strings.Contains(err.Error(), "outbox.jsonl") {
		t.Fatalf("no message: %v", err)
	}
}

// serve prints where the owner key is, never the key; its demo tenant is
// pay-as-you-go unless LOYALTY_DEMO_PLAN says free; it records itself so
// that tools on its data dir use its store and a second serve refuses to
// open the same files.
func TestServe(t *testing.T) {
	c := newCLI(t)
	ctx, stop := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- c.runCtx(ctx, &out, &errOut, "serve", "--sweep-every", "1h") }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "serving on") {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s%s", err, out.String(), errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s%s", out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var creds Credentials
	credPath := filepath.Join(c.dataDir, "credentials.json")
	if err := json.Unmarshal([]byte(readFile(t, credPath)), &creds); err != nil || creds.APIKey == "" {
		t.Fatalf("credentials: %v", err)
	}
	if strings.Contains(out.String(), creds.APIKey) || strings.Contains(errOut.String(), creds.APIKey) {
		t.Fatalf("serve printed the owner API key:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "owner API key in "+credPath) {
		t.Fatalf("serve does not say where the key is:\n%s", out.String())
	}
	tenant, err := c.store().GetTenant(context.Background(), creds.TenantID)
	if err != nil || tenant.Plan != loyalty.PlanPAYG || creds.Plan != loyalty.PlanPAYG {
		t.Fatalf("demo tenant: %+v %v", tenant, err)
	}
	if tenant.CurrentProgram == nil || tenant.CurrentProgram.ID != creds.ProgramID || creds.ProgramID == "" {
		t.Fatalf("credentials name program %q, the tenant runs %+v", creds.ProgramID, tenant.CurrentProgram)
	}

	checkLocalWebhooks(t, creds)

	// A tool on the same data dir, without an endpoint of its own, uses
	// the server's store and says so.
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	t.Setenv(layout.EnvTable, "")
	_, notes, err := c.run("ledger", "verify", "--tenant", creds.TenantID)
	if err != nil || !strings.Contains(notes, fmt.Sprintf("store: the running server's (pid %d", os.Getpid())) || !strings.Contains(notes, "table "+c.table) {
		t.Fatalf("tool next to serve: %v\n%s", err, notes)
	}
	if _, _, err := c.run("serve"); err == nil || !strings.Contains(err.Error(), "already serves data dir") {
		t.Fatalf("a second serve on the same data dir: %v", err)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(c.runDir, "*")); len(left) != 0 {
		t.Fatalf("serve left its record: %v", left)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", storetest.Endpoint(t))
	t.Setenv(layout.EnvTable, c.table)

	serveOnce := func() (string, error) {
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		var out, errOut syncBuffer
		done := make(chan error, 1)
		go func() { done <- c.runCtx(ctx, &out, &errOut, "serve", "--sweep-every", "1h") }()
		for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "serving on") && time.Now().Before(deadline); {
			select {
			case err := <-done:
				return out.String(), err
			case <-time.After(50 * time.Millisecond):
			}
		}
		stop()
		return out.String(), <-done
	}
	// Asked for free on the same data dir: the existing tenant stays, and
	// serve says how to get a new one.
	t.Setenv(envDemoPlan, "free")
	if out, err := serveOnce(); err != nil || !strings.Contains(out, "created on the payg plan") {
		t.Fatalf("serve with another plan: %v\n%s", err, out)
	}
	// A fresh data dir gets a free demo tenant.
	t.Setenv(envDataDir, t.TempDir())
	if _, err := serveOnce(); err != nil {
		t.Fatal(err)
	}
	var free Credentials
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(os.Getenv(envDataDir), "credentials.json"))), &free); err != nil {
		t.Fatal(err)
	}
	if tn, err := c.store().GetTenant(context.Background(), free.TenantID); err != nil || tn.Plan != loyalty.PlanFree {
		t.Fatalf("LOYALTY_DEMO_PLAN=free: %+v %v", tn, err)
	}
	t.Setenv(envDemoPlan, "gold")
	if _, err := serveOnce(); err == nil || !strings.Contains(err.Error(), envDemoPlan) {
		t.Fatalf("LOYALTY_DEMO_PLAN=gold: %v", err)
	}
}

// checkLocalWebhooks registers a plain-http loopback receiver with the
// local server (refused in the cloud) and has it sent a test event, signed
// with the secret the server generated its sealing key for.
func checkLocalWebhooks(t *testing.T, creds Credentials) {
	t.Helper()
	var got atomic.Int64
	var secret atomic.Value
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s, _ := secret.Load().(string)
		if err := client.VerifyWebhook(r.Header, body, time.Now(), s); err != nil {
			t.Errorf("test delivery: %v", err)
			w.WriteHeader(400)
			return
		}
		got.Add(1)
		w.WriteHeader(204)
	}))
	defer rcv.Close()
	call := func(path string, body any) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", creds.BaseURL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+creds.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	created := call("/v1/webhooks", map[string]any{"url": rcv.URL + "/hooks"})
	secret.Store(created["secret"].(string))
	res := call("/v1/webhooks/"+created["webhookId"].(string)+"/test", nil)
	if res["delivered"] != true || got.Load() != 1 {
		t.Fatalf("local test delivery: %v (%d received)", res, got.Load())
	}
}

// With no server on its data dir a tool starts its own emulator there, says
// so, and warns about a server running on another data dir; records of dead
// servers are ignored and removed.
func TestToolWarnsAboutServerElsewhere(t *testing.T) {
	c := newCLI(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	other := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]serverRecord{
		"live.json": {PID: os.Getpid(), DataDir: other, BaseURL: "http://127.0.0.1:18080", Endpoint: "http://127.0.0.1:1", Table: "loyalty"},
		"dead.json": {PID: dead.ProcessState.Pid(), DataDir: c.dataDir, BaseURL: "http://127.0.0.1:18081", Endpoint: "http://127.0.0.1:1", Table: "loyalty"},
	} {
		b, _ := json.Marshal(r)
		if err := os.WriteFile(filepath.Join(c.runDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, notes, err := c.run("tenant", "create", "--name", "Shop")
	if err != nil || !strings.Contains(out, "tenantId") {
		t.Fatalf("tenant create: %v\n%s%s", err, out, notes)
	}
	if !strings.Contains(notes, "store: own DynamoDB Local on "+filepath.Join(c.dataDir, "dynamodb")) {
		t.Fatalf("the tool does not say which store it uses:\n%s", notes)
	}
	if !strings.Contains(notes, "warning: a server (pid") || !strings.Contains(notes, "runs on data dir "+other) || !strings.Contains(notes, envDataDir+"="+other) {
		t.Fatalf("no warning about the server on %s:\n%s", other, notes)
	}
	if _, err := os.Stat(filepath.Join(c.runDir, "dead.json")); !os.IsNotExist(err) {
		t.Fatalf("the dead server's record is still there: %v", err)
	}
}
