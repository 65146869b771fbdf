package main

import (
	"strings"
	"testing"
)

// TestBrowserBookingConfirmations books the way a fast person with
// autofill does, on a site that confirms bookings by email: the form comes
// back once with "Confirm booking", the time is then held, and the link in
// the email books the call with one more button. Every page on the way
// passes axe-core.
func TestBrowserBookingConfirmations(t *testing.T) {
	s := startSite(t, map[string]string{
		// Long enough that a test that does not wait is always "too fast".
		"LEADBOOK_MIN_FILL_SECONDS": "600",
		"LEADBOOK_BOOKING_CONFIRM":  "email",
	})
	tb := newTab(t, s, tabConfig{NoJS: true})
	tb.open("/book?tz=Europe/Berlin")
	pickSlot(t, tb, `form[action="/book"]`, 1, 0)
	tb.fill("#book-name", "Grace Hopper")
	tb.fill("#book-email", "grace@example.com")
	tb.fill("#book-message", "Compilers for everyone.")
	tb.click("#book-consent")
	tb.clickNav(`form[action="/book"] button[type=submit]`)

	if got := tb.text("[data-status] .notice"); got != "Please check your booking and confirm it." {
		t.Fatalf("after a fast submission the page says %q", got)
	}
	if got := tb.text(`form[action="/book"] button[type=submit]`); got != "Confirm booking" {
		t.Errorf("button %q, want Confirm booking", got)
	}
	if got := tb.value("#book-name"); got != "Grace Hopper" {
		t.Errorf("name %q on the confirm step", got)
	}
	if n := s.query(t, `SELECT count(*) FROM bookings`)[0][0]; n != "0" {
		t.Fatalf("%s bookings before confirming", n)
	}
	tb.check("book-confirm-step")

	tb.clickNav(`form[action="/book"] button[type=submit]`)
	if !strings.HasSuffix(tb.url(), "/book/held") || tb.text("h1") != "Please confirm your call" {
		t.Fatalf("after confirming the browser is on %s: %q", tb.url(), tb.text("h1"))
	}
	tb.check("book-held")
	if rows := s.query(t, `SELECT count(*) FROM bookings WHERE hold_until IS NOT NULL AND status = 'confirmed'`); rows[0][0] != "1" {
		t.Fatal("no hold stored")
	}

	tb.open(s.manageLink(t, "grace@example.com"))
	if got := tb.text("h1"); got != "Please confirm your call" {
		t.Errorf("the emailed link shows %q", got)
	}
	if n := s.query(t, `SELECT count(*) FROM outbox WHERE kind = 'invitation_ceo'`)[0][0]; n != "0" {
		t.Fatalf("%s CEO invitations before the visitor confirmed", n)
	}
	tb.check("booking-held")
	tb.clickNav(`form[action$="/confirm"] button[type=submit]`)
	if got := tb.text("[role=status] .notice"); !strings.HasPrefix(got, "Your call is booked.") {
		t.Errorf("notice %q after confirming", got)
	}
	if n := s.query(t, `SELECT count(*) FROM outbox WHERE kind = 'invitation_ceo'`)[0][0]; n != "1" {
		t.Errorf("%s CEO invitations after confirming, want 1", n)
	}
	if rows := s.query(t, `SELECT count(*) FROM bookings WHERE hold_until IS NULL AND status = 'confirmed'`); rows[0][0] != "1" {
		t.Error("the call is not confirmed")
	}
}
