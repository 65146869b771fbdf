package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"leadbook/handlers"
)

// Tests of issue 9, finding 5 that need its settings: the caps on calls
// per email address and bookings per client address, and confirmation by
// email.

// bookFrom posts a booking as the client at remote, as JSON or as a form.
func (a *app) bookFrom(remote, mode, email, start string) *httptest.ResponseRecorder {
	a.t.Helper()
	token := a.formToken("/book")
	var req *http.Request
	if mode == "json" {
		j := bookingJSON(token, start)
		j["email"] = email
		b, _ := json.Marshal(j)
		req = httptest.NewRequest(http.MethodPost, "/book", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
	} else {
		v := bookingValues(token, start)
		v.Set("email", email)
		req = httptest.NewRequest(http.MethodPost, "/book", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	req.RemoteAddr = remote
	return a.do(req)
}

const (
	clientA = "198.51.100.10:4000"
	clientB = "198.51.100.20:4000"
	clientC = "198.51.100.30:4000"
)

func TestBookingLimits(t *testing.T) {
	for _, mode := range []string{"json", "form"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{booking: func(b *handlers.Booking) {
				b.MaxUpcomingPerEmail, b.BookingsPerAddressDay = 1, 3
			}})
			ok := http.StatusCreated
			if mode == "form" {
				ok = http.StatusSeeOther
			}
			first := a.bookFrom(clientA, "json", "grace@example.com", tuesday9)
			if first.Code != http.StatusCreated {
				t.Fatalf("first: %d %s", first.Code, first.Body)
			}
			var got struct {
				ManageURL string `json:"manage_url"`
			}
			json.Unmarshal(first.Body.Bytes(), &got)
			manage := strings.TrimPrefix(got.ManageURL, "https://consult.example")

			// One call to come per address, whatever the letter case.
			rec := a.bookFrom(clientB, mode, "Grace@EXAMPLE.com", wednesday9)
			if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already has a call with us coming up") {
				t.Fatalf("second call for one address: %d, want 409 with the message\n%s", rec.Code, rec.Body)
			}
			if mode == "form" && !strings.Contains(rec.Body.String(), `value="Grace@EXAMPLE.com"`) {
				t.Error("the form shown again lost the input")
			}
			// Moving the call is not a new booking.
			if rec := a.postForm(manage+"/reschedule", url.Values{"start": {wednesday10}}); rec.Code != http.StatusSeeOther {
				t.Fatalf("reschedule: %d %s", rec.Code, rec.Body)
			}

			// Three bookings a day per client address: the 4th is refused.
			for i, email := range []string{"bob@example.com", "carol@example.com"} {
				if rec := a.bookFrom(clientA, mode, email, []string{"2026-03-03T10:00:00+01:00", "2026-03-03T10:30:00+01:00"}[i]); rec.Code != ok {
					t.Fatalf("booking %d from one address: %d %s", i+2, rec.Code, rec.Body)
				}
			}
			rec = a.bookFrom(clientA, mode, "dave@example.com", "2026-03-03T11:00:00+01:00")
			if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "Too many calls were booked from your network address") {
				t.Fatalf("4th booking from one address: %d, want 429 with the message\n%s", rec.Code, rec.Body)
			}
			if mode == "form" && !strings.Contains(rec.Body.String(), `value="dave@example.com"`) {
				t.Error("the form shown again lost the input")
			}
			// Another address may; and a cancelled call frees its email.
			if rec := a.bookFrom(clientB, mode, "dave@example.com", "2026-03-03T11:00:00+01:00"); rec.Code != ok {
				t.Fatalf("from another address: %d %s", rec.Code, rec.Body)
			}
			if rec := a.postForm(manage+"/cancel", nil); rec.Code != http.StatusSeeOther {
				t.Fatal(rec.Code)
			}
			if rec := a.bookFrom(clientC, mode, "grace@example.com", "2026-03-03T12:00:00+01:00"); rec.Code != ok {
				t.Fatalf("after cancelling: %d %s", rec.Code, rec.Body)
			}
			// A day later the address may book again.
			a.clock.Add(24 * time.Hour)
			if rec := a.bookFrom(clientA, mode, "erin@example.com", "2026-03-05T09:00:00+01:00"); rec.Code != ok {
				t.Fatalf("a day later: %d %s", rec.Code, rec.Body)
			}
			if n := a.count(`SELECT COUNT(*) FROM bookings`); n != 6 {
				t.Fatalf("%d bookings, want 6", n)
			}
			if n := a.count(`SELECT COUNT(*) FROM bookings WHERE client_key IS NULL OR instr(client_key, '198.51.100') > 0`); n != 0 {
				t.Fatalf("%d bookings store no key or the client address itself", n)
			}
		})
	}
}

var linkRE = regexp.MustCompile(`https://consult\.example(/bookings/[A-Za-z0-9_-]{43})`)

