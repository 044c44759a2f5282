package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// codeDecl is where a code constant is declared; domain: in package loyalty.
type codeDecl struct {
	where  string
	domain bool
}

// declaredCodes reads, from the source, every constant of type Code in the
// domain package and of type loyalty.Code in this one (the codes only the
// HTTP layer produces): the source is the list, so a code added there is
// checked here without anyone adding it to a list.
func declaredCodes(t *testing.T) map[loyalty.Code]codeDecl {
	t.Helper()
	codes := map[loyalty.Code]codeDecl{}
	isCode := func(e ast.Expr, dir string) bool {
		switch x := e.(type) {
		case *ast.Ident: // Code, inside the domain package
			return dir == "../loyalty" && x.Name == "Code"
		case *ast.SelectorExpr: // loyalty.Code, here
			pkg, ok := x.X.(*ast.Ident)
			return ok && pkg.Name == "loyalty" && x.Sel.Name == "Code"
		}
		return false
	}
	for _, dir := range []string{"../loyalty", "."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		fset := token.NewFileSet()
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				gd, ok := d.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						var val ast.Expr
						if i < len(vs.Values) {
							val = vs.Values[i]
						}
						// Code("x") without a declared type is a code too.
						if call, ok := val.(*ast.CallExpr); ok && len(call.Args) == 1 && isCode(call.Fun, dir) {
							val = call.Args[0]
						} else if vs.Type == nil || !isCode(vs.Type, dir) {
							continue
						}
						lit, ok := val.(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							t.Fatalf("%s: code %s is not a string literal; teach this test to read it", fset.Position(name.Pos()), name.Name)
						}
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						decl := codeDecl{where: fmt.Sprintf("%s (%s)", name.Name, fset.Position(name.Pos())), domain: dir == "../loyalty"}
						if prev, dup := codes[loyalty.Code(v)]; dup {
							t.Errorf("code %q declared twice: %s and %s", v, prev.where, decl.where)
						}
						codes[loyalty.Code(v)] = decl
					}
				}
			}
		}
	}
	// The reader found both kinds: a parse that finds nothing must not pass.
	for _, c := range []loyalty.Code{loyalty.CodeInternal, loyalty.CodeInsufficientPoints, codeBodyTooLarge} {
		if _, ok := codes[c]; !ok {
			t.Fatalf("the source reader missed code %s; it found %v", c, codes)
		}
	}
	return codes
}

// Every code declared in the source has its status; only internal_error and
// service_unavailable (the store throttling: retry) are 5xx. The status
// table has no code the source does not declare, and loyalty.AllCodes (the
// domain's published list) is exactly the domain's declared codes.
func TestEveryCodeHasAStatus(t *testing.T) {
	declared := declaredCodes(t)
	for c, d := range declared {
		where := d.where
		status, ok := statusOf[c]
		if !ok {
			t.Errorf("code %s has no HTTP status in statusOf", where)
			continue
		}
		if status >= 500 && c != loyalty.CodeInternal && c != loyalty.CodeUnavailable {
			t.Errorf("code %s maps to %d", where, status)
		}
		if p := problemOf(&loyalty.Error{Code: c, Message: "m"}); p.Status != status || p.Code != string(c) || p.Title != http.StatusText(status) {
			t.Errorf("problem of %s: %+v", where, p)
		}
	}
	for c := range statusOf {
		if _, ok := declared[c]; !ok {
			t.Errorf("statusOf maps %q, which no constant declares", c)
		}
	}
	listed := map[loyalty.Code]bool{}
	for _, c := range loyalty.AllCodes {
		listed[c] = true
		if !declared[c].domain {
			t.Errorf("loyalty.AllCodes lists %q, which the domain does not declare", c)
		}
	}
	for c, d := range declared {
		if d.domain && !listed[c] {
			t.Errorf("code %s is missing from loyalty.AllCodes", d.where)
		}
	}
}

// The health check answers 503 service_unavailable, a documented problem,
// when the store does not answer.
func TestHealthWhenStoreDown(t *testing.T) {
	h := New(Deps{Phones: func(s string) (string, error) { return s, nil },
		Ping: func(context.Context) error { return errors.New("connection refused") }}, AdminFunction)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 503 || p.Code != "service_unavailable" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
}

// Details reach the problem, a zero count included (0 points available is
// an answer, not an absence).
func TestProblemCarriesDetails(t *testing.T) {
	zero, left := loyalty.Points(0), 2
	p := problemOf(&loyalty.Error{Code: loyalty.CodeInsufficientPoints, Message: "m",
		Details: loyalty.Details{Available: &zero, AttemptsLeft: &left, Limit: "staff"}})
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["available"] != 0.0 || m["attemptsLeft"] != 2.0 || m["limit"] != "staff" {
		t.Fatalf("details lost: %s", b)
	}
	if _, ok := m["refundable"]; ok {
		t.Fatalf("an absent detail was written: %s", b)
	}
}

// A refusal by a sending limit names the limit, which the document's enum
// of `limit` lists, and carries Retry-After in whole seconds (rounded up)
// as a header, not in the body.
func TestTooManyRequestsProblem(t *testing.T) {
	f, _ := reflect.TypeFor[Problem]().FieldByName("Limit")
	enum := strings.Split(f.Tag.Get("enum"), ",")
	for _, name := range loyalty.SendLimitNames {
		if !slices.Contains(enum, name) {
			t.Errorf("limit %s is not in the enum of Problem.limit", name)
		}
	}
	p := problemOf(loyalty.TooManyRequests(loyalty.LimitPhone, 1500*time.Millisecond))
	if p.Status != 429 || p.Code != "too_many_requests" || p.Limit != "phone" || p.GetHeaders().Get("Retry-After") != "2" {
		t.Fatalf("problem %+v, headers %v", p, p.GetHeaders())
	}
	if b, _ := json.Marshal(p); strings.Contains(strings.ToLower(string(b)), "retry") {
		t.Fatalf("Retry-After in the body: %s", b)
	}
	if h := problemOf(loyalty.ErrConflict).GetHeaders(); len(h) != 0 {
		t.Fatalf("headers on another problem: %v", h)
	}
}

// A write the store throttled answers 503 with Retry-After, so a till
// backs off before retrying with the same key.
func TestThrottledWriteSaysWhenToRetry(t *testing.T) {
	p := problemOf(loyalty.ErrUnavailable)
	if p.Status != http.StatusServiceUnavailable || p.GetHeaders().Get("Retry-After") != "1" {
		t.Fatalf("throttled write: status %d, headers %v", p.Status, p.GetHeaders())
	}
}
