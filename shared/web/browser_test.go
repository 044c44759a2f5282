package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium through chromedp: one browser
// per test binary, one tab (or frame) per page.

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

func stopBrowser() {
	if browserCancel != nil {
		browserCancel()
	}
}

// newTab opens a tab in the shared browser; it closes with the test. A
// missing browser fails the test, saying how to install it.
func newTab(t *testing.T) context.Context {
	t.Helper()
	browserOnce.Do(func() {
		if _, err := exec.LookPath(chromiumPath); err != nil {
			browserErr = fmt.Errorf("%s not found: the browser tests need Debian's chromium (apt-get install -y chromium)", chromiumPath)
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.DisableGPU,
			chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1280, 900),
			// A browser in Russia: pages answer in Russian unless asked otherwise.
			chromedp.Flag("lang", "ru-RU"), chromedp.Flag("accept-lang", "ru-RU,ru"),
			// The partner's frame of another site stays in the page's
			// process, so the test reaches into it with DOM queries (the
			// site isolation of a frame is not what is under test; the
			// frame's cookies and headers are).
			chromedp.Flag("disable-site-isolation-trials", true),
			chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,IsolateOrigins,site-per-process"))
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox) // Chromium refuses to sandbox as root
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
			cancel()
			cancelAlloc()
			browserErr = fmt.Errorf("start %s: %w", chromiumPath, err)
			return
		}
		browserCtx, browserCancel = ctx, func() { cancel(); cancelAlloc() }
	})
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	tab, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	// Third-party cookies blocked, as in browsers that block them: the
	// embedded flow must not need them.
	if _, err := chromedp.Call(tab, network.SetCookieControls, network.SetCookieControlsParams{EnableThirdPartyCookieRestriction: true}); err != nil {
		t.Fatalf("block third-party cookies: %v", err)
	}
	return tab
}

// run runs actions with a bound on the whole step, failing the test.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Viewports of the screenshots: a phone and a laptop.
var viewports = [][2]int64{{390, 844}, {1280, 900}}

// shoot writes a screenshot of the tab at each viewport under
// build/screenshots (looked at by people, not compared).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join("..", "..", "build", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, vp := range viewports {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		if err := chromedp.Do(c, chromedp.EmulateViewport(vp[0], vp[1]), chromedp.Sleep(150*time.Millisecond)); err != nil {
			cancel()
			t.Fatalf("viewport: %v", err)
		}
		png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, vp[0], vp[1])), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, "reset viewport", chromedp.EmulateViewport(1280, 900))
}

// inFrame makes queries run in the document of the tab's iframe (read
// afresh: the frame's document changes as its forms are sent).
func inFrame(t *testing.T, tab context.Context) chromedp.QueryOption {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	nodes, err := chromedp.Run(c, chromedp.Nodes(chromedp.CSS("iframe")))
	if err != nil || len(nodes) == 0 {
		t.Fatalf("no iframe: %v", err)
	}
	return chromedp.FromNode(nodes[0])
}

// textIn is text of an element of the tab's iframe.
func textIn(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel), inFrame(t, tab)))
	if err != nil {
		t.Fatalf("text of %s in the frame: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitIn waits until sel is visible in the tab's iframe, reading the frame
// afresh on each try (a navigation replaces its document).
func waitIn(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(tab, time.Second)
		err = chromedp.Do(c, chromedp.WaitVisible(chromedp.CSS(sel), inFrame(t, tab)))
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("%s never showed in the frame: %v", sel, err)
}
