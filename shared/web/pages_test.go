package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// page is a browser-less client of the pages: a cookie jar, no redirects
// hidden from the test.
type page struct {
	t    *testing.T
	e    *apitest.Env
	http *http.Client
}

func newPage(t *testing.T, e *apitest.Env) *page {
	jar, _ := cookiejar.New(nil)
	return &page{t: t, e: e, http: &http.Client{Jar: jar}}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (p *page) get(path string, h ...string) resp {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.e.Server.URL+path, nil)
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	return p.do(req)
}

func (p *page) post(path string, form url.Values) resp {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.e.Server.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.do(req)
}

func (p *page) do(req *http.Request) resp {
	p.t.Helper()
	res, err := p.http.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

var hiddenRe = regexp.MustCompile(`name="(state|csrf|formKey|member)" value="([^"]*)"`)

// hidden returns the value of a hidden field of the page.
func (r resp) hidden(t *testing.T, name string) string {
	t.Helper()
	for _, m := range hiddenRe.FindAllStringSubmatch(r.body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no hidden field %s in:\n%s", name, r.body)
	return ""
}
