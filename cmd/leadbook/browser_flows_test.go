package main

import (
	"fmt"
	"leadbook/calendar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
)

const (
	msgThanks = "Thank you for leaving your details"
	msgOops   = "Oops! Something went wrong while submitting the form."
	ctoTitle  = "CTO vs CIO: What's the Difference?"
	bookTitle = "Free consultation call with our CEO"
	ctaText   = "Skip the line and schedule a meeting directly with our CEO"
)

// visitor is what the tests type into the forms.
type visitor struct {
	Name, Email, Company, Phone, Message string
}

var ada = visitor{
	Name:    "Ada Lovelace",
	Email:   "ada@example.com",
	Company: "Analytical Engines",
	Phone:   "+44 20 7946 0000",
	Message: "We need a CTO for a quarter.",
}

// readArticle goes from the index to "CTO vs CIO" the way a visitor does.
func readArticle(t *testing.T, tb *tab) {
	t.Helper()
	tb.open("/")
	tb.clickNav(`.cards a[href="/articles/cto-vs-cio"]`)
	if got := tb.text("h1"); got != ctoTitle {
		t.Fatalf("article heading %q, want %q", got, ctoTitle)
	}
	if got := tb.text(".article-header .author"); got != "Daniel Gorlovetsky" {
		t.Errorf("author %q", got)
	}
}

// fillContact fills the contact form with v and ticks the consent box.
func fillContact(t *testing.T, tb *tab, v visitor) {
	t.Helper()
	tb.fill("#contact-name", v.Name)
	tb.fill("#contact-email", v.Email)
	tb.fill("#contact-company", v.Company)
	tb.fill("#contact-phone", v.Phone)
	tb.fill("#contact-message", v.Message)
	tb.click("#contact-consent")
	tb.minFill()
}

// wantLead checks that the database holds exactly one lead from v.
func wantLead(t *testing.T, s *site, v visitor, source string) {
	t.Helper()
	rows := s.query(t, `SELECT name, company, phone, message, source, consent_version FROM leads WHERE email = ?`, v.Email)
	if len(rows) != 1 {
		t.Fatalf("%d leads from %s, want 1", len(rows), v.Email)
	}
	r := rows[0]
	if r[0] != v.Name || r[1] != v.Company || r[2] != v.Phone || r[3] != v.Message || r[4] != source || r[5] == "" {
		t.Errorf("stored lead %q", r)
	}
}

// TestBrowserContactWithJavaScript: the form posts in the background and
// the thank-you message appears in place, without a page load.
func TestBrowserContactWithJavaScript(t *testing.T) {
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{})
	readArticle(t, tb)
	before := tb.url()
	eval[bool](tb, `window.e2eMarker = "same page"; true`)
	fillContact(t, tb, ada)
	tb.click(`#contact-us button[type=submit]`)
	tb.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
	if got := tb.text("#contact-us [data-status]"); got != msgThanks {
		t.Errorf("message %q, want %q", got, msgThanks)
	}
	// The message is in view and has the focus, so the visitor (and a
	// screen reader) notices it.
	if !tb.focusIs("#contact-us [data-status] .notice-success") {
		t.Error("the success message does not have the focus")
	}
	if !eval[bool](tb, `(() => { const r = document.querySelector("#contact-us [data-status] .notice-success").getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })()`) {
		t.Error("the success message is out of view")
	}
	if got := eval[string](tb, `window.e2eMarker || "gone"`); got != "same page" {
		t.Error("the page was reloaded: the marker variable is gone")
	}
	if u := tb.url(); u != before {
		t.Errorf("URL changed from %s to %s", before, u)
	}
	if v := tb.value("#contact-name"); v != "" {
		t.Errorf("the form was not cleared after success: name %q", v)
	}
	wantLead(t, s, ada, "contact")
	tb.check("article-contact-sent")
}

// TestBrowserContactWithoutJavaScript: the plain form posts, redirects and
// shows the thank-you page.
func TestBrowserContactWithoutJavaScript(t *testing.T) {
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{NoJS: true})
	readArticle(t, tb)
	fillContact(t, tb, ada)
	tb.clickNav(`#contact-us button[type=submit]`)
	if u, _, _ := strings.Cut(tb.url(), "#"); u != s.URL+"/contact/thanks" {
		t.Fatalf("landed on %s, want /contact/thanks", u)
	}
	if got := tb.text("h1"); got != msgThanks {
		t.Errorf("heading %q, want %q", got, msgThanks)
	}
	wantLead(t, s, ada, "contact")
	tb.check("thanks")
}

