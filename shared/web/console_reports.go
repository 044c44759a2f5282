package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/loyalty/cashback/shared/api"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/reports"
)

// The reports section (../shared/API.md "Reports"): the points liability
// with its expiry schedule by month, and a period's activity by day, point
// of sale or staff member, as tables and as bar charts drawn here as inline
// SVG (no chart library, no script, no inline style: the CSP allows
// neither; colours come from console.css through classes). The numbers are
// the reports service's own (shared/reports); the page only lays them out,
// and the CSV download is the API's text/csv answer through the session.

// defaultDays is the activity period the page opens with: the last 30 days.
const defaultDays = 30

type reportsPage struct {
	// Unavailable: this server has no reports service.
	Unavailable bool
	Liability   *reports.LiabilityReport
	Expiry      []expiryRow
	ExpiryChart *barChart
	// The activity form as typed, and its report (nil when refused).
	From, To, GroupBy string
	Activity          *reports.ActivityReport
	Rows              []activityRow
	ActivityChart     *barChart
	// CSV is the download's address for the period shown.
	CSV string
}

func (reportsPage) Knows(id string) bool { return id == "from" || id == "to" || id == "groupBy" }

type expiryRow struct {
	Label  string
	Points loyalty.Points
}

type activityRow struct {
	Label string
	reports.Counters
}

// reportsShow fills the section: the liability, and the activity of the
// period the query asks for (refused next to its field, the liability
// shown all the same).
func (h *Handler) reportsShow(r *http.Request, c loyalty.Caller, v *consoleView) (string, int) {
	pg := &reportsPage{}
	v.Page = pg
	rs := h.deps.Console.Reports
	if rs == nil {
		pg.Unavailable = true
		return "reports", http.StatusOK
	}
	status := http.StatusOK
	if l, err := rs.Liability(r.Context(), c); err != nil {
		h.consoleError(r, v, err)
		status = statusOf(err)
	} else {
		pg.Liability = &l
		pg.expiry(v.Lang)
	}
	rep, err := h.activity(r, c, pg)
	if err != nil {
		h.consoleError(r, v, err)
		return "reports", consoleStatus(err)
	}
	pg.activity(v.Lang, rep, h.groupNames(r, c, rep.GroupBy))
	q := url.Values{"from": {pg.From}, "to": {pg.To}, "groupBy": {pg.GroupBy}}
	if v.LangQuery != "" {
		q.Set("lang", v.Lang)
	}
	pg.CSV = "/console/reports/activity.csv?" + q.Encode()
	return "reports", status
}

