package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdmin: the first account (an admin) changes the booking
// hours on the settings page, is refused a bad value with the field's
// message and the input kept, saves a good one, and sees the accounts
// and tokens pages; each page passes axe at both widths.
func TestBrowserAdmin(t *testing.T) {
	s := startSite(t, nil)
	const email, password = "owner@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	signIn(t, tb, email, password)

	tb.open("/staff/settings")
	tb.check("staff-settings")
	setValue := func(sel, v string) {
		tb.do("set "+sel, chromedp.Evaluate[chromedp.Void](`document.querySelector("`+sel+`").value = `+jsQuote(v)))
	}
	setValue("#rule-hours", "mon-fri 10:00-25:00")
	tb.clickNav(`form[action="/staff/settings"] button[type=submit]`)
	if got := tb.text("#rule-hours-error"); !strings.Contains(got, "25:00") {
		t.Fatalf("a bad hour shows %q", got)
	}
	tb.check("staff-settings-invalid")
	setValue("#rule-hours", "mon-fri 10:00-16:00")
	tb.clickNav(`form[action="/staff/settings"] button[type=submit]`)
	if got := tb.text("[role=status]"); !strings.Contains(got, "Saved") {
		t.Fatalf("after saving: %q", got)
	}
	if rows := s.query(t, `SELECT value FROM booking_settings WHERE name = 'hours'`); len(rows) != 1 || !strings.HasPrefix(rows[0][0], "mon 10:00-16:00") {
		t.Fatalf("stored %v", rows)
	}

	tb.open("/staff/accounts")
	tb.fill("#account-email", "helper@example.com")
	tb.clickNav(`form[action="/staff/accounts"] button[type=submit]`)
	if got := tb.text("code.secret"); len(got) < 12 {
		t.Fatalf("no one-time password: %q", got)
	}
	tb.check("staff-accounts")

	tb.open("/staff/tokens")
	tb.fill("#token-name", "nightly export")
	tb.clickNav(`form[action="/staff/tokens"] button[type=submit]`)
	if got := tb.text("code.secret"); !strings.HasPrefix(got, "lb_") {
		t.Fatalf("no token shown: %q", got)
	}
	tb.check("staff-tokens")
}

func jsQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