// TestBrowserContactStoreFailure breaks the database under the running
// server: the visitor sees the Oops message and keeps what they typed.
func TestBrowserContactStoreFailure(t *testing.T) {
	for _, js := range []bool{true, false} {
		name := map[bool]string{true: "javascript", false: "no-javascript"}[js]
		t.Run(name, func(t *testing.T) {
			s := startSite(t, nil)
			tb := newTab(t, s, tabConfig{NoJS: !js})
			readArticle(t, tb)
			s.exec(t, `ALTER TABLE leads RENAME TO leads_gone`)
			fillContact(t, tb, ada)
			if js {
				tb.click(`#contact-us button[type=submit]`)
				tb.waitJS(`document.querySelector("#contact-us [data-status] .notice-error")`)
			} else {
				tb.clickNav(`#contact-us button[type=submit]`)
				if got := tb.text("h1"); got != ctoTitle {
					t.Errorf("the answer is not the article again: heading %q", got)
				}
			}
			if got := tb.text("#contact-us [data-status]"); got != msgOops {
				t.Errorf("message %q, want %q", got, msgOops)
			}
			for sel, want := range map[string]string{
				"#contact-name": ada.Name, "#contact-email": ada.Email, "#contact-company": ada.Company,
				"#contact-phone": ada.Phone, "#contact-message": ada.Message,
			} {
				if got := tb.value(sel); got != want {
					t.Errorf("%s is %q after the failure, want %q", sel, got, want)
				}
			}
			if !eval[bool](tb, `document.querySelector("#contact-consent").checked`) {
				t.Error("the consent box was unticked")
			}
			if !js {
				tb.check("contact-500")
			}
		})
	}
}

// TestBrowserFormErrors submits an empty contact form: every error shows
// next to its field, and the field points to it for screen readers.
func TestBrowserFormErrors(t *testing.T) {
	for _, js := range []bool{true, false} {
		name := map[bool]string{true: "javascript", false: "no-javascript"}[js]
		t.Run(name, func(t *testing.T) {
			s := startSite(t, nil)
			tb := newTab(t, s, tabConfig{NoJS: !js})
			tb.open("/contact")
			tb.fill("#contact-email", "not-an-address")
			tb.fill("#contact-message", "Kept after the error.")
			tb.minFill()
			if js {
				tb.click(`#contact-us button[type=submit]`)
				tb.waitJS(`document.querySelector("#contact-us [data-status] .notice-error")`)
				if !tb.focusIs("#contact-name") {
					t.Error("the focus did not move to the first invalid field")
				}
			} else {
				tb.clickNav(`#contact-us button[type=submit]`)
				if got := tb.text("h1"); got != "Contact us" {
					t.Errorf("heading %q after a 422", got)
				}
			}
			for _, f := range []string{"name", "email", "consent"} {
				ok := eval[bool](tb, fmt.Sprintf(`(() => {
					const input = document.querySelector("#contact-%[1]s");
					const err = document.querySelector("#contact-%[1]s-error");
					return !!input && !!err && !err.hidden && err.textContent.trim() !== "" &&
						input.getAttribute("aria-invalid") === "true" &&
						(input.getAttribute("aria-describedby") || "").split(" ").includes(err.id) &&
						input.closest(".field") === err.closest(".field");
				})()`, f))
				if !ok {
					t.Errorf("field %s: no visible error next to it, or not linked with aria-describedby", f)
				}
			}
			if got := tb.value("#contact-message"); got != "Kept after the error." {
				t.Errorf("message %q after the error", got)
			}
			if n := s.query(t, `SELECT count(*) FROM leads`)[0][0]; n != "0" {
				t.Errorf("%s leads stored from an invalid form", n)
			}
			if !js {
				tb.check("contact-422")
			}
		})
	}
}

// slotOffset reports the UTC offset of an RFC 3339 slot value in zone.
func checkSlotsIn(t *testing.T, tb *tab, zone string) {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	type slot struct{ Value, Label string }
	slots := eval[[]slot](tb, `[...document.querySelectorAll("input[name=start]")].map(i => ({value: i.value, label: document.querySelector('label[for="' + i.id + '"]').textContent}))`)
	if len(slots) == 0 {
		t.Fatal("no slots on the booking page")
	}
	for _, sl := range slots {
		st, err := time.Parse(time.RFC3339, sl.Value)
		if err != nil {
			t.Fatalf("slot value %q: %v", sl.Value, err)
		}
		_, want := st.In(loc).Zone()
		if _, got := st.Zone(); got != want {
			t.Fatalf("slot %s is not in %s", sl.Value, zone)
		}
		if !strings.HasPrefix(sl.Label, st.Format("15:04")) {
			t.Fatalf("slot %s is labelled %q", sl.Value, sl.Label)
		}
	}
}

