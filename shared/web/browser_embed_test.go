package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loyalty/cashback/shared/api/apitest"
)

// The script snippet puts a button on the partner's page that opens the
// enrollment page in a modal dialog; Escape closes it and gives the focus
// back to the button.
func TestBrowserScriptSnippetOpensDialog(t *testing.T) {
	e := apitest.New(t)
	var embed struct {
		Script string `json:"script"`
	}
	e.Do("GET", "/v1/embed", nil, nil).Want(200).Decode(&embed)
	partner := partnerPage(t, embed.Script, e.Server.URL)
	origin := localhostURL(partner)
	e.Do("PUT", "/v1/embed", map[string]any{"allowedOrigins": []string{origin}}, nil).Want(200)

	tab := newTab(t)
	run(t, tab, "open the partner page", chromedp.Navigate(origin+"/"), chromedp.WaitVisible(chromedp.CSS(`button[aria-haspopup=dialog]`)))
	run(t, tab, "open the dialog", chromedp.Click(chromedp.CSS(`button[aria-haspopup=dialog]`)), chromedp.WaitVisible(chromedp.CSS("dialog[open] iframe")))
	src, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("dialog iframe").src`))
	if err != nil || src != e.Server.URL+"/j/"+e.Slug+"?embed=1" {
		t.Fatalf("frame src %q, %v", src, err)
	}
	waitIn(t, tab, `input[type=tel][autocomplete=tel]`)
	shoot(t, tab, "partner-dialog")
	run(t, tab, "close with Escape", chromedp.KeyEvent("\x1b"), chromedp.Sleep(200*time.Millisecond))
	open, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("dialog").open`))
	if err != nil || open {
		t.Errorf("dialog open after Escape: %v %v", open, err)
	}
	focused, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.activeElement === document.querySelector("button[aria-haspopup=dialog]")`))
	if err != nil || !focused {
		t.Errorf("focus not back on the button: %v %v", focused, err)
	}
}
