package main

// The browser harness: one headless Chromium per test binary, a fresh
// browser context (its own cookies and storage) per test, the real server
// of run() on a loopback port per test, axe-core for accessibility and
// full-page screenshots at phone and desktop widths.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	_ "github.com/mattn/go-sqlite3"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chrome.close()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// need stops a test that lacks a tool: a failure in CI, where .ci/run
// installs every tool, and a skip on a developer machine.
func need(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (the test fails in CI)")
}

// browser is the Chromium that every browser test of this binary shares.
type browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	dir    string
	err    error
}

var chrome browser

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// start launches Chromium headless with a fresh profile and only the flags
// that keep it quiet: no sandbox (tests run as root in CI), no GPU, no
// first-run pages, and no background traffic of its own.
func (b *browser) start() error {
	b.once.Do(func() {
		path, err := exec.LookPath(chromiumPath())
		if err != nil {
			b.err = fmt.Errorf("chromium not found at %s (set CHROMIUM or apt-get install chromium): %w", chromiumPath(), err)
			return
		}
		if b.dir, b.err = os.MkdirTemp("", "leadbook-chromium-"); b.err != nil {
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.UserDataDir(b.dir),
			chromedp.Flag("headless", true),
			chromedp.Flag("no-sandbox", true),
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		b.ctx, b.cancel = bctx, func() { bcancel(); acancel() }
		b.err = chromedp.Do(bctx)
	})
	return b.err
}

func (b *browser) close() {
	if b.cancel != nil {
		b.cancel()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// axeSource is axe-core's axe.min.js, read once.
var axeSource = sync.OnceValues(func() (string, error) {
	path := os.Getenv("LEADBOOK_AXE_JS")
	if path == "" {
		path = filepath.Join("..", "..", ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("axe-core not found (run .ci/run, or npm install --prefix .cache/axe axe-core@4, or set LEADBOOK_AXE_JS): %w", err)
	}
	return string(b), nil
})

func screenshotDir() string {
	if d := os.Getenv("LEADBOOK_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join("testdata", "screenshots")
}

// site is one running leadbook, as startRun starts it, with its files.
type site struct {
	URL     string
	DB      string
	MailDir string
}

// browserEnv is the configuration the browser tests run with: a CEO in
// Berlin who takes calls every day from 09:00 to 17:00, so whatever the
// wall clock, the booking page has open slots on the coming days.
var browserEnv = map[string]string{
	"LEADBOOK_MIN_FILL_SECONDS": "1",
	"LEADBOOK_TIMEZONE":         "Europe/Berlin",
	"LEADBOOK_HOURS":            "mon-sun 09:00-17:00",
	"LEADBOOK_MIN_NOTICE":       "1h",
	"LEADBOOK_CEO_NAME":         "Alex Morgan",
	"LEADBOOK_CEO_EMAIL":        "ceo@example.com",
	"LEADBOOK_STAFF_EMAIL":      "staff@example.com",
	"LEADBOOK_MAIL_FROM":        "Northwind Bookings <bookings@example.com>",
}

// startSite runs the real wiring for a browser test; env adds to or
// overrides browserEnv.
func startSite(t *testing.T, env map[string]string) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{DB: filepath.Join(dir, "leadbook.db"), MailDir: filepath.Join(dir, "mail")}
	all := map[string]string{"LEADBOOK_DB": s.DB, "LEADBOOK_MAIL_DIR": s.MailDir}
	for k, v := range browserEnv {
		all[k] = v
	}
	for k, v := range env {
		all[k] = v
	}
	s.URL, _ = startRun(t, all)
	return s
}

// query runs one query on the site's database through a read-only
// connection of its own.
func (s *site) query(t *testing.T, q string, args ...any) [][]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.DB+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// exec changes the site's database behind the server's back, as a broken
// disk or a bad migration would.
func (s *site) exec(t *testing.T, q string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.DB+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

var manageLinkRE = regexp.MustCompile(`/bookings/([A-Za-z0-9_-]{43})`)

// manageLink waits for the booking confirmation mailed to rcpt and returns
// the manage link's path from it.
func (s *site) manageLink(t *testing.T, rcpt string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(s.MailDir, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			// Undo quoted-printable soft line breaks, which may split the link.
			text := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(string(b))
			if !strings.Contains(text, "To: "+rcpt) && !strings.Contains(text, "<"+rcpt+">") {
				continue
			}
			if m := manageLinkRE.FindStringSubmatch(text); m != nil {
				return m[0]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail to %s with a manage link in %s", rcpt, s.MailDir)
	return ""
}

// tabConfig says how a test's tab behaves.
type tabConfig struct {
	NoJS     bool   // JavaScript off, as for a visitor who blocks it
	TimeZone string // the browser's IANA zone; empty: the machine's
}

// tab is one browser tab in a browser context of its own, bound to a test.
type tab struct {
	t      *testing.T
	ctx    context.Context
	site   *site
	loaded time.Time // when the last page load finished
	noJS   bool

	mu       sync.Mutex
	problems []string // console errors and uncaught exceptions
}

const (
	desktopW, desktopH = 1440, 900
	phoneW, phoneH     = 390, 844
)

// newTab opens a tab for s. Console errors and uncaught exceptions on any
// page fail the test: a CSP violation (an inline style or script) shows up
// there.
func newTab(t *testing.T, s *site, cfg tabConfig) *tab {
	t.Helper()
	if err := chrome.start(); err != nil {
		need(t, "%v", err)
	}
	ctx, cancel := chromedp.NewContext(chrome.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	tb := &tab{t: t, ctx: ctx, site: s}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopW, desktopH)); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	// The site scrolls smoothly unless the visitor prefers less motion; a
	// click computed from an element's place mid-scroll would miss it.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	if cfg.NoJS {
		tb.noJS = true
		tb.scripts(false)
	}
	if cfg.TimeZone != "" {
		if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: cfg.TimeZone}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			// A page answered with 404, 422 or 500 logs the status;
			// the tests check those answers themselves.
			if m.Type != chromedp.ConsoleError && !m.IsException() || strings.HasPrefix(m.Text, "Failed to load resource") {
				continue
			}
			tb.mu.Lock()
			tb.problems = append(tb.problems, fmt.Sprintf("%s (%s)", m.Text, m.URL))
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		<-done
		for _, p := range tb.problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return tb
}

// scripts turns the page's JavaScript on or off.
func (tb *tab) scripts(on bool) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		tb.t.Fatalf("scripts on=%v: %v", on, err)
	}
}

func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// open loads path and waits for the page.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do("open "+path, chromedp.Navigate(tb.site.URL+path))
	tb.loaded = time.Now()
}

// status loads path and returns the HTTP status of its answer.
func (tb *tab) status(path string) int64 {
	tb.t.Helper()
	res, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(tb.site.URL+path))
	if err != nil {
		tb.t.Fatalf("open %s: %v", path, err)
	}
	tb.loaded = time.Now()
	return res.Status
}

// clickNav clicks sel and waits for the page it leads to.
func (tb *tab) clickNav(sel string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))); err != nil {
		tb.t.Fatalf("click %s: %v", sel, err)
	}
	tb.waitJS(`document.readyState === "complete"`)
	tb.loaded = time.Now()
}

