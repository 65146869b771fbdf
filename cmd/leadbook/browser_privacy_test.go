package main

import (
	"strings"
	"testing"
)

// TestBrowserPrivacyRefusesAFragment: staff type an address the browser
// lets through but that is not one whole address; the privacy page comes
// back with the message beside the field and what they typed, and nothing
// is erased. Then the real address erases the lead.
func TestBrowserPrivacyRefusesAFragment(t *testing.T) {
	s := startSite(t, nil)
	visitorTab := newTab(t, s, tabConfig{})
	readArticle(t, visitorTab)
	fillContact(t, visitorTab, ada)
	visitorTab.click(`#contact-us button[type=submit]`)
	visitorTab.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
	wantLead(t, s, ada, "contact")

	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	signIn(t, tb, email, password)

	tb.open("/staff/privacy")
	tb.check("staff-privacy")
	// "ada@example" passes the browser's type=email check but has no
	// dotted domain: it names no one.
	tb.fill("#erase-email", "ada@example")
	tb.click("#erase-confirm")
	tb.clickNav(`form[action="/staff/privacy/erase"] button[type=submit]`)
	if got := tb.text("#erase-email-error"); !strings.Contains(got, "whole email address") {
		t.Errorf("error beside the field: %q", got)
	}
	if got := tb.value("#erase-email"); got != "ada@example" {
		t.Errorf("the field holds %q, not what was typed", got)
	}
	tb.check("staff-privacy-invalid")
	if rows := s.query(t, `SELECT COUNT(*) FROM leads`); rows[0][0] != "1" {
		t.Fatalf("leads after a refused erasure: %v", rows)
	}

	eval[bool](tb, `(document.querySelector("#erase-email").value = "", true)`)
	tb.fill("#erase-email", ada.Email)
	tb.click("#erase-confirm")
	tb.clickNav(`form[action="/staff/privacy/erase"] button[type=submit]`)
	if got := tb.text("[role=status]"); !strings.HasPrefix(got, "Erased.") {
		t.Errorf("notice %q", got)
	}
	if rows := s.query(t, `SELECT COUNT(*) FROM leads`); rows[0][0] != "0" {
		t.Fatalf("leads after the erasure: %v", rows)
	}
}
