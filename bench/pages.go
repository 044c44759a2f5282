package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/loyalty/cashback/shared/app/pages"
)

// PageResult is one page's server time and weight: time to the first byte
// and to the last as a client on the same machine sees them, and the bytes
// a first visit transfers (the HTML and the stylesheet and script it links;
// the QR code is inline SVG in the HTML). API Gateway's HTTP API does not
// compress, so the raw bytes are what goes over the wire; gzip is shown for
// a CDN in front.
type PageResult struct {
	N           int     `json:"n"`
	TTFBP50ms   float64 `json:"ttfbP50ms"`
	TTFBP99ms   float64 `json:"ttfbP99ms"`
	TotalP50ms  float64 `json:"totalP50ms"`
	TotalP99ms  float64 `json:"totalP99ms"`
	HTMLBytes   int     `json:"htmlBytes"`
	AssetBytes  int     `json:"assetBytes"`
	FirstVisit  int     `json:"firstVisitBytes"`
	GzipBytes   int     `json:"firstVisitGzipBytes"`
	Target      string  `json:"target,omitempty"`
	MeetsTarget *bool   `json:"meetsTarget,omitempty"`
}

var (
	hiddenField = regexp.MustCompile(`name="(state|csrf)" value="([^"]*)"`)
	assetLink   = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
)

// measurePages renders each page n times: the enrollment page, the card page
// signed out and signed in (a member with history), the till signed in.
func (b *bench) measurePages(res *Results, n int) error {
	h, err := pages.Handler(b.app)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	anon := srv.Client()
	jar, _ := cookiejar.New(nil)
	member := &http.Client{Jar: jar}
	tillJar, _ := cookiejar.New(nil)
	till := &http.Client{Jar: tillJar}

	// Sign the member in on the card page, and a till in with the owner key.
	card := srv.URL + "/c/" + b.slug
	phone := "+79130000000"
	body, err := fetch(member, "GET", card, nil)
	if err != nil {
		return err
	}
	if body, err = fetch(member, "POST", card, url.Values{"state": {field(body, "state")}, "step": {"start"}, "phone": {phone}}); err != nil {
		return err
	}
	code, _ := b.codes.Code(phone)
	if _, err = fetch(member, "POST", card, url.Values{"state": {field(body, "state")}, "step": {"verify"}, "code": {code}}); err != nil {
		return err
	}
	if body, err = fetch(till, "GET", srv.URL+"/cashier", nil); err != nil {
		return err
	}
	if _, err = fetch(till, "POST", srv.URL+"/cashier", url.Values{"state": {field(body, "state")}, "action": {"signin"}, "key": {b.ownerKey}}); err != nil {
		return err
	}

	res.Pages = map[string]*PageResult{}
	for _, p := range []struct {
		name   string
		client *http.Client
		url    string
		want   string
	}{
		{"enrollment page", anon, srv.URL + "/j/" + b.slug, `autocomplete="tel"`},
		{"card page, signed out", anon, card, `autocomplete="tel"`},
		{"card page, signed in", member, card, `id="balance-available"`},
		{"till, signed in", till, srv.URL + "/cashier", `name="q"`},
	} {
		r, err := measurePage(p.client, p.url, p.want, n)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if p.name == "enrollment page" {
			ok := r.FirstVisit <= 30*1024 && r.TTFBP50ms <= 20
			r.Target, r.MeetsTarget = "≤ 30 KB before the QR image, first byte ≤ 20 ms", &ok
		}
		res.Pages[p.name] = r
		fmt.Printf("%-24s ttfb p50 %6.2f ms p99 %6.2f ms  html %6d B  first visit %6d B (gzip %5d B)\n",
			p.name, r.TTFBP50ms, r.TTFBP99ms, r.HTMLBytes, r.FirstVisit, r.GzipBytes)
	}
	return nil
}

func measurePage(c *http.Client, pageURL, want string, n int) (*PageResult, error) {
	var ttfb, total []time.Duration
	var html string
	for i := 0; i < n; i++ {
		var first time.Time
		req, _ := http.NewRequest("GET", pageURL, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}))
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		total = append(total, time.Since(start))
		ttfb = append(ttfb, first.Sub(start))
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			return nil, fmt.Errorf("GET %s: %d without %s", pageURL, resp.StatusCode, want)
		}
		html = string(b)
	}
	r := &PageResult{N: n, HTMLBytes: len(html)}
	r.TTFBP50ms, r.TTFBP99ms = percentile(ttfb, 50), percentile(ttfb, 99)
	r.TotalP50ms, r.TotalP99ms = percentile(total, 50), percentile(total, 99)
	all := []byte(html)
	base := pageURL[:strings.Index(pageURL[len("http://"):], "/")+len("http://")]
	for _, m := range assetLink.FindAllStringSubmatch(html, -1) {
		a, err := fetch(c, "GET", base+m[1], nil)
		if err != nil {
			return nil, err
		}
		r.AssetBytes += len(a)
		all = append(all, a...)
	}
	r.FirstVisit = len(all)
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write([]byte(html))
	_ = w.Close()
	r.GzipBytes = z.Len()
	for _, m := range assetLink.FindAllStringSubmatch(html, -1) {
		a, _ := fetch(c, "GET", base+m[1], nil)
		z.Reset()
		w := gzip.NewWriter(&z)
		_, _ = w.Write([]byte(a))
		_ = w.Close()
		r.GzipBytes += z.Len()
	}
	return r, nil
}

func percentile(d []time.Duration, p int) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s) - 1) * p / 100
	return float64(s[i].Microseconds()) / 1000
}

func fetch(c *http.Client, method, u string, form url.Values) (string, error) {
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("%s %s: %d", method, u, resp.StatusCode)
	}
	return string(b), err
}

func field(body, name string) string {
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}