// click clicks sel without waiting for a page.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// fill types v into the field sel, as a visitor would.
func (tb *tab) fill(sel, v string) {
	tb.t.Helper()
	tb.do("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), v, chromedp.NodeVisible))
}

// keys presses keys on whatever has the focus.
func (tb *tab) keys(keys string) {
	tb.t.Helper()
	tb.do("press keys", chromedp.KeyEvent(keys))
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (tb *tab) value(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Value(chromedp.CSS(sel), chromedp.NodeReady))
	if err != nil {
		tb.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

func (tb *tab) url() string {
	tb.t.Helper()
	u, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		tb.t.Fatal(err)
	}
	return u
}

func (tb *tab) title() string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Title())
	if err != nil {
		tb.t.Fatal(err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page and decodes its value.
// It works with the page's JavaScript off too: the DevTools protocol
// evaluates on its own.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("eval %s: %v", expr, err)
	}
	return v
}

// waitJS waits until the expression is true, across page loads.
func (tb *tab) waitJS(expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Fatalf("waited 15s for %s (last error %v) on %s", expr, last, tb.url())
}

// minFill waits until the form on the page is older than the server's
// minimum fill time, so the submission is not taken for a bot's.
func (tb *tab) minFill() {
	if d := time.Until(tb.loaded.Add(1100 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
}

// focusIs reports whether the focused element matches sel.
func (tb *tab) focusIs(sel string) bool {
	tb.t.Helper()
	return eval[bool](tb, fmt.Sprintf(`!!document.activeElement && document.activeElement.matches(%q)`, sel))
}

// tabTo presses Tab until the focus is on sel, at most max times, and
// checks that the focused control shows a focus outline.
func (tb *tab) tabTo(sel string, max int) {
	tb.t.Helper()
	for i := 0; i < max; i++ {
		tb.keys(kb.Tab)
		if tb.focusIs(sel) {
			visible := eval[bool](tb, `(() => {
				const el = document.activeElement;
				const shown = e => e && getComputedStyle(e).outlineStyle !== "none" && parseFloat(getComputedStyle(e).outlineWidth) >= 2;
				return shown(el) || (el.type === "radio" && shown(document.querySelector('label[for="' + el.id + '"]')));
			})()`)
			if !visible {
				tb.t.Errorf("%s has the focus but shows no focus outline", sel)
			}
			return
		}
	}
	focused := eval[string](tb, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : "nothing"`)
	tb.t.Fatalf("%d Tabs did not reach %s; the focus is on %s", max, sel, focused)
}

// axeViolation is one failed axe-core rule.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// a11y runs axe-core on the current page and fails the test on any
// serious or critical violation.
func (tb *tab) a11y(name string) {
	tb.t.Helper()
	src, err := axeSource()
	if err != nil {
		need(tb.t, "%v", err)
	}
	if !eval[bool](tb, `typeof window.axe === "object"`) {
		if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			tb.t.Fatalf("inject axe-core: %v", err)
		}
	}
	if tb.noJS {
		// axe.run needs timers, and timers need scripts on. The page's own
		// scripts ran (or not) when it loaded; turning them on now runs none.
		tb.scripts(true)
		defer tb.scripts(false)
	}
	vs, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary.replace(/\s+/g, " "))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("axe.run on %s: %v", name, err)
	}
	for _, v := range vs {
		tb.t.Errorf("accessibility (%s, %s): %s [%s]\n\t%s", name, v.Impact, v.Help, v.ID, strings.Join(v.Nodes, "\n\t"))
	}
}

// check runs axe-core on the current page and writes full-page
// screenshots of it, both at phone and at desktop width, as NAME-phone.png
// and NAME-desktop.png.
func (tb *tab) check(name string) {
	tb.t.Helper()
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	sizes := []struct {
		suffix string
		view   chromedp.Action[chromedp.Void]
	}{
		{"phone", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2))},
		{"desktop", chromedp.EmulateViewport(desktopW, desktopH)},
	}
	tb.savePage(name)
	for _, sz := range sizes {
		tb.do("resize", sz.view)
		tb.a11y(name + " (" + sz.suffix + ")")
		// From the top, as a visitor arrives: a page reached through a
		// #fragment would otherwise show the sticky header mid-page.
		tb.do("scroll", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		png, err := chromedp.Run(tb.ctx, fullPage)
		if err != nil {
			tb.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+sz.suffix+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
}

// savePage writes the current page's HTML, as the browser holds it, to
// $LEADBOOK_PAGES_DIR/NAME.html when that is set: .ci/run checks every
// saved page with the Nu HTML Checker.
func (tb *tab) savePage(name string) {
	tb.t.Helper()
	dir := os.Getenv("LEADBOOK_PAGES_DIR")
	if dir == "" {
		return
	}
	html := eval[string](tb, `(document.doctype ? "<!DOCTYPE " + document.doctype.name + ">\n" : "") + document.documentElement.outerHTML`)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// fullPage captures the whole page, below the fold too, as PNG.
func fullPage(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	size := m.CSSContentSize
	if size == nil {
		return nil, errors.New("no content size")
	}
	yes := true
	r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: &yes,
		FromSurface:           &yes,
		Clip:                  &page.Viewport{X: 0, Y: 0, Width: size.Width, Height: size.Height, Scale: 1},
	})
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}
