package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
)

// The test clock starts on Monday 2 March 2026, 09:00 UTC (10:00 in
// Berlin); with 12 hours' notice the first slot is Tuesday 09:00 Berlin.
var (
	tuesday9    = "2026-03-03T09:00:00+01:00"
	wednesday9  = "2026-03-04T09:00:00+01:00"
	wednesday10 = "2026-03-04T10:00:00+01:00"
)

func bookingValues(token, start string) url.Values {
	return url.Values{
		"start": {start}, "name": {"Grace Hopper"}, "email": {"grace@example.com"}, "company": {"Navy"},
		"message": {"Compilers"}, "tz": {"Europe/Berlin"}, "consent": {"on"}, "form_token": {token}, "website": {""},
	}
}

func bookingJSON(token, start string) map[string]any {
	return map[string]any{
		"start": start, "name": "Grace Hopper", "email": "grace@example.com", "company": "Navy",
		"message": "Compilers", "tz": "America/New_York", "consent": true, "form_token": token,
	}
}

type slotsAnswer struct {
	Timezone string
	Slots    []struct{ Start, End string }
}

func (a *app) slots(query string) slotsAnswer {
	a.t.Helper()
	rec := a.get("/api/slots?" + query)
	if rec.Code != http.StatusOK {
		a.t.Fatalf("slots %s: %d %s", query, rec.Code, rec.Body)
	}
	var s slotsAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		a.t.Fatal(err)
	}
	return s
}

func TestSlotsAPI(t *testing.T) {
	a := newApp(t, options{})
	s := a.slots("from=2026-03-02&to=2026-03-03")
	if s.Timezone != "Europe/Berlin" || len(s.Slots) != 16 || s.Slots[0].Start != tuesday9 || s.Slots[15].End != "2026-03-03T17:00:00+01:00" {
		t.Fatalf("got %+v", s)
	}
	ny := a.slots("from=2026-03-03&to=2026-03-03&tz=America/New_York")
	if ny.Timezone != "America/New_York" || ny.Slots[0].Start != "2026-03-03T03:00:00-05:00" {
		t.Fatalf("New York: %+v", ny.Slots[:1])
	}
	// Across the spring-forward change in Berlin (29 March), 09:00 stays 09:00.
	after := a.slots("from=2026-03-30&to=2026-03-30")
	if after.Slots[0].Start != "2026-03-30T09:00:00+02:00" {
		t.Fatalf("after DST: %v", after.Slots[0])
	}
	for _, q := range []string{"from=2026-13-01", "tz=Mars/Base", "from=2026-03-05&to=2026-03-01", "from=2026-03-01&to=2026-06-01"} {
		if rec := a.get("/api/slots?" + q); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, rec.Code)
		}
	}
	// Booking a slot removes it from the (cached) answer.
	a.slots("from=2026-03-03&to=2026-03-03")
	a.clock.Add(5 * time.Second)
	if rec := a.postJSON("/book", bookingJSON(a.formToken("/book"), tuesday9)); rec.Code != http.StatusCreated {
		t.Fatalf("book: %d %s", rec.Code, rec.Body)
	}
	if got := a.slots("from=2026-03-03&to=2026-03-03"); len(got.Slots) != 15 || got.Slots[0].Start == tuesday9 {
		t.Fatalf("booked slot still offered: %v", got.Slots[:2])
	}
	// Time passing drops slots inside the notice, cache or not.
	a.clock.Add(12 * time.Hour)
	if got := a.slots("from=2026-03-03&to=2026-03-03"); len(got.Slots) == 0 || got.Slots[0].Start == "2026-03-03T09:30:00+01:00" {
		t.Fatalf("slot inside the notice offered: %v", got.Slots[:1])
	}
}

func TestBookPage(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/book?tz=America/New_York")
	if rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"<h1>Free consultation call with our CEO</h1>", `name="start"`,
		`value="2026-03-03T03:00:00-05:00"`, "Tuesday, 3 March", "03:00–03:30", `selected>UTC−05:00 · Eastern Time, New York</option>`,
		`name="form_token"`, `name="tz" value="America/New_York"`, "Later →"} {
		if !strings.Contains(body, want) {
			t.Errorf("book page lacks %q", want)
		}
	}
	// An article's call to action leads here.
	if !strings.Contains(a.get("/articles/cto-vs-cio").Body.String(), `href="/book"`) {
		t.Error("no link to /book")
	}
}

