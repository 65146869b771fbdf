package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// addStaff makes a staff account in the site's database with the CLI, as
// an operator does.
func addStaff(t *testing.T, s *site, email, password string) {
	t.Helper()
	env := map[string]string{"LEADBOOK_DB": s.DB, "LEADBOOK_MAIL_DIR": s.MailDir}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"leadbook", "staff", "add", email, "--password-stdin"}, envOf(env),
		strings.NewReader(password+"\n"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("staff add: %v\n%s", err, stderr.String())
	}
}

// signIn signs in on the staff login page and lands on the dashboard.
func signIn(t *testing.T, tb *tab, email, password string) {
	t.Helper()
	tb.open("/staff")
	if !strings.HasPrefix(tb.url(), tb.site.URL+"/staff/login") {
		t.Fatalf("an anonymous visit to /staff landed on %s, not the sign-in page", tb.url())
	}
	tb.check("staff-login")
	tb.fill("#staff-email", email)
	tb.fill("#staff-password", password)
	tb.clickNav(`form[action="/staff/login"] button[type=submit]`)
	if u := tb.url(); u != tb.site.URL+"/staff" {
		t.Fatalf("after signing in the browser is on %s", u)
	}
}

// TestBrowserStaff: a visitor leaves a lead; staff sign in, find it,
// download the CSV, and send an undeliverable mail again.
func TestBrowserStaff(t *testing.T) {
	s := startSite(t, nil)
	visitorTab := newTab(t, s, tabConfig{})
	readArticle(t, visitorTab)
	fillContact(t, visitorTab, ada)
	visitorTab.click(`#contact-us button[type=submit]`)
	visitorTab.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
	wantLead(t, s, ada, "contact")

	// The staff notification bounced for good.
	s.exec(t, `UPDATE outbox SET status = 'dead', last_error = '550 mailbox unavailable', attempts = 1 WHERE recipient = 'staff@example.com'`)

	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	// A typo first: the overview then tells of it.
	tb.open("/staff/login")
	tb.fill("#staff-email", email)
	tb.fill("#staff-password", "not the password at all")
	tb.clickNav(`form[action="/staff/login"] button[type=submit]`)
	if got := tb.text(".notice-error"); !strings.Contains(got, "not right") {
		t.Fatalf("a wrong password shows %q", got)
	}
	signIn(t, tb, email, password)
	tb.check("staff-home")
	if got := tb.text("#sign-in-failures"); !strings.Contains(got, "1 failed sign-in attempt on your account") || !strings.Contains(got, "127.0.0.x") {
		t.Errorf("the overview's notice: %q", got)
	}

	tb.open("/staff/leads")
	tb.fill("#q", "Lovelace")
	tb.clickNav(`form[action="/staff/leads"] button[type=submit]`)
	if got := tb.text("table.data tbody"); !strings.Contains(got, ada.Email) || !strings.Contains(got, ada.Company) {
		t.Fatalf("searching for Lovelace shows %q", got)
	}
	tb.check("staff-leads")

	// The download link, fetched with the session cookie as a click would.
	csv, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`fetch(document.querySelector('a[href^="/staff/leads.csv"]').href, {credentials: "same-origin"})
		.then(r => r.ok ? r.text() : "status " + r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if !strings.HasPrefix(lines[0], "id,created_at,name,email,company,phone,message,source") {
		t.Errorf("CSV header %q", lines[0])
	}
	if len(lines) != 2 || !strings.Contains(lines[1], ada.Email) || !strings.Contains(lines[1], ",contact") {
		t.Errorf("CSV:\n%s", csv)
	}

	tb.open("/staff/outbox?status=dead")
	if got := tb.text("table.data tbody"); !strings.Contains(got, "staff@example.com") {
		t.Fatalf("the dead message is not listed: %q", got)
	}
	tb.check("staff-outbox-dead")
	tb.clickNav(`form[action$="/retry"] button[type=submit]`)
	if got := tb.text("[role=status]"); got != "The message is queued again." {
		t.Errorf("retry notice %q", got)
	}
	if rows := s.query(t, `SELECT status FROM outbox WHERE recipient = 'staff@example.com'`); len(rows) != 1 || rows[0][0] == "dead" {
		t.Errorf("after the retry the message is %v", rows)
	}
}

// TestBrowserStaffPhoneWidth: every staff page fits a 390-wide phone, the
// page never scrolling sideways: each row of a staff table is a card there,
// each cell labelled with its column, while 1440 shows tables. The header
// stays on one line at 1440, and codes are shown as words.
func TestBrowserStaffPhoneWidth(t *testing.T) {
	s := startSite(t, nil)
	visitorTab := newTab(t, s, tabConfig{})
	visitorTab.open("/contact")
	fillContact(t, visitorTab, ada)
	visitorTab.click(`#contact-us button[type=submit]`)
	visitorTab.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
	wantLead(t, s, ada, "contact")
	visitorTab.open("/book?tz=Europe/Berlin")
	pickSlot(t, visitorTab, `form[action="/book"]`, 1, 0)
	visitorTab.fill("#book-name", "Grace Hopper")
	visitorTab.fill("#book-email", "grace@example.com")
	visitorTab.fill("#book-company", "Navy Labs")
	visitorTab.click("#book-consent")
	visitorTab.minFill()
	visitorTab.clickNav(`form[action="/book"] button[type=submit]`)
	if !strings.Contains(visitorTab.url(), "/bookings/") {
		t.Fatalf("after booking the visitor is on %s", visitorTab.url())
	}
	s.exec(t, `UPDATE outbox SET status = 'dead', attempts = 3, last_error = '550 5.1.1 <staff@example.com>: Recipient address rejected: User unknown in virtual mailbox table; see https://support.example.net/smtp/550-5.1.1' WHERE recipient = 'staff@example.com'`)

	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	tb.open("/staff/login")
	tb.fill("#staff-email", email)
	tb.fill("#staff-password", "not the password at all")
	tb.clickNav(`form[action="/staff/login"] button[type=submit]`)
	signIn(t, tb, email, password)

	tb.do("desktop", chromedp.EmulateViewport(desktopW, desktopH))
	oneRow := `(() => { const b = document.querySelector(".staff-header .brand").getBoundingClientRect(),
		f = document.querySelector(".staff-header .signout").getBoundingClientRect();
		return f.top < b.bottom && b.top < f.bottom })()`
	if !eval[bool](tb, oneRow) {
		t.Errorf("at %d wide the staff header wraps: sign-out is not on the brand's line", desktopW)
	}

	// A row's display and its cells' labels: "" where a cell has none.
	const rows = `[...document.querySelectorAll("table.data tbody tr")].map(tr => ({display: getComputedStyle(tr).display,
		cells: [...tr.cells].map(td => ({label: td.hasAttribute("data-label") ? td.dataset.label : null,
			shown: getComputedStyle(td, "::before").content}))}))`
	type cardCell struct {
		Label *string
		Shown string
	}
	type card struct {
		Display string
		Cells   []cardCell
	}
	tables := map[string]int{} // rows seen on each page, at 1440
	pages := []string{"/staff", "/staff/leads", "/staff/leads/1", "/staff/bookings", "/staff/bookings/1", "/staff/outbox",
		"/staff/outbox?status=dead", "/staff/spam", "/staff/feeds", "/staff/privacy", "/staff/audit", "/staff/analytics",
		"/staff/settings", "/staff/accounts", "/staff/tokens", "/staff/webhooks"}
	for _, path := range pages {
		tb.open(path)
		for _, r := range eval[[]card](tb, rows) {
			if r.Display != "table-row" {
				t.Errorf("%s at %d wide: a table row is shown as %q, not as a table", path, desktopW, r.Display)
				break
			}
			tables[path]++
		}
	}
	for _, path := range []string{"/staff/leads", "/staff/bookings", "/staff/outbox", "/staff/audit"} {
		if tables[path] == 0 {
			t.Errorf("%s lists nothing: the cards go untested", path)
		}
	}

	tb.do("phone", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	for _, path := range pages {
		tb.open(path)
		// A phone zooms out to fit a page wider than itself, and then
		// innerWidth grows with it: the page must fit 390 too.
		sw, iw := eval[int](tb, `document.scrollingElement.scrollWidth`), eval[int](tb, `window.innerWidth`)
		if sw > iw || sw > phoneW {
			t.Errorf("%s at %d wide: the page scrolls sideways (scrollWidth %d > innerWidth %d)", path, phoneW, sw, iw)
		}
		// Nor does anything scroll inside its box: a table is cards.
		if boxes := eval[[]string](tb, `[...document.querySelectorAll(".table-scroll")].filter(b => b.scrollWidth > b.clientWidth).map(b => b.outerHTML.slice(0, 80))`); len(boxes) > 0 {
			t.Errorf("%s at %d wide: %d tables scroll sideways in their boxes: %v", path, phoneW, len(boxes), boxes)
		}
		for _, r := range eval[[]card](tb, rows) {
			if r.Display != "block" {
				t.Errorf("%s at %d wide: a table row is shown as %q, not as a card", path, phoneW, r.Display)
				break
			}
			for _, c := range r.Cells {
				switch {
				case c.Label == nil:
					t.Errorf("%s: a cell has no data-label", path)
				case *c.Label != "" && c.Shown != jsQuote(*c.Label):
					t.Errorf("%s at %d wide: the cell of %q is labelled %s", path, phoneW, *c.Label, c.Shown)
				}
			}
		}
	}
	tb.open("/staff/bookings")
	tb.check("staff-bookings-cards")
	tb.open("/staff/leads")
	tb.check("staff-leads-cards")

	tb.open("/staff/audit")
	audit := tb.text("table.data tbody")
	for _, want := range []string{"Failed sign-in", "Signed in", "Staff member #1"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log does not say %q:\n%s", want, audit)
		}
	}
	for _, code := range []string{"sign_in_failed", "staff:1"} {
		if strings.Contains(audit, code) {
			t.Errorf("the audit log shows the code %q:\n%s", code, audit)
		}
	}
	tb.check("staff-audit")
	tb.open("/staff/outbox")
	if got := tb.text("table.data tbody"); !strings.Contains(got, "New lead to staff") || strings.Contains(got, "lead_notification") {
		t.Errorf("the outbox shows kinds as codes: %q", got)
	}
}