// pickSlot clicks the label of the n-th slot of the d-th day shown and
// returns the slot's value.
func pickSlot(t *testing.T, tb *tab, form string, d, n int) string {
	t.Helper()
	id := eval[string](tb, fmt.Sprintf(`(() => {
		const days = document.querySelectorAll(%q);
		const day = days[Math.min(%d, days.length - 1)];
		const inputs = day.querySelectorAll("input[name=start]");
		return inputs[Math.min(%d, inputs.length - 1)].id;
	})()`, form+" .slots-day", d, n))
	tb.click(form + ` label[for="` + id + `"]`)
	if !eval[bool](tb, fmt.Sprintf(`document.getElementById(%q).checked`, id)) {
		t.Fatalf("clicking the label of %s did not select it", id)
	}
	return tb.value("#" + id)
}

// bookingRow is a booking as the database holds it.
func bookingRow(t *testing.T, s *site, email string) (start, zone, status, sequence string) {
	t.Helper()
	rows := s.query(t, `SELECT b.start_at, b.timezone, b.status, b.sequence FROM bookings b JOIN leads l ON l.id = b.lead_id WHERE l.email = ?`, email)
	if len(rows) != 1 {
		t.Fatalf("%d bookings for %s, want 1", len(rows), email)
	}
	return rows[0][0], rows[0][1], rows[0][2], rows[0][3]
}

func sameInstant(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err1 := time.Parse(time.RFC3339, a)
	tb, err2 := time.Parse(time.RFC3339, b)
	if err1 != nil || err2 != nil {
		t.Fatalf("times %q, %q", a, b)
	}
	return ta.Equal(tb)
}

// TestBrowserBooking follows the CEO call to action from an article, books
// a call in the visitor's own time zone, then moves and cancels it from the
// link in the confirmation email.
func TestBrowserBooking(t *testing.T) {
	const zone = "America/New_York"
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{TimeZone: zone})
	tb.open("/articles/cto-vs-cio")
	if got := tb.text(".cta h2"); got != ctaText {
		t.Errorf("call to action %q, want %q", got, ctaText)
	}
	tb.clickNav(`.cta a[href="/book"]`)
	// site.js notices the browser's zone and shows the times in it.
	tb.waitJS(`location.search.includes("tz=America%2FNew_York") && document.readyState === "complete"`)
	tb.loaded = time.Now()
	if got := tb.text("h1"); got != bookTitle {
		t.Errorf("heading %q, want %q", got, bookTitle)
	}
	if !strings.HasPrefix(tb.title(), bookTitle) {
		t.Errorf("title %q", tb.title())
	}
	if got := tb.value("#tz-select"); got != zone {
		t.Errorf("zone picker shows %q, want %q", got, zone)
	}
	if got := tb.text(".lead-in strong"); got != calendar.ZoneName(zone) {
		t.Errorf("page says times are in %q", got)
	}
	checkSlotsIn(t, tb, zone)
	tb.check("book")

	start := pickSlot(t, tb, `form[action="/book"]`, 1, 0)
	tb.fill("#book-name", "Grace Hopper")
	tb.fill("#book-email", "grace@example.com")
	tb.fill("#book-company", "Navy Labs")
	tb.fill("#book-message", "Compilers for everyone.")
	tb.click("#book-consent")
	tb.minFill()
	tb.clickNav(`form[action="/book"] button[type=submit]`)
	if !strings.Contains(tb.url(), "/bookings/") || !strings.HasSuffix(tb.url(), "?created=1") {
		t.Fatalf("after booking the browser is on %s", tb.url())
	}
	if got := tb.text("[role=status] .notice"); !strings.HasPrefix(got, "Your call is booked.") {
		t.Errorf("confirmation notice %q", got)
	}
	when := tb.text(".details dd")
	if !strings.Contains(when, calendar.ZoneName(zone)) {
		t.Errorf("the confirmation shows %q, not the visitor's zone", when)
	}
	dbStart, dbZone, status, _ := bookingRow(t, s, "grace@example.com")
	if !sameInstant(t, dbStart, start) || dbZone != zone || status != "confirmed" {
		t.Errorf("stored booking %s %s %s, want %s %s confirmed", dbStart, dbZone, status, start, zone)
	}
	wantLead(t, s, visitor{Name: "Grace Hopper", Email: "grace@example.com", Company: "Navy Labs", Message: "Compilers for everyone."}, "booking")
	tb.check("booking-confirmation")

	link := s.manageLink(t, "grace@example.com")
	if !strings.Contains(tb.url(), link) {
		t.Errorf("the emailed link %s is not the confirmation page %s", link, tb.url())
	}
	tb.open(link)
	if got := tb.text(".details dd"); got != when {
		t.Errorf("manage page shows %q, confirmation showed %q", got, when)
	}

	moved := pickSlot(t, tb, `form[action$="/reschedule"]`, 2, 1)
	tb.clickNav(`form[action$="/reschedule"] button[type=submit]`)
	if got := tb.text("[role=status] .notice"); !strings.HasPrefix(got, "Your call was moved.") {
		t.Errorf("reschedule notice %q", got)
	}
	if got := tb.text(".details dd"); got == when {
		t.Errorf("the manage page still shows the old time %q", got)
	}
	dbStart, _, status, seq := bookingRow(t, s, "grace@example.com")
	if !sameInstant(t, dbStart, moved) || status != "confirmed" || seq != "1" {
		t.Errorf("after the move the booking is %s %s sequence %s, want %s confirmed 1", dbStart, status, seq, moved)
	}

	// Cancelling asks once: the button opens the question, the second
	// button cancels.
	if eval[bool](tb, `document.querySelector('form[action$="/cancel"] button').checkVisibility()`) {
		t.Error("the cancel button is in view before the visitor asked to cancel")
	}
	tb.click(`details.cancel-confirm summary`)
	tb.a11y("booking-cancel-confirm")
	tb.clickNav(`form[action$="/cancel"] button[type=submit]`)
	if got := tb.text("h1"); got != "This call was cancelled" {
		t.Errorf("heading %q after cancelling", got)
	}
	if got := tb.text("[role=status] .notice"); !strings.HasPrefix(got, "Your call was cancelled.") {
		t.Errorf("cancel notice %q", got)
	}
	if _, _, status, _ := bookingRow(t, s, "grace@example.com"); status != "cancelled" {
		t.Errorf("booking status %s after cancelling", status)
	}
	if n := eval[int](tb, `document.querySelectorAll("input[name=start]").length`); n != 0 {
		t.Errorf("a cancelled booking still offers %d times to move to", n)
	}
	tb.check("booking-cancelled")
}