func TestBookingFlow(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{minFill: 3 * time.Second})
			token := a.formToken("/book")
			a.clock.Add(10 * time.Second)
			var manage string
			if mode == "form" {
				rec := a.postForm("/book", bookingValues(token, wednesday9))
				if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/bookings/") {
					t.Fatalf("book: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
				}
				manage = strings.TrimSuffix(rec.Header().Get("Location"), "?created=1")
			} else {
				rec := a.postJSON("/book", bookingJSON(token, wednesday9))
				var got struct {
					ID         int64
					Start, End string
					ManageURL  string `json:"manage_url"`
					ICSURL     string `json:"ics_url"`
				}
				if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
					t.Fatalf("book: %d %s", rec.Code, rec.Body)
				}
				if got.Start != "2026-03-04T03:00:00-05:00" || got.End != "2026-03-04T03:30:00-05:00" || got.ID == 0 ||
					!strings.HasPrefix(got.ManageURL, "https://consult.example/bookings/") || got.ICSURL != got.ManageURL+"/invite.ics" {
					t.Fatalf("answer %+v", got)
				}
				manage = strings.TrimPrefix(got.ManageURL, "https://consult.example")
				// A retried POST gets the first answer and books nothing new.
				again := a.postJSON("/book", bookingJSON(token, wednesday9))
				if again.Code != http.StatusCreated || again.Body.String() != rec.Body.String() {
					t.Fatalf("retry: %d %s", again.Code, again.Body)
				}
			}
			if n := a.count(`SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'`); n != 1 {
				t.Fatalf("%d bookings", n)
			}
			if n := a.count(`SELECT COUNT(*) FROM leads WHERE source = 'booking' AND email = 'grace@example.com'`); n != 1 {
				t.Fatal("no booking lead")
			}
			if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind IN ('invitation', 'invitation_ceo', 'reminder')`); n != 3 {
				t.Fatalf("%d booking mails queued, want invitation, CEO invitation and reminder", n)
			}
			// GET shows the booking and changes nothing.
			page := a.get(manage)
			if page.Code != 200 || !strings.Contains(page.Body.String(), "Cancel this call") ||
				page.Header().Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("manage page: %d", page.Code)
			}
			// The form books from Berlin, the JSON from New York: each sees
			// the call in their own zone, never the other's.
			when := "<dt>When</dt><dd>Wednesday, 4 March 2026, 09:00–09:30 (Central European Time, Berlin)</dd>"
			if mode == "json" {
				when = "<dt>When</dt><dd>Wednesday, 4 March 2026, 03:00–03:30 (Eastern Time, New York)</dd>"
			}
			if !strings.Contains(html.UnescapeString(page.Body.String()), when) {
				t.Errorf("manage page lacks the visitor's time %s: %s", when, page.Body)
			}
			if strings.Contains(page.Body.String(), "CEO&#39;s time") || strings.Contains(page.Body.String(), "<dt>UTC</dt>") {
				t.Error("the visitor's page shows the time three times")
			}
			ics := a.get(manage + "/invite.ics")
			if ics.Code != 200 || !strings.Contains(ics.Body.String(), "METHOD:REQUEST") || !strings.Contains(ics.Body.String(), "SEQUENCE:0") {
				t.Fatalf("invite.ics: %d %s", ics.Code, ics.Body)
			}
			// Reschedule: same UID, SEQUENCE 1, the old slot free again.
			rec := a.postForm(manage+"/reschedule", url.Values{"start": {wednesday10}})
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("reschedule: %d %s", rec.Code, rec.Body)
			}
			ics2 := a.get(manage + "/invite.ics").Body.String()
			if !strings.Contains(ics2, "SEQUENCE:1") || uidOf(ics2) != uidOf(ics.Body.String()) || !strings.Contains(ics2, "DTSTART:20260304T090000Z") {
				t.Fatalf("after reschedule: %s", ics2)
			}
			if s := a.slots("from=2026-03-04&to=2026-03-04"); s.Slots[0].Start != wednesday9 {
				t.Fatalf("old slot not offered again: %v", s.Slots[0])
			}
			if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'reminder' AND status = 'cancelled'`); n != 1 {
				t.Fatalf("old reminder not withdrawn (%d)", n)
			}
			// Cancel: METHOD:CANCEL, SEQUENCE 2, slot free, reminders gone.
			if rec := a.postForm(manage+"/cancel", nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("cancel: %d", rec.Code)
			}
			ics3 := a.get(manage + "/invite.ics").Body.String()
			if !strings.Contains(ics3, "METHOD:CANCEL") || !strings.Contains(ics3, "STATUS:CANCELLED") || !strings.Contains(ics3, "SEQUENCE:2") {
				t.Fatalf("after cancel: %s", ics3)
			}
			if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'reminder' AND status = 'queued'`); n != 0 {
				t.Fatal("a reminder is still queued for a cancelled call")
			}
			if s := a.slots("from=2026-03-04&to=2026-03-04"); len(s.Slots) != 16 {
				t.Fatalf("%d slots after cancel, want 16", len(s.Slots))
			}
			if page := a.get(manage).Body.String(); !strings.Contains(page, "This call was cancelled") {
				t.Error("manage page does not say cancelled")
			}
			// Every invitation, update and cancellation, as the email it
			// is, passes the independent parsers.
			for _, m := range a.mails(t, "invitation", "invitation_ceo") {
				checkICS(t, m.name, m.eml)
			}
		})
	}
}

var uidRE = regexp.MustCompile(`UID:(\S+)`)

func uidOf(ics string) string {
	m := uidRE.FindStringSubmatch(ics)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestConcurrentBookingsOfOneSlot books one slot from many visitors at
// once through the whole router: exactly one wins, the rest get 409.
func TestConcurrentBookingsOfOneSlot(t *testing.T) {
	a := newApp(t, options{})
	const n = 48
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = a.formToken("/book")
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := bookingValues(tokens[i], tuesday9)
			v.Set("email", fmt.Sprintf("visitor%d@example.com", i))
			<-start
			if i%2 == 0 {
				codes[i] = a.postForm("/book", v).Code
				return
			}
			j := bookingJSON(tokens[i], tuesday9)
			j["email"] = v.Get("email")
			codes[i] = a.postJSON("/book", j).Code
		}()
	}
	close(start)
	wg.Wait()
	won, lost := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusSeeOther, http.StatusCreated:
			won++
		case http.StatusConflict:
			lost++
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("%d won, %d got 409; want 1 and %d", won, lost, n-1)
	}
	if got := a.count(`SELECT COUNT(*) FROM bookings WHERE start_at = '2026-03-03T08:00:00.000Z'`); got != 1 {
		t.Fatalf("%d bookings of the slot", got)
	}
}

func TestBookingConflictAndValidation(t *testing.T) {
	a := newApp(t, options{})
	if rec := a.postJSON("/book", bookingJSON(a.formToken("/book"), tuesday9)); rec.Code != http.StatusCreated {
		t.Fatal(rec.Code)
	}
	// Taken: 409 with fresh slots (JSON) or the page with the input kept.
	other := bookingJSON(a.formToken("/book"), tuesday9)
	other["email"] = "other@example.com"
	rec := a.postJSON("/book", other)
	var got struct {
		Error string
		Slots []struct{ Start string }
	}
	if rec.Code != http.StatusConflict || json.Unmarshal(rec.Body.Bytes(), &got) != nil || len(got.Slots) == 0 || got.Slots[0].Start == tuesday9 {
		t.Fatalf("409: %d %s", rec.Code, rec.Body)
	}
	v := bookingValues(a.formToken("/book"), tuesday9)
	v.Set("email", "other@example.com")
	page := a.postForm("/book", v)
	if page.Code != http.StatusConflict || !strings.Contains(page.Body.String(), `value="other@example.com"`) ||
		!strings.Contains(page.Body.String(), "no longer available") {
		t.Fatalf("409 page: %d", page.Code)
	}
	// Not offered at all: a Sunday, an odd minute, the past, beyond the horizon.
	for _, start := range []string{"2026-03-08T10:00:00+01:00", "2026-03-03T09:10:00+01:00", "2026-03-02T11:00:00+01:00", "2026-06-02T10:00:00+02:00"} {
		if rec := a.postJSON("/book", bookingJSON(a.formToken("/book"), start)); rec.Code != http.StatusConflict {
			t.Errorf("%s: %d, want 409", start, rec.Code)
		}
	}
	// Bad fields: 422 with every field named, input kept.
	bad := bookingValues(a.formToken("/book"), "tomorrow")
	bad.Set("email", "nope")
	bad.Del("consent")
	rec = a.postForm("/book", bad)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `value="nope"`) ||
		!strings.Contains(rec.Body.String(), "Please pick a time") {
		t.Fatalf("422: %d", rec.Code)
	}
	rec = a.postJSON("/book", map[string]any{"start": "x", "form_token": a.formToken("/book")})
	var inv struct{ Fields map[string]string }
	if rec.Code != http.StatusUnprocessableEntity || json.Unmarshal(rec.Body.Bytes(), &inv) != nil || inv.Fields["start"] == "" || inv.Fields["email"] == "" {
		t.Fatalf("422 json: %d %s", rec.Code, rec.Body)
	}
}

func TestBookingRejects(t *testing.T) {
	a := newApp(t, options{minFill: 3 * time.Second, rateLimit: 100})
	// Honeypot: the bot sees success, nothing is booked.
	v := bookingValues(a.formToken("/book"), tuesday9)
	a.clock.Add(time.Minute)
	v.Set("website", "x")
	if rec := a.postForm("/book", v); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/book/received" {
		t.Fatalf("honeypot: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if a.count(`SELECT COUNT(*) FROM bookings`) != 0 || a.count(`SELECT COUNT(*) FROM spam WHERE form = 'booking'`) != 1 {
		t.Fatal("honeypot booking stored or not held")
	}
	// Cross-origin: 403.
	req := httptest.NewRequest(http.MethodPost, "/book", strings.NewReader(bookingValues(a.formToken("/book"), tuesday9).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := a.do(req); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-origin: %d", rec.Code)
	}
	// Manage links: malformed and unknown tokens are 404; so is the feed
	// with a wrong secret.
	for _, p := range []string{"/bookings/short", "/bookings/" + strings.Repeat("A", 43), "/bookings/" + strings.Repeat("A", 43) + "/invite.ics", "/calendar/wrong.ics"} {
		if rec := a.get(p); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	if rec := a.postForm("/bookings/"+strings.Repeat("A", 43)+"/cancel", nil); rec.Code != http.StatusNotFound {
		t.Errorf("cancel with unknown token: %d", rec.Code)
	}
}

func TestCalendarFeed(t *testing.T) {
	a := newApp(t, options{})
	if rec := a.postJSON("/book", bookingJSON(a.formToken("/book"), tuesday9)); rec.Code != http.StatusCreated {
		t.Fatal(rec.Code)
	}
	rec := a.get("/calendar/feed-secret-0123456789.ics")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/calendar") ||
		!strings.Contains(body, "BEGIN:VEVENT") || !strings.Contains(body, "DTSTART:20260303T080000Z") {
		t.Fatalf("feed: %d %s", rec.Code, body)
	}
	if strings.Contains(body, "ATTENDEE") {
		t.Error("the CEO's feed names attendees")
	}
}

// checkICS runs the independent iCalendar parsers on content.
func checkICS(t *testing.T, name string, content []byte) {
	t.Helper()
	dir := os.Getenv("LEADBOOK_ICALCHECK_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "icalcheck")
	}
	check := filepath.Join(dir, "check")
	if _, err := os.Stat(check); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("icalcheck not found at %s", check)
		}
		t.Skipf("icalcheck not found at %s", check)
	}
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, content, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(check, f).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "" && strings.Contains(string(out), "setup") {
			t.Skipf("icalcheck not set up: %s", out)
		}
		t.Fatalf("icalcheck rejects %s: %v\n%s", name, err, out)
	}
}

type mailFile struct {
	name string
	eml  []byte
}

// mails renders the outbox rows of the given kinds as .eml files.
func (a *app) mails(t *testing.T, kinds ...string) []mailFile {
	t.Helper()
	msgs, err := a.store.ListMail(context.Background(), leads.MailFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []mailFile
	for _, row := range msgs {
		if !slices.Contains(kinds, row.Kind) {
			continue
		}
		m, err := a.composer.Render(row.Payload)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mailFile{name: fmt.Sprintf("%s-%d.eml", row.Kind, row.ID), eml: b})
	}
	if len(out) == 0 {
		t.Fatalf("no mail of kinds %v", kinds)
	}
	return out
}

// TestBookingRulesInTransaction books through the router under a daily cap
// and a buffer: the rules that depend on other bookings hold at POST time.
func TestBookingRulesInTransaction(t *testing.T) {
	a := newApp(t, options{rules: func(r *calendar.Rules) { r.DailyCap = 2; r.Buffer = 15 * time.Minute }})
	book := func(start, email string) int {
		j := bookingJSON(a.formToken("/book"), start)
		j["email"] = email
		return a.postJSON("/book", j).Code
	}
	if c := book("2026-03-04T09:00:00+01:00", "a@example.com"); c != http.StatusCreated {
		t.Fatalf("first: %d", c)
	}
	// The buffer: the next slot touches the call; the one after is free.
	if c := book("2026-03-04T09:30:00+01:00", "b@example.com"); c != http.StatusConflict {
		t.Fatalf("inside the buffer: %d", c)
	}
	if c := book("2026-03-04T16:30:00+01:00", "c@example.com"); c != http.StatusCreated {
		t.Fatalf("second of the day: %d", c)
	}
	// The cap: a third call that day is refused, the next day is open.
	if c := book("2026-03-04T12:00:00+01:00", "d@example.com"); c != http.StatusConflict {
		t.Fatalf("over the daily cap: %d", c)
	}
	if c := book("2026-03-05T12:00:00+01:00", "e@example.com"); c != http.StatusCreated {
		t.Fatalf("next day: %d", c)
	}
	if s := a.slots("from=2026-03-04&to=2026-03-04"); len(s.Slots) != 0 {
		t.Fatalf("a capped day still offers %d slots", len(s.Slots))
	}
}
