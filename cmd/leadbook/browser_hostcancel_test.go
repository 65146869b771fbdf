package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var rebookLinkRE = regexp.MustCompile(`/bookings/[A-Za-z0-9_-]{43}/rebook`)

// rebookLink waits for the host's cancellation mailed to rcpt and returns
// the path of the link in it that books again.
func (s *site) rebookLink(t *testing.T, rcpt string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(s.MailDir, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			text := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(string(b))
			if !strings.Contains(text, "<"+rcpt+">") && !strings.Contains(text, "To: "+rcpt) {
				continue
			}
			if m := rebookLinkRE.FindString(text); m != "" {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no mail to %s with a rebook link in %s", rcpt, s.MailDir)
	return ""
}

// TestBrowserHostCancel: a visitor books; staff open the call from the
// bookings list, cancel it with a message and ask the visitor to book
// again; the visitor's link opens the picker with their details kept, and
// picking a time books it.
func TestBrowserHostCancel(t *testing.T) {
	s := startSite(t, nil)
	visitorTab := newTab(t, s, tabConfig{TimeZone: "Europe/Berlin"})
	visitorTab.open("/book?tz=Europe%2FBerlin")
	pickSlot(t, visitorTab, `form[action="/book"]`, 1, 0)
	visitorTab.fill("#book-name", "Grace Hopper")
	visitorTab.fill("#book-email", "grace@example.com")
	visitorTab.fill("#book-company", "Navy Labs")
	visitorTab.fill("#book-message", "Compilers for everyone.")
	visitorTab.click("#book-consent")
	visitorTab.minFill()
	visitorTab.clickNav(`form[action="/book"] button[type=submit]`)
	if !strings.HasSuffix(visitorTab.url(), "?created=1") {
		t.Fatalf("after booking the visitor is on %s", visitorTab.url())
	}

	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	signIn(t, tb, email, password)
	tb.open("/staff/bookings")
	tb.clickNav(`table.data a[href^="/staff/bookings/"]`)
	if got := tb.text("h1"); got != "Call with Grace Hopper" {
		t.Fatalf("the booking page's heading is %q", got)
	}
	tb.check("staff-booking")
	tb.fill("#cancel-message", "Alex is ill this week. Sorry!")
	tb.click("#cancel-rebook")
	tb.clickNav(`form[action$="/cancel"] button[type=submit]`)
	if got := tb.text("[role=status]"); !strings.Contains(got, "a link to pick a new time") {
		t.Errorf("after the cancel the page says %q", got)
	}
	if got := tb.text("#history tbody"); !strings.Contains(got, "Asked the visitor to rebook") {
		t.Errorf("the history shows %q", got)
	}
	tb.check("staff-booking-cancelled")
	if _, _, status, _ := bookingRow(t, s, "grace@example.com"); status != "cancelled" {
		t.Fatalf("the booking is %s", status)
	}

	link := s.rebookLink(t, "grace@example.com")
	visitorTab.open(link)
	if got := visitorTab.value("#book-name"); got != "Grace Hopper" {
		t.Errorf("the rebook page's name field holds %q", got)
	}
	visitorTab.check("book-rebook")
	pickSlot(t, visitorTab, `form[action="/book"]`, 2, 0)
	visitorTab.minFill()
	visitorTab.clickNav(`form[action="/book"] button[type=submit]`)
	if !strings.HasSuffix(visitorTab.url(), "?created=1") {
		t.Fatalf("after booking again the visitor is on %s", visitorTab.url())
	}
	rows := s.query(t, `SELECT b.status FROM bookings b JOIN leads l ON l.id = b.lead_id WHERE l.email = ? ORDER BY b.id`, "grace@example.com")
	if len(rows) != 2 || rows[0][0] != "cancelled" || rows[1][0] != "confirmed" {
		t.Errorf("bookings after rebooking: %v", rows)
	}
}