// TestBrowserKeyboardBooking books and cancels a call with the keyboard
// alone: Tab through the page, arrow keys in the slot group, Space for the
// consent box, Enter on the buttons.
func TestBrowserKeyboardBooking(t *testing.T) {
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{TimeZone: "Europe/London"})
	tb.open("/book?tz=Europe/London")
	tb.tabTo(`input[name=start]`, 15)
	first := eval[string](tb, `document.activeElement.id`)
	tb.keys(" ")
	tb.keys(kb.ArrowRight + kb.ArrowRight)
	checked := eval[string](tb, `(document.querySelector("input[name=start]:checked") || {}).id || ""`)
	if checked == "" || checked == first || !tb.focusIs("input[name=start]:checked") {
		t.Fatalf("arrow keys did not move the selection: first %s, checked %q", first, checked)
	}
	tb.tabTo("#book-name", 4)
	tb.keys("Grace Hopper")
	tb.tabTo("#book-email", 1)
	tb.keys("grace@example.com")
	tb.tabTo("#book-company", 1)
	tb.tabTo("#book-phone", 1)
	tb.tabTo("#book-message", 1)
	tb.keys("Booked without a mouse.")
	tb.tabTo("#book-consent", 1)
	tb.keys(" ")
	// Past the privacy notice's link in the consent box.
	tb.tabTo(`form[action="/book"] button[type=submit]`, 2)
	tb.minFill()
	start := tb.value("#" + checked)
	tb.keys(kb.Enter)
	tb.waitJS(`location.pathname.startsWith("/bookings/") && document.readyState === "complete"`)
	dbStart, _, status, _ := bookingRow(t, s, "grace@example.com")
	if !sameInstant(t, dbStart, start) || status != "confirmed" {
		t.Fatalf("booking %s %s, want %s confirmed", dbStart, status, start)
	}
	tb.tabTo(`details.cancel-confirm summary`, 12)
	tb.keys(kb.Enter)
	tb.tabTo(`form[action$="/cancel"] button`, 1)
	tb.keys(kb.Enter)
	tb.waitJS(`location.search.includes("cancelled=1") && document.readyState === "complete"`)
	if _, _, status, _ := bookingRow(t, s, "grace@example.com"); status != "cancelled" {
		t.Errorf("booking %s after cancelling with Enter", status)
	}
}