// reportsDownload answers activity.csv for the period the query asks for;
// a refused period shows the section with the message instead.
func (h *Handler) reportsDownload(w http.ResponseWriter, r *http.Request, c loyalty.Caller, v *consoleView, item string) (string, int) {
	rs := h.deps.Console.Reports
	if item != "activity.csv" || rs == nil {
		h.message(w, r, http.StatusNotFound, v.Lang, "notFound.title", "console.notFound", "'none'")
		return "", 0
	}
	pg := &reportsPage{}
	rep, err := h.activity(r, c, pg)
	if err != nil {
		return h.reportsShow(r, c, v)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="activity-`+pg.From+`-`+pg.To+`-`+pg.GroupBy+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(api.ActivityCSV(rep))
	return "", 0
}

// activity reads the form (defaults: the last 30 days by day), checks it
// with the messages the page shows, and asks the service.
func (h *Handler) activity(r *http.Request, c loyalty.Caller, pg *reportsPage) (reports.ActivityReport, error) {
	q := r.URL.Query()
	today := h.deps.Now().UTC()
	pg.From, pg.To, pg.GroupBy = q.Get("from"), q.Get("to"), q.Get("groupBy")
	if pg.To == "" {
		pg.To = reports.Day(today)
	}
	if pg.From == "" {
		pg.From = reports.Day(today.AddDate(0, 0, 1-defaultDays))
	}
	if pg.GroupBy == "" {
		pg.GroupBy = string(reports.ByDay)
	}
	f, err := time.Parse(time.DateOnly, pg.From)
	if err != nil {
		return reports.ActivityReport{}, errField("from", "console.reports.err.date")
	}
	t, err := time.Parse(time.DateOnly, pg.To)
	switch {
	case err != nil:
		return reports.ActivityReport{}, errField("to", "console.reports.err.date")
	case t.Before(f):
		return reports.ActivityReport{}, errField("to", "console.reports.err.reversed")
	}
	if _, _, err := reports.Period(pg.From, pg.To); err != nil {
		return reports.ActivityReport{}, errField("to", "console.reports.err.long")
	}
	switch g := reports.GroupBy(pg.GroupBy); g {
	case reports.ByDay, reports.ByPointOfSale, reports.ByStaff:
	default:
		return reports.ActivityReport{}, errField("groupBy", "console.reports.err.groupBy")
	}
	return h.deps.Console.Reports.Activity(r.Context(), c, reports.ActivityRequest{From: pg.From, To: pg.To, GroupBy: reports.GroupBy(pg.GroupBy)})
}

// groupNames names the points of sale or staff members a report groups by
// (an id stays as it is when the name cannot be read).
func (h *Handler) groupNames(r *http.Request, c loyalty.Caller, by reports.GroupBy) map[string]string {
	names := map[string]string{}
	t := h.deps.Console.Tenancy
	switch by {
	case reports.ByPointOfSale:
		if ps, err := t.ListPointsOfSale(r.Context(), c); err == nil {
			for _, p := range ps {
				names[p.ID] = p.Name
			}
		}
	case reports.ByStaff:
		if ss, err := t.ListStaff(r.Context(), c); err == nil {
			for _, s := range ss {
				names[s.ID] = s.Name
			}
		}
	}
	return names
}

func (pg *reportsPage) expiry(lang string) {
	var labels []string
	var values [][]int64
	for _, m := range pg.Liability.ByExpiryMonth {
		l := monthLabel(lang, m.Month)
		pg.Expiry = append(pg.Expiry, expiryRow{l, m.Points})
		labels = append(labels, l)
		values = append(values, []int64{int64(m.Points)})
	}
	if len(labels) > 0 {
		pg.ExpiryChart = newBarChart(lang, "expiry-chart", T(lang, "console.reports.expiryChart"), labels,
			[]chartSeries{{"s-outstanding", T(lang, "console.reports.outstanding")}}, values)
	}
}

func (pg *reportsPage) activity(lang string, rep reports.ActivityReport, names map[string]string) {
	pg.Activity = &rep
	for _, g := range rep.Groups {
		label := ""
		switch rep.GroupBy {
		case reports.ByDay:
			if d, err := time.Parse(time.DateOnly, g.Day); err == nil {
				label = formatDate(lang, d)
			}
		case reports.ByPointOfSale:
			label = groupLabel(lang, g.PointOfSaleID, names, "console.reports.nobody.pointOfSale")
		case reports.ByStaff:
			label = groupLabel(lang, g.StaffID, names, "console.reports.nobody.staff")
		}
		pg.Rows = append(pg.Rows, activityRow{label, g.Counters})
	}
	if rep.GroupBy != reports.ByDay || len(rep.Groups) == 0 {
		return
	}
	// Every day of the period, the quiet ones at zero.
	by := map[string]reports.Counters{}
	for _, g := range rep.Groups {
		by[g.Day] = g.Counters
	}
	f, _ := time.Parse(time.DateOnly, rep.From)
	t, _ := time.Parse(time.DateOnly, rep.To)
	var labels []string
	var values [][]int64
	for d := f; !d.After(t); d = d.AddDate(0, 0, 1) {
		c := by[reports.Day(d)]
		labels = append(labels, dayLabel(lang, d))
		values = append(values, []int64{int64(c.Accrued), int64(c.Redeemed)})
	}
	pg.ActivityChart = newBarChart(lang, "activity-chart",
		T(lang, "console.reports.activityChart", formatDate(lang, f), formatDate(lang, t)), labels,
		[]chartSeries{{"s-accrued", T(lang, "console.reports.accrued")}, {"s-redeemed", T(lang, "console.reports.redeemed")}}, values)
}

func groupLabel(lang, id string, names map[string]string, nobody string) string {
	if id == reports.None {
		return T(lang, nobody)
	}
	if n := names[id]; n != "" {
		return n
	}
	return id
}

var monthsShortRU = []string{"янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"}

// monthLabel writes an expiry month (2026-09, never, unknown).
func monthLabel(lang, m string) string {
	switch m {
	case loyalty.NeverExpires:
		return T(lang, "console.reports.never")
	case reports.UnknownMonth:
		return T(lang, "console.reports.unknown")
	}
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return m
	}
	if lang == langEN {
		return t.Format("Jan 2006")
	}
	return monthsShortRU[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// dayLabel is a day under a chart's bar (2.03 / Mar 2).
func dayLabel(lang string, d time.Time) string {
	if lang == langEN {
		return d.Format("Jan 2")
	}
	return d.Format("2.01")
}

// ---- the bar chart ----

// barChart is a bar chart laid out here in a fixed coordinate space (its
// viewBox, scaled by CSS): the template only writes the shapes out.
type barChart struct {
	ID, Title string
	W, H      int
	// The plot's edges: the axis labels sit left of Left and under Bottom.
	Left, Right, Bottom, LabelX, LabelY float64
	Bars                                []chartBar
	Ticks                               []chartTick
	Labels                              []chartLabel
	Legend                              []chartSeries
}

type chartBar struct {
	X, Y, W, H float64
	Class, Tip string
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X    float64
	Text string
	// Minor labels are left out on a phone's narrow chart.
	Minor bool
}

type chartSeries struct{ Class, Label string }

const (
	chartW, chartH                = 640, 260
	chartLeft, chartRight         = 88, 632
	chartTop, chartBottom         = 14, 222
	maxChartLabels                = 12
	maxBarWidth                   = 64
	minChartStep          float64 = 100 // a tick per whole point at least
)

// newBarChart lays out values[category][series] (hundredths of a point)
// as grouped bars over a zero-based axis with round ticks.
func newBarChart(lang, id, title string, categories []string, series []chartSeries, values [][]int64) *barChart {
	ch := &barChart{ID: id, Title: title, W: chartW, H: chartH, Left: chartLeft, Right: chartRight, Bottom: chartBottom,
		LabelX: chartLeft - 8, LabelY: chartBottom + 26, Legend: series}
	var top int64
	for _, vs := range values {
		for _, v := range vs {
			top = max(top, v)
		}
	}
	step := niceStep(float64(top) / 4)
	ticks := math.Max(1, math.Ceil(float64(top)/step))
	scale := (chartBottom - chartTop) / (ticks * step)
	for i := 0.0; i <= ticks; i++ {
		ch.Ticks = append(ch.Ticks, chartTick{round1(chartBottom - i*step*scale), formatHundredths(lang, int64(i*step))})
	}
	slot := float64(chartRight-chartLeft) / float64(len(categories))
	bw := math.Min(slot*0.8/float64(len(series)), maxBarWidth)
	gap := slot - bw*float64(len(series))
	every := (len(categories) + maxChartLabels - 1) / maxChartLabels
	for i, cat := range categories {
		x0 := chartLeft + float64(i)*slot
		for s, v := range values[i] {
			h := float64(max(v, 0)) * scale
			ch.Bars = append(ch.Bars, chartBar{X: round1(x0 + gap/2 + float64(s)*bw), Y: round1(chartBottom - h), W: round1(bw), H: round1(h),
				Class: series[s].Class, Tip: cat + ": " + series[s].Label + " " + formatHundredths(lang, v)})
		}
		if i%every == 0 {
			minor := len(categories) > maxChartLabels/2 && len(ch.Labels)%2 == 1
			ch.Labels = append(ch.Labels, chartLabel{round1(x0 + slot/2), cat, minor})
		}
	}
	return ch
}

// niceStep rounds a tick step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw < minChartStep {
		return minChartStep
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
