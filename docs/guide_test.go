// Package docs holds the integrator's guide; its test runs the guide.
package docs_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// exchange is one request of the guide and the response it shows.
type exchange struct {
	line     int // of the request block, for messages
	request  string
	response string
}

// TestIntegrationGuide sends every request of docs/integration.md, in the
// guide's order, to the real handlers over DynamoDB Local, and checks each
// response against the one the guide shows: the status, the headers shown,
// and every field shown ("…" matches any value, null an absent field; "{{name}}" captures a value
// that later requests use as {{name}}). Fields the guide leaves out are not
// checked. {{apiKey}} is the tenant owner's key and {{code}} the last
// one-time code sent by SMS: the two things an integrator gets from outside
// the API. Every response is also validated against the OpenAPI document.
func TestIntegrationGuide(t *testing.T) {
	exchanges := parseGuide(t, "integration.md")
	if len(exchanges) < 10 {
		t.Fatalf("the guide has %d requests; expected the whole walk-through", len(exchanges))
	}
	e := apitest.New(t, apitest.Options{NoProgram: true})
	vars := map[string]string{"apiKey": e.APIKey}
	for _, x := range exchanges {
		if n := len(e.Sender.Sent); n > 0 {
			vars["code"] = codeIn(e.Sender.Sent[n-1].Body)
		}
		method, path, headers, body := parseRequest(t, x, substitute(x.request, vars))
		if _, ok := headers["Authorization"]; !ok {
			headers["Authorization"] = "" // the guide sends no key: neither do we
		}
		if _, ok := headers["Content-Type"]; !ok || body == "" {
			headers["Content-Type"] = "application/json" // a CSV import shows its own type
		}
		var b any
		if body != "" {
			b = body
		}
		resp := e.Do(method, path, b, headers)
		if os.Getenv("GUIDE_PRINT") != "" {
			fmt.Printf("line %d: %s %s → %d %v\n%s\n\n", x.line, method, path, resp.Status, resp.Header, resp.Body)
		}
		checkResponse(t, x, resp, vars)
	}
}

var fence = regexp.MustCompile("^```(\\w*)\\s*$")

func parseGuide(t *testing.T, file string) []exchange {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exchange
	var block []string
	inBlock, isHTTP, start := false, false, 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := fence.FindStringSubmatch(line)
		switch {
		case m != nil && !inBlock:
			inBlock, isHTTP, start, block = true, m[1] == "http", n, nil
		case m != nil && inBlock:
			inBlock = false
			if !isHTTP {
				continue
			}
			text := strings.Join(block, "\n")
			if strings.HasPrefix(text, "HTTP/") {
				if len(out) == 0 || out[len(out)-1].response != "" {
					t.Fatalf("integration.md:%d: a response without its request", start)
				}
				out[len(out)-1].response = text
			} else {
				out = append(out, exchange{line: start, request: text})
			}
		case inBlock:
			block = append(block, line)
		}
	}
	for _, x := range out {
		if x.response == "" {
			t.Fatalf("integration.md:%d: a request without the response it gets", x.line)
		}
	}
	return out
}

// splitMessage splits an HTTP message into its first line, headers and body.
func splitMessage(text string) (first string, headers map[string]string, body string) {
	head, body, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")
	headers = map[string]string{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return lines[0], headers, strings.TrimSpace(body)
}

func parseRequest(t *testing.T, x exchange, text string) (method, path string, headers map[string]string, body string) {
	t.Helper()
	first, headers, body := splitMessage(text)
	parts := strings.Fields(first)
	if len(parts) < 2 {
		t.Fatalf("integration.md:%d: request line %q", x.line, first)
	}
	delete(headers, "Host")
	return parts[0], parts[1], headers, body
}

var varRe = regexp.MustCompile(`\{\{(\w+)\}\}`)

func substitute(s string, vars map[string]string) string {
	return varRe.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := vars[m[2:len(m)-2]]; ok {
			return v
		}
		return m
	})
}