// TestBrowserEveryPage checks and photographs the pages no flow above ends
// on: the index, each article, the contact and thank-you pages, the empty
// booking page and a 404.
func TestBrowserEveryPage(t *testing.T) {
	s := startSite(t, nil)
	// A tab of its own for each page: each tab's deadline then bounds one
	// page's checks, however loaded the machine is.
	tabFor := func(path string) *tab {
		tb := newTab(t, s, tabConfig{TimeZone: "Europe/Berlin"})
		tb.open(path)
		return tb
	}
	tb := tabFor("/")
	tb.check("index")
	articles := eval[[]string](tb, `[...document.querySelectorAll(".cards h3 a")].map(a => a.getAttribute("href"))`)
	if len(articles) != 4 {
		t.Errorf("%d articles on the index, want 4", len(articles))
	}
	for _, a := range articles {
		tb := tabFor(a)
		if n := eval[int](tb, `document.querySelectorAll(".related .article-card").length`); n == 0 {
			t.Errorf("%s has no related article cards", a)
		}
		if got := tb.text(".cta h2"); got != ctaText {
			t.Errorf("%s: call to action %q", a, got)
		}
		tb.check("article-" + strings.TrimPrefix(a, "/articles/"))
	}
	for _, p := range []struct{ path, name string }{
		{"/contact", "contact"},
		{"/book/received", "book-received"},
	} {
		tabFor(p.path).check(p.name)
	}
	tb = newTab(t, s, tabConfig{TimeZone: "Europe/Berlin"})
	if st := tb.status("/articles/no-such-article"); st != 404 {
		t.Errorf("missing article: status %d", st)
	}
	if got := tb.text("h1"); got != "Page not found" {
		t.Errorf("404 heading %q", got)
	}
	tb.check("404")
}

// TestBrowserContactConfirmStep: a person who fills the contact form
// faster than the fill time (autofill) is asked once to confirm, with what
// they typed kept, instead of being quietly held as spam; confirming
// stores the lead. With scripts on and off.
func TestBrowserContactConfirmStep(t *testing.T) {
	for _, noJS := range []bool{true, false} {
		name := map[bool]string{true: "nojs", false: "js"}[noJS]
		t.Run(name, func(t *testing.T) {
			s := startSite(t, map[string]string{"LEADBOOK_MIN_FILL_SECONDS": "600"})
			tb := newTab(t, s, tabConfig{NoJS: noJS})
			tb.open("/contact")
			tb.fill("#contact-name", ada.Name)
			tb.fill("#contact-email", ada.Email)
			tb.fill("#contact-message", ada.Message)
			tb.click("#contact-consent")
			const want = "Please check your details and confirm that you want to send them."
			if noJS {
				tb.clickNav(`#contact-us button[type=submit]`)
			} else {
				tb.click(`#contact-us button[type=submit]`)
				tb.waitJS(`document.querySelector("#contact-us [data-status] .notice")`)
			}
			if got := tb.text("#contact-us [data-status] .notice"); got != want {
				t.Fatalf("after a fast submission the form says %q", got)
			}
			if got := tb.text(`#contact-us button[type=submit]`); got != "Confirm and send" {
				t.Errorf("button %q, want Confirm and send", got)
			}
			if got := tb.value("#contact-name"); got != ada.Name {
				t.Errorf("name %q on the confirm step", got)
			}
			if n := s.query(t, `SELECT count(*) FROM leads`)[0][0]; n != "0" {
				t.Fatalf("%s leads before confirming", n)
			}
			if n := s.query(t, `SELECT count(*) FROM spam`)[0][0]; n != "0" {
				t.Fatalf("%s submissions held as spam", n)
			}
			tb.check("contact-confirm-step-" + name)
			if noJS {
				tb.clickNav(`#contact-us button[type=submit]`)
				if u, _, _ := strings.Cut(tb.url(), "#"); u != s.URL+"/contact/thanks" {
					t.Fatalf("after confirming the browser is on %s", tb.url())
				}
			} else {
				tb.click(`#contact-us button[type=submit]`)
				tb.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
			}
			if n := s.query(t, `SELECT count(*) FROM leads WHERE email = ?`, ada.Email)[0][0]; n != "1" {
				t.Fatalf("%s leads after confirming", n)
			}
		})
	}
}
