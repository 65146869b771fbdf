package main

import (
	"strings"
	"testing"
)

// TestBrowserOldZoneName: a browser that reports an old zone name
// (Asia/Calcutta) sees the times in its zone under the name in use, with a
// friendly name, not in UTC or the CEO's zone; the search box finds zones.
func TestBrowserOldZoneName(t *testing.T) {
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{TimeZone: "Asia/Calcutta"})
	tb.open("/book")
	tb.waitJS(`document.readyState === "complete" && document.querySelector("select[data-tz]").value === "Asia/Kolkata"`)
	if got := tb.text(".slots-zone"); !strings.HasPrefix(got, "Times in India Standard Time, Kolkata") {
		t.Errorf("slots say %q", got)
	}
	tb.fill("#tz-search", "luxembourg")
	visible := eval[[]string](tb, `Array.from(document.querySelectorAll("select[data-tz] option")).filter(o => !o.hidden).map(o => o.value)`)
	if len(visible) != 1 || visible[0] != "Europe/Luxembourg" {
		t.Errorf("searching luxembourg leaves %v", visible)
	}
	tb.check("book-old-zone")
}

// TestBrowserBookedNoticeSurvivesZone: after booking in a zone other than
// the browser's, the booking page reloads itself in the browser's zone and
// still says the call is booked.
func TestBrowserBookedNoticeSurvivesZone(t *testing.T) {
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{TimeZone: "Europe/London"})
	tb.open("/book?tz=America/New_York")
	pickSlot(t, tb, `form[action="/book"]`, 1, 0)
	tb.fill("#book-name", "Grace Hopper")
	tb.fill("#book-email", "grace@example.com")
	tb.click("#book-consent")
	tb.minFill()
	tb.click(`form[action="/book"] button[type=submit]`)
	tb.waitJS(`location.pathname.startsWith("/bookings/") && location.search.includes("tz=Europe%2FLondon") && document.readyState === "complete"`)
	if !strings.Contains(tb.url(), "created=1") {
		t.Errorf("the zone reload dropped created=1: %s", tb.url())
	}
	if got := tb.text("[role=status] .notice"); !strings.HasPrefix(got, "Your call is booked.") {
		t.Errorf("notice %q after the zone reload", got)
	}
	tb.check("booking-created-zone")
}
