package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Every domain code has its status; only internal_error and
// service_unavailable (the store throttling: retry) are 5xx.
func TestEveryCodeHasAStatus(t *testing.T) {
	for _, c := range loyalty.AllCodes {
		status, ok := statusOf[c]
		if !ok {
			t.Errorf("code %s has no HTTP status", c)
			continue
		}
		if status >= 500 && c != loyalty.CodeInternal && c != loyalty.CodeUnavailable {
			t.Errorf("code %s maps to %d", c, status)
		}
		if p := problemOf(&loyalty.Error{Code: c, Message: "m"}); p.Status != status || p.Code != string(c) || p.Title != http.StatusText(status) {
			t.Errorf("problem of %s: %+v", c, p)
		}
	}
}

// The health check answers 503 service_unavailable, a documented problem,
// when the store does not answer.
func TestHealthWhenStoreDown(t *testing.T) {
	h := New(Deps{Phones: func(s string) (string, error) { return s, nil },
		Ping: func(context.Context) error { return errors.New("connection refused") }})
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
