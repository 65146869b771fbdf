package main

import (
	"strings"
	"testing"
)

// TestBrowserBookingQuestions books with the booking form's own questions
// and a meeting link, with JavaScript and without: the questions are plain
// fields (a textarea, radio buttons, a text input); a required one left
// empty brings the form back with its message and everything typed and
// picked still there; answered, the call is booked with the answers, and
// its page says where it happens and offers the add-to-calendar links.
// Every page passes axe-core, at phone and desktop widths.
func TestBrowserBookingQuestions(t *testing.T) {
	for _, mode := range []struct {
		name string
		noJS bool
	}{{"js", false}, {"nojs", true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startSite(t, map[string]string{
				"LEADBOOK_MEETING_URL": "https://meet.jit.si/northwind-{room}",
				"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"goal","label":"What should the call be about?","kind":"long","required":true},
					{"id":"size","label":"Team size","kind":"choice","choices":["1-10","10-50","50+"],"required":true},
					{"id":"ref","label":"How did you hear of us?","kind":"text"}]`,
			})
			// A tab for each page checked: each tab has a time budget, and
			// axe-core with two screenshots per page takes a while on a
			// busy machine.
			cfg := tabConfig{NoJS: mode.noJS, TimeZone: "Europe/Berlin"}
			first := newTab(t, s, cfg)
			first.open("/book?tz=Europe/Berlin")
			first.check("book-questions-" + mode.name)
			tb := newTab(t, s, cfg)
			tb.open("/book?tz=Europe/Berlin")
			pickSlot(t, tb, `form[action="/book"]`, 1, 0)
			tb.fill("#book-name", "Grace Hopper")
			tb.fill("#book-email", "grace@example.com")
			tb.click(`label[for="book-q-size-1"]`)
			tb.fill("#book-q-ref", "A friend")
			tb.click("#book-consent")
			submitBooking(tb)

			if got := tb.text("#book-q-goal-error"); got != "Please answer this question." {
				t.Fatalf("the unanswered question says %q", got)
			}
			if tb.value("#book-q-ref") != "A friend" || tb.value("#book-name") != "Grace Hopper" || !eval[bool](tb, `document.getElementById("book-q-size-1").checked`) {
				t.Error("the form lost what was typed or picked")
			}
			if n := s.query(t, `SELECT count(*) FROM bookings`)[0][0]; n != "0" {
				t.Fatalf("%s bookings from an incomplete form", n)
			}
			tb.check("book-questions-invalid-" + mode.name)

			pickSlot(t, tb, `form[action="/book"]`, 1, 0)
			tb.fill("#book-q-goal", "Moving off COBOL.")
			submitBooking(tb)
			if got := tb.text("h1"); got != "Your call with our CEO" {
				t.Fatalf("after booking the page says %q (%s)", got, tb.url())
			}
			rows := s.query(t, `SELECT room, answers FROM bookings`)
			if len(rows) != 1 || !strings.Contains(rows[0][1], `"value":"Moving off COBOL."`) || !strings.Contains(rows[0][1], `"value":"10-50"`) {
				t.Fatalf("stored %v", rows)
			}
			link := "https://meet.jit.si/northwind-" + rows[0][0]
			if got := tb.text(`dd a[href^="https://meet.jit.si/"]`); got != link {
				t.Errorf("where %q, want %q", got, link)
			}
			booked := newTab(t, s, cfg)
			booked.open(strings.TrimPrefix(tb.url(), s.URL))
			tb = booked
			for _, sel := range []string{`a[href^="https://calendar.google.com/"]`, `a[href^="https://outlook.live.com/"]`, `a[href^="https://outlook.office.com/"]`} {
				if tb.text(sel) == "" {
					t.Errorf("no %s on the booked page", sel)
				}
			}
			tb.check("booking-meeting-" + mode.name)
		})
	}
}

// submitBooking sends the booking form, and once more if it came back
// asking to confirm (a form filled faster than a person types).
func submitBooking(tb *tab) {
	tb.t.Helper()
	tb.clickNav(`form[action="/book"] button[type=submit]`)
	if eval[bool](tb, `(document.querySelector("[data-status] .notice") || {}).textContent === "Please check your booking and confirm it."`) {
		tb.clickNav(`form[action="/book"] button[type=submit]`)
	}
}