// holdLink returns the confirm link of the hold mail sent to email.
func (a *app) holdLink(t *testing.T, email string) string {
	t.Helper()
	for _, m := range a.queued(t, "booking_hold") {
		if m.To.Address == email {
			if m := linkRE.FindStringSubmatch(m.Text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no hold mail with a link for %s", email)
	return ""
}

func TestBookingConfirmByEmail(t *testing.T) {
	a := newApp(t, options{booking: func(b *handlers.Booking) {
		b.ConfirmByEmail, b.Hold = true, 30*time.Minute
	}})
	rec := a.bookFrom(clientA, "form", "grace@example.com", tuesday9)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/book/held" {
		t.Fatalf("hold: %d %q; the answer must not carry the manage link", rec.Code, rec.Header().Get("Location"))
	}
	if page := a.get("/book/held"); page.Code != 200 || !strings.Contains(page.Body.String(), "Please confirm your call") {
		t.Fatalf("held page: %d", page.Code)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind != 'booking_hold'`); n != 0 {
		t.Fatalf("%d other mails queued for a hold; the CEO must not be invited yet", n)
	}
	holds := a.queued(t, "booking_hold")
	if len(holds) != 1 || holds[0].To.Address != "grace@example.com" || holds[0].To.Name != "" {
		t.Fatalf("hold mail: %+v", holds)
	}
	for _, typed := range []string{"Grace", "Hopper", "Navy", "Compilers"} {
		if strings.Contains(holds[0].Subject+holds[0].Text+holds[0].HTML, typed) {
			t.Errorf("the hold mail carries %q, typed by the visitor", typed)
		}
	}
	link := a.holdLink(t, "grace@example.com")

	// The hold takes the slot for everyone else.
	if rec := a.bookFrom(clientB, "json", "bob@example.com", tuesday9); rec.Code != http.StatusConflict {
		t.Fatalf("a held slot booked again: %d %s", rec.Code, rec.Body)
	}
	for _, s := range a.slots("from=2026-03-03&to=2026-03-03").Slots {
		if s.Start == tuesday9 {
			t.Fatal("a held slot is offered")
		}
	}
	// GET shows the button and changes nothing.
	page := a.get(link)
	if page.Code != 200 || !strings.Contains(page.Body.String(), `action="`+link+`/confirm"`) || !strings.Contains(page.Body.String(), "Confirm my call") {
		t.Fatalf("confirm page: %d\n%s", page.Code, page.Body)
	}
	for _, typed := range []string{"Grace", "Navy", "Compilers"} {
		if strings.Contains(page.Body.String(), typed) {
			t.Errorf("the hold's page, reached from mail to an unverified address, shows %q", typed)
		}
	}
	if rec := a.get(link + "/invite.ics"); rec.Code != http.StatusConflict {
		t.Errorf("invite.ics of a hold: %d", rec.Code)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'invitation_ceo'`); n != 0 {
		t.Fatal("a GET invited the CEO")
	}
	// POST confirms: the invitations go now, once.
	for range 2 {
		if rec := a.postForm(link+"/confirm", nil); rec.Code != http.StatusSeeOther || !strings.HasSuffix(rec.Header().Get("Location"), "?created=1") {
			t.Fatalf("confirm: %d %q", rec.Code, rec.Header().Get("Location"))
		}
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'invitation_ceo' AND recipient = 'ceo@example.com'`); n != 1 {
		t.Fatalf("%d CEO invitations after confirming, want 1", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'invitation' AND recipient = 'grace@example.com'`); n != 1 {
		t.Fatalf("%d visitor invitations", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings WHERE hold_until IS NULL AND status = 'confirmed'`); n != 1 {
		t.Fatal("the booking is not confirmed")
	}

	// An unconfirmed hold frees its slot after the hold, with no timer run.
	rec = a.bookFrom(clientB, "json", "carol@example.com", wednesday9)
	var held map[string]any
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &held) != nil || held["status"] != "held" || held["manage_url"] != nil {
		t.Fatalf("JSON hold: %d %s", rec.Code, rec.Body)
	}
	carol := a.holdLink(t, "carol@example.com")
	wed := func() bool {
		for _, s := range a.slots("from=2026-03-04&to=2026-03-04").Slots {
			if s.Start == wednesday9 {
				return true
			}
		}
		return false
	}
	if wed() {
		t.Fatal("held slot offered")
	}
	a.clock.Add(31 * time.Minute)
	if !wed() {
		t.Fatal("an expired hold's slot is not offered (the cached answer outlived the hold)")
	}
	if rec := a.bookFrom(clientC, "json", "dave@example.com", wednesday9); rec.Code != http.StatusAccepted {
		t.Fatalf("booking an expired hold's slot: %d %s", rec.Code, rec.Body)
	}
	rec = a.postForm(carol+"/confirm", nil)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "not confirmed in time") {
		t.Fatalf("confirming an expired hold: %d\n%s", rec.Code, rec.Body)
	}
	if !strings.Contains(a.get(carol).Body.String(), "This time was released") {
		t.Error("the expired hold's page does not say so")
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'invitation_ceo'`); n != 1 {
		t.Fatalf("%d CEO invitations; only the confirmed call may have one", n)
	}
	// The periodic release tidies what the queries already ignore.
	a.clock.Add(31 * time.Minute)
	if n, err := a.store.ReleaseExpiredHolds(context.Background()); err != nil || n != 1 {
		t.Fatalf("release: %d %v", n, err)
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings WHERE status = 'cancelled' AND hold_until IS NOT NULL`); n != 2 {
		t.Fatalf("%d released holds, want 2", n)
	}
}
