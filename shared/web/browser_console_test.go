package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyalty/cashback/shared/api/apitest"
	"github.com/loyalty/cashback/shared/web"
)

// The owner's week in the back office, in Chromium (seeds 001, 003, 004):
// a program with two tiers, a point of sale and a cashier whose key opens
// the till; a member found, adjusted with a reason, blocked and unblocked;
// a bulk accrual counted first, then run, moving the balance by exactly
// what it said, and the liability report by exactly as much. Then every
// page's screenshot in both languages.
func TestBrowserConsole(t *testing.T) {
	e := apitest.New(t)
	service := e.Server.URL
	tr := func(key string, args ...any) string { return web.TFor("ru", key, args...) }
	m := e.Enroll("+79120007788")
	e.Close("console-earlier", m.ID, 100000).Want(200) // 5 % of 1 000.00: 50 points

	tab := newTab(t)
	run(t, tab, "open the console", chromedp.Navigate(service+"/console"),
		chromedp.WaitVisible(chromedp.CSS(`input[type=password][autocomplete=current-password]`)))
	shoot(t, tab, "console-ru-signin")
	run(t, tab, "a wrong key", chromedp.SendKeys(chromedp.CSS("#key"), "not-a-key"), chromedp.Click(chromedp.CSS("button[type=submit]")))
	waitText(t, tab, "#form-error", tr("console.err.key"))
	run(t, tab, "sign in", chromedp.SendKeys(chromedp.CSS("#key"), e.APIKey), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#who")))

	// A program with two tiers: Silver from the first visit, Gold from
	// 5 000.00 within 30 days.
	run(t, tab, "programs", chromedp.Click(chromedp.CSS(`nav a[href="/console/programs"]`)), chromedp.WaitVisible(chromedp.CSS("#create-program")))
	fill := func(sel, v string) chromedp.Action[chromedp.Void] { return chromedp.SendKeys(chromedp.CSS(sel), v) }
	run(t, tab, "fill the program",
		fill("#name", "Кофейня"), chromedp.SetValue(chromedp.CSS("#cashbackPercent"), "3"), fill("#maxRedeemPercent", "50"),
		fill("#pointsLifetime", "P180D"),
		fill("#tiers-0-name", "Silver"), fill("#tiers-0-priority", "1"), fill("#tiers-0-cashbackPercent", "3"), fill("#tiers-0-qualify-period", "P30D"),
		fill("#tiers-1-name", "Gold"), fill("#tiers-1-priority", "1"), fill("#tiers-1-cashbackPercent", "7"), fill("#tiers-1-qualify-period", "P30D"),
		fill("#tiers-1-qualify-spend", "5000"),
		chromedp.Click(chromedp.CSS("#create-program")))
	// Two tiers of one priority: refused next to the second, the form kept.
	waitVisible(t, tab, "#tiers-1-priority-error")
	shoot(t, tab, "console-ru-program-refused")
	run(t, tab, "fix the priority", chromedp.SetValue(chromedp.CSS("#tiers-1-priority"), "2"), chromedp.Click(chromedp.CSS("#create-program")))
	waitText(t, tab, "#notice", tr("console.programs.created", "Кофейня"))
	run(t, tab, "stop the demo program",
		chromedp.Click(chromedp.Search(`//table[@id="programs"]//tr[.//a[text()="Test program"]]//button[@value="stop"]`)))
	waitText(t, tab, "#notice", tr("console.programs.status", "Test program", tr("console.status.stopped")))
	run(t, tab, "activate the new one",
		chromedp.Click(chromedp.Search(`//table[@id="programs"]//tr[.//a[text()="Кофейня"]]//button[@value="activate"]`)))
	waitText(t, tab, "#notice", tr("console.programs.status", "Кофейня", tr("console.status.active")))
	var prog struct {
		Status string `json:"status"`
		Tiers  []struct {
			Name string `json:"name"`
		} `json:"tiers"`
	}
	var list struct {
		Programs []struct {
			ID     string `json:"programId"`
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"programs"`
	}
	e.Do("GET", "/v1/programs", nil, nil).Want(200).Decode(&list)
	progID := ""
	for _, p := range list.Programs {
		if p.Name == "Кофейня" {
			progID = p.ID
		}
	}
	e.Do("GET", "/v1/programs/"+progID, nil, nil).Want(200).Decode(&prog)
	if prog.Status != "active" || len(prog.Tiers) != 2 || prog.Tiers[1].Name != "Gold" {
		t.Fatalf("the program through the API: %+v", prog)
	}

	// A point of sale and a cashier bound to it; the key is shown once.
	run(t, tab, "staff", chromedp.Click(chromedp.CSS(`nav a[href="/console/staff"]`)), chromedp.WaitVisible(chromedp.CSS("#pos-name")),
		fill("#pos-name", "Кофейня на Ленина"), fill("#pos-address", "Ленина, 1"),
		chromedp.Click(chromedp.CSS(`form:has(#pos-name) button[type=submit]`)))
	waitText(t, tab, "#notice", tr("console.staff.posCreated", "Кофейня на Ленина"))
	var points struct {
		List []struct {
			ID string `json:"pointOfSaleId"`
		} `json:"pointsOfSale"`
	}
	e.Do("GET", "/v1/points-of-sale", nil, nil).Want(200).Decode(&points)
	if len(points.List) != 1 {
		t.Fatalf("points of sale %+v", points)
	}
	run(t, tab, "a cashier",
		fill("#staff-name", "Анна"), chromedp.SetValue(chromedp.CSS("#staff-role"), "cashier"),
		chromedp.SetValue(chromedp.CSS("#staff-pos"), points.List[0].ID),
		chromedp.Click(chromedp.CSS(`form:has(#staff-name) button[type=submit]`)))
	waitText(t, tab, "#notice", tr("console.staff.created"))
	key := text(t, tab, "#new-key")
	shoot(t, tab, "console-ru-staff-key")
	run(t, tab, "reload: the key is gone", chromedp.Navigate(service+"/console/staff"), chromedp.WaitVisible(chromedp.CSS("#staff")))
	if n := countNodes(t, tab, "#new-key"); n != 0 {
		t.Error("the key is shown again")
	}

	// The cashier's key opens the till at that point of sale.
	till := newTab(t)
	run(t, till, "the till", chromedp.Navigate(service+"/cashier"), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), key), chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`input[type=search][name=q]`)))
	if got := text(t, till, ".bar p"); !strings.Contains(got, "Кофейня на Ленина") {
		t.Errorf("the till says %q", got)
	}

	// The member: found by phone, adjusted with a reason, blocked, unblocked.
	run(t, tab, "members", chromedp.Click(chromedp.CSS(`nav a[href="/console/members"]`)), chromedp.WaitVisible(chromedp.CSS(`input[type=search][name=q]`)),
		chromedp.SendKeys(chromedp.CSS("#q"), "8 912 000-77-88\n"), chromedp.WaitVisible(chromedp.CSS("#results a")))
	shoot(t, tab, "console-ru-members-found")
	run(t, tab, "open the card", chromedp.Click(chromedp.CSS("#results a")), chromedp.WaitVisible(chromedp.CSS("#member-card")))
	if got := text(t, tab, "#member-card"); got != m.Card {
		t.Fatalf("card %q, want %q", got, m.Card)
	}
	before := e.Balance(m.ID).Available
	run(t, tab, "adjust", fill("#points", "120"), fill("#reason", "Компенсация за ожидание"), chromedp.Click(chromedp.CSS("#adjust")))
	waitText(t, tab, "#notice", tr("console.member.adjusted", "120", formatRU(int64(before)+12000)))
	if got := e.Balance(m.ID).Available - before; got != 12000 {
		t.Fatalf("adjusted by %d, want 12000", got)
	}
	run(t, tab, "block", chromedp.Click(chromedp.CSS("#block")))
	waitText(t, tab, "#member-status", tr("console.member.status.blocked"))
	shoot(t, tab, "console-ru-member-blocked")
	run(t, tab, "unblock", chromedp.Click(chromedp.CSS("#unblock")))
	waitText(t, tab, "#member-status", tr("console.member.status.active"))
	if got := text(t, tab, "#history tbody tr:first-child td:nth-child(4)"); got != "Компенсация за ожидание" {
		t.Errorf("newest history line's note %q", got)
	}

	// The liability report, built from the event feed (drained here as the
	// stream poller would): one member, so it is that member's balance.
	e.Drain()
	run(t, tab, "reports", chromedp.Click(chromedp.CSS(`nav a[href="/console/reports"]`)), chromedp.WaitVisible(chromedp.CSS("#liability-outstanding")))
	outstanding := int64(e.Balance(m.ID).Available)
	if got := text(t, tab, "#liability-outstanding"); got != formatRU(outstanding) {
		t.Fatalf("the liability shows %q outstanding, the balance is %s", got, formatRU(outstanding))
	}

	// The bulk accrual: counted, then run; the balance moves by exactly it.
	run(t, tab, "bulk", chromedp.Click(chromedp.CSS(`nav a[href="/console/bulk"]`)), chromedp.WaitVisible(chromedp.CSS("#preview")),
		fill("#points", "15"), fill("#reason", "Праздничные баллы"), chromedp.Click(chromedp.CSS("#preview")))
	waitText(t, tab, "#bulk-preview", tr("console.bulk.preview", 1, "15", "15"))
	shoot(t, tab, "console-ru-bulk-preview")
	before = e.Balance(m.ID).Available
	runForm := formFields(t, tab, "form:has(#run)")
	run(t, tab, "run", chromedp.Click(chromedp.CSS("#run")))
	waitText(t, tab, "#notice", tr("console.bulk.done", 1, "15", "15"))
	if got := e.Balance(m.ID).Available - before; got != 1500 {
		t.Fatalf("the bulk accrual moved the balance by %d, want 1500", got)
	}
	// The same form again (back, resubmit) credits nobody twice.
	resubmit(t, tab, "/console/bulk", runForm)
	waitText(t, tab, "#notice", tr("console.bulk.done", 0, "15", "0")+" "+tr("console.bulk.already", 1))
	if got := e.Balance(m.ID).Available - before; got != 1500 {
		t.Fatalf("a resubmitted bulk accrual moved the balance by %d, want 1500", got)
	}
	e.Verify(m.ID)
	// The liability moves by exactly what the bulk accrual credited.
	e.Drain()
	run(t, tab, "the liability after the bulk accrual", chromedp.Navigate(service+"/console/reports"), chromedp.WaitVisible(chromedp.CSS("#liability-outstanding")))
	if got := text(t, tab, "#liability-outstanding"); got != formatRU(outstanding+1500) {
		t.Fatalf("after the bulk accrual the liability shows %q outstanding, want %s", got, formatRU(outstanding+1500))
	}

	// An import with a bad row: the good rows go in, the bad one is listed.
	csvPath := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(csvPath, []byte("phone,name,points\n+79120007701,Пётр,10\nnot-a-phone,Плохая строка,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, tab, "import", chromedp.Navigate(service+"/console/data"), chromedp.WaitVisible(chromedp.CSS("#members-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#members-file"), []string{csvPath}),
		chromedp.Click(chromedp.CSS(`form:has(#members-file) button[type=submit]`)))
	waitText(t, tab, "#notice", tr("console.data.membersDone", 1, 0, 1))
	if got := text(t, tab, "#failed-rows tbody tr td:first-child"); got != "3" {
		t.Errorf("the bad row is listed as line %q, want 3", got)
	}
	shoot(t, tab, "console-ru-data-imported")

	// Every page in both languages, at both sizes.
	for _, lang := range []string{"ru", "en"} {
		for _, pg := range []struct{ name, path string }{
			{"overview", ""}, {"programs", "/programs"}, {"program", "/programs/" + progID}, {"staff", "/staff"},
			{"members", "/members"}, {"member", "/members/" + m.ID}, {"bulk", "/bulk"}, {"reports", "/reports"}, {"data", "/data"},
			{"settings", "/settings"}, {"audit", "/audit"},
		} {
			run(t, tab, "open "+pg.name, chromedp.Navigate(service+"/console"+pg.path+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS("h1")))
			shoot(t, tab, "console-"+lang+"-"+pg.name)
			if lang == "ru" { // the longer words
				fitsWidth(t, tab, pg.name, 360)
			}
		}
	}
	run(t, tab, "sign out", chromedp.Click(chromedp.CSS(`.chead button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#key")))
	shoot(t, tab, "console-en-signin")
}

func waitVisible(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	run(t, tab, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// formatRU writes hundredths as the Russian pages do.
func formatRU(v int64) string { return web.FormatHundredths("ru", v) }

func countNodes(t *testing.T, tab context.Context, sel string) int {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	n, err := chromedp.Run(c, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// formFields reads a form's fields (to send the same form again later).
func formFields(t *testing.T, tab context.Context, sel string) map[string]string {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	f, err := chromedp.Run(c, chromedp.Evaluate[map[string]string](`Object.fromEntries(new FormData(document.querySelector("`+sel+`")))`))
	if err != nil {
		t.Fatalf("fields of %s: %v", sel, err)
	}
	return f
}

// resubmit posts the fields again as the browser would on a resubmission
// (a form built in the page, sent as the user's own).
func resubmit(t *testing.T, tab context.Context, action string, fields map[string]string) {
	t.Helper()
	b, _ := json.Marshal(fields)
	js := `(() => { const f = document.createElement("form"); f.method = "post"; f.action = "` + action + `";
		for (const [k, v] of Object.entries(` + string(b) + `)) { const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); }
		document.body.appendChild(f); f.submit(); return true; })()`
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatalf("resubmit: %v", err)
	}
}

// fitsWidth checks that the page needs no sideways scrolling at a phone's width.
func fitsWidth(t *testing.T, tab context.Context, name string, width int64) {
	t.Helper()
	run(t, tab, "narrow", chromedp.EmulateViewport(width, 800), chromedp.Sleep(100*time.Millisecond))
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	w, err := chromedp.Run(c, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if w > width {
		t.Errorf("%s is %d px wide at a %d px screen", name, w, width)
	}
	run(t, tab, "reset viewport", chromedp.EmulateViewport(1280, 900))
}
