package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/web"
)

// The reports section over HTTP: the liability and the activity as the
// reports API answers them, laid out in both languages; the CSV through
// the session is the API's own; a bad period is refused next to its field
// with the rest of the page as it was.
func TestConsoleReports(t *testing.T) {
	e := apitest.New(t)
	m := e.Enroll("+79120004455")
	e.Close("reports-1", m.ID, 200000).Want(200) // 5 % of 2 000.00: 100 points
	e.Drain()
	var liability struct {
		Outstanding int64 `json:"outstanding"`
	}
	e.Do("GET", "/v1/reports/liability", nil, nil).Want(200).Decode(&liability)
	if liability.Outstanding == 0 || liability.Outstanding != int64(e.Balance(m.ID).Available) {
		t.Fatalf("the API's liability %d, the balance %d", liability.Outstanding, e.Balance(m.ID).Available)
	}
	p := newPage(t, e)
	consoleSignIn(t, p, e.APIKey)

	t.Run("the page shows the API's numbers in both languages", func(t *testing.T) {
		for _, lang := range []string{"ru", "en"} {
			r := p.get("/console/reports?lang=" + lang)
			if r.status != 200 {
				t.Fatalf("%s: %d %.300s", lang, r.status, r.body)
			}
			if k := unresolved.FindString(r.body); k != "" {
				t.Errorf("%s: message %s has no text", lang, k)
			}
			for _, want := range []string{
				`<a href="/console/reports?lang=` + lang + `" aria-current="page">`,
				`id="liability-outstanding">` + web.FormatHundredths(lang, liability.Outstanding) + `<`,
				`<svg id="expiry-chart" class="barchart" viewBox="0 0 640 260" role="img" aria-label="` + web.TFor(lang, "console.reports.expiryChart") + `"`,
				`<table id="expiry">`,
				`<svg id="activity-chart"`,
				`<table id="activity">`,
				// The default period: the last 30 days, by day.
				`id="from" name="from" type="date" required value="2026-01-31"`,
				`href="/console/reports/activity.csv?from=2026-01-31&amp;groupBy=day&amp;lang=` + lang + `&amp;to=2026-03-01"`,
				`<td data-label="` + web.TFor(lang, "console.reports.accrued") + `" class="num">` + web.FormatHundredths(lang, liability.Outstanding) + `</td>`,
			} {
				if !strings.Contains(r.body, want) {
					t.Errorf("%s: no %s in %s", lang, want, r.body)
				}
			}
			if strings.Contains(r.body, " style=") || strings.Contains(r.body, "<script>") ||
				strings.Contains(r.header.Get("Content-Security-Policy"), "unsafe-inline") {
				t.Errorf("%s: inline style or script", lang)
			}
		}
	})

	t.Run("the CSV is the API's report, through the session", func(t *testing.T) {
		q := "?from=2026-02-01&to=2026-03-01&groupBy=day"
		r := p.get("/console/reports/activity.csv" + q)
		if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			r.header.Get("Content-Disposition") != `attachment; filename="activity-2026-02-01-2026-03-01-day.csv"` {
			t.Fatalf("csv: %d %v %.200s", r.status, r.header, r.body)
		}
		head, rest, _ := strings.Cut(r.body, "\n")
		if head != "day,accrued,redeemed,expired,refundedAccrual,refundedPoints,refundedMoney,adjusted,ordersClosed,sales,newMembers" {
			t.Errorf("header line %q", head)
		}
		if !strings.HasPrefix(rest, fmt.Sprintf("2026-03-01,%d,", liability.Outstanding)) {
			t.Errorf("the day's line: %q", rest)
		}
		api := e.Do("GET", "/v1/reports/activity"+q, nil, map[string]string{"Accept": "text/csv"}).Want(200)
		if r.body != string(api.Body) {
			t.Errorf("console CSV\n%s\nAPI CSV\n%s", r.body, api.Body)
		}
		if r := newPage(t, e).get("/console/reports/activity.csv" + q); r.status != 200 || !strings.Contains(r.body, `type="password"`) {
			t.Errorf("a download without a session: %d %v", r.status, r.header)
		}
		if r := p.get("/console/reports/other.csv"); r.status != 404 {
			t.Errorf("an unknown download: %d", r.status)
		}
	})

	t.Run("a bad period is refused next to its field", func(t *testing.T) {
		for _, c := range []struct{ query, field, key string }{
			{"from=2026-03-10&to=2026-03-01", "to", "console.reports.err.reversed"},
			{"from=2025-01-01&to=2026-03-01", "to", "console.reports.err.long"},
			{"from=yesterday&to=2026-03-01", "from", "console.reports.err.date"},
			{"from=2026-02-01&to=2026-03-01&groupBy=month", "groupBy", "console.reports.err.groupBy"},
		} {
			for _, path := range []string{"/console/reports?", "/console/reports/activity.csv?"} {
				r := p.get(path + c.query)
				if r.status != 422 || !strings.Contains(r.body, `role="alert" id="`+c.field+`-error">`+web.TFor("ru", c.key)+`<`) ||
					!strings.Contains(r.body, `aria-invalid="true" aria-describedby="`+c.field+`-error"`) {
					t.Errorf("%s%s: %d %v %.300s", path, c.query, r.status, r.header, r.body)
					continue
				}
				// The liability stands; no activity, no download link.
				if !strings.Contains(r.body, `id="liability-outstanding">`+web.FormatHundredths("ru", liability.Outstanding)+`<`) ||
					strings.Contains(r.body, `id="activity"`) || strings.Contains(r.body, `id="activity-csv"`) {
					t.Errorf("%s%s: the rest of the page changed", path, c.query)
				}
			}
		}
	})

	t.Run("an admin sees the activity by point of sale and by staff", func(t *testing.T) {
		var staff struct {
			APIKey string `json:"apiKey"`
		}
		e.Do("POST", "/v1/staff", map[string]any{"name": "Admin", "role": "admin"}, nil).Want(201).Decode(&staff)
		a := newPage(t, e)
		consoleSignIn(t, a, staff.APIKey)
		for by, nobody := range map[string]string{"pointOfSale": "console.reports.nobody.pointOfSale", "staff": "console.reports.nobody.staff"} {
			r := a.get("/console/reports?groupBy=" + by)
			if r.status != 200 || !strings.Contains(r.body, `<th scope="row">`+web.TFor("ru", nobody)+`</th>`) ||
				!strings.Contains(r.body, `id="liability-outstanding">`) || strings.Contains(r.body, `id="activity-chart"`) {
				t.Errorf("admin, by %s: %d %.300s", by, r.status, r.body)
			}
		}
	})
}
