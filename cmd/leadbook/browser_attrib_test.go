package main

import (
	"strings"
	"testing"
)

// TestBrowserAttribution: a visit lands on an article from a newsletter
// link, follows the site's own links to the contact page and sends the
// form (once with JavaScript, once without); the lead keeps the first
// touch, and staff see it on the lead and on the analytics page.
func TestBrowserAttribution(t *testing.T) {
	s := startSite(t, nil)
	for i, js := range []bool{true, false} {
		v := ada
		if !js {
			v.Email = "ada.nojs@example.com"
		}
		tb := newTab(t, s, tabConfig{})
		tb.scripts(js)
		tb.open("/articles/cto-vs-cio?utm_source=newsletter&utm_medium=email&utm_campaign=winter")
		tb.clickNav(`.site-header a[href^="/contact?a="]`)
		if !strings.Contains(tb.url(), "/contact?a=") {
			t.Fatalf("the contact link led to %s", tb.url())
		}
		fillContact(t, tb, v)
		if js {
			tb.click(`#contact-us button[type=submit]`)
			tb.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
		} else {
			tb.clickNav(`#contact-us button[type=submit]`)
		}
		rows := s.query(t, `SELECT article, landing_page, utm_source, utm_medium, utm_campaign FROM leads WHERE email = ?`, v.Email)
		want := "cto-vs-cio|/articles/cto-vs-cio|newsletter|email|winter"
		if len(rows) != 1 || strings.Join(rows[0], "|") != want {
			t.Fatalf("visit %d (js %v): stored %q, want %s", i, js, rows, want)
		}
	}

	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	signIn(t, tb, email, password)
	tb.open("/staff/analytics")
	if got := tb.text("table.data tbody"); !strings.Contains(got, "cto-vs-cio") {
		t.Fatalf("analytics per article: %q", got)
	}
	tb.check("staff-analytics")
	tb.open("/staff/leads")
	tb.clickNav(`table.data a[href^="/staff/leads/"]`)
	if got := tb.text(".details"); !strings.Contains(got, "newsletter") || !strings.Contains(got, "/articles/cto-vs-cio") {
		t.Errorf("lead page details %q", got)
	}
	tb.check("staff-lead-attribution")
}