var codeRe = regexp.MustCompile(`\b\d{4,10}\b`)

func codeIn(sms string) string { return codeRe.FindString(sms) }

func checkResponse(t *testing.T, x exchange, resp *apitest.Response, vars map[string]string) {
	t.Helper()
	first, headers, body := splitMessage(x.response)
	parts := strings.Fields(first)
	want, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("integration.md:%d: status line %q", x.line, first)
	}
	if resp.Status != want {
		t.Fatalf("integration.md:%d: status %d, the guide shows %d; body %s", x.line, resp.Status, want, resp.Body)
	}
	for k, v := range headers {
		if !matchString(v, resp.Header.Get(k), vars) {
			t.Fatalf("integration.md:%d: header %s is %q, the guide shows %q", x.line, k, resp.Header.Get(k), v)
		}
	}
	if body == "" {
		return
	}
	var wantBody, got any
	if err := json.Unmarshal([]byte(body), &wantBody); err != nil {
		t.Fatalf("integration.md:%d: the response shown is not JSON: %v", x.line, err)
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatalf("integration.md:%d: the response is not JSON: %v", x.line, err)
	}
	if where := match(wantBody, got, "", vars); where != "" {
		t.Fatalf("integration.md:%d: response differs from the guide at %s\ngot: %s", x.line, where, resp.Body)
	}
}

// match reports where got differs from want ("" when it does not).
func match(want, got any, at string, vars map[string]string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return at + " (not an object)"
		}
		for k, wv := range w {
			k = substitute(k, vars) // a key may be a captured id: {"{{promotionId}}": 1}
			gv, ok := g[k]
			if wv == nil { // shown as null: absent (or null)
				if gv != nil {
					return at + "." + k + " (present, the guide shows it absent)"
				}
				continue
			}
			if !ok {
				return at + "." + k + " (missing)"
			}
			if where := match(wv, gv, at+"."+k, vars); where != "" {
				return where
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s (want %d elements)", at, len(w))
		}
		for i := range w {
			if where := match(w[i], g[i], fmt.Sprintf("%s[%d]", at, i), vars); where != "" {
				return where
			}
		}
	case string:
		gs := fmt.Sprint(got)
		if !matchString(w, gs, vars) {
			return fmt.Sprintf("%s (%q, want %q)", at, gs, w)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Sprintf("%s (%v, want %v)", at, got, want)
		}
	}
	return ""
}

// matchString compares a shown string with a real one: "…" matches
// anything; a whole "{{name}}" captures the value the first time and must
// equal it afterwards; other text must be equal after substitution.
func matchString(want, got string, vars map[string]string) bool {
	if want == "…" {
		return true
	}
	if m := varRe.FindStringSubmatch(want); m != nil && m[0] == want {
		if v, ok := vars[m[1]]; ok {
			return v == got
		}
		vars[m[1]] = got
		return true
	}
	return substitute(want, vars) == got
}

var tableRow = regexp.MustCompile("^\\| (\\d{3}) \\| `([a-z_]+)` \\|")

// The guide's table of errors lists every code the API answers with, once,
// at its status: a new code cannot ship without telling integrators what
// to do about it.
func TestGuideListsEveryErrorCode(t *testing.T) {
	b, err := os.ReadFile("integration.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := tableRow.FindStringSubmatch(line); m != nil {
			if _, dup := listed[m[2]]; dup {
				t.Errorf("code %s is listed twice", m[2])
			}
			listed[m[2]], _ = strconv.Atoi(m[1])
		}
	}
	for _, c := range api.AllCodes() {
		st, ok := listed[c]
		switch {
		case !ok:
			t.Errorf("code %s is missing from the guide's table", c)
		case st != api.StatusOf(c):
			t.Errorf("code %s is listed at %d; the API answers it with %d", c, st, api.StatusOf(c))
		}
		delete(listed, c)
	}
	for c := range listed {
		t.Errorf("the guide lists %s, which the API does not have", c)
	}
}
