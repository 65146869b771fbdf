package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPipeline: staff, with JavaScript off, take a lead, are told
// what a refused change lacks, change its status, add a note and find it
// again through the list's filters.
func TestBrowserPipeline(t *testing.T) {
	s := startSite(t, nil)
	visitorTab := newTab(t, s, tabConfig{})
	readArticle(t, visitorTab)
	fillContact(t, visitorTab, ada)
	visitorTab.click(`#contact-us button[type=submit]`)
	visitorTab.waitJS(`document.querySelector("#contact-us [data-status] .notice-success")`)
	wantLead(t, s, ada, "contact")

	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{NoJS: true})
	signIn(t, tb, email, password)
	if got := strings.Join(strings.Fields(tb.text("#status-counts")), " "); !strings.Contains(got, "1 new") || !strings.Contains(got, "0 qualified") {
		t.Errorf("the overview's counts: %q", got)
	}

	tb.open("/staff/leads")
	tb.clickNav(`table.data tbody a[href^="/staff/leads/"]`)
	lead := tb.url()

	// Lost without a reason: refused, with the field's message, the
	// choice kept.
	tb.do("choose lost", chromedp.SetValue(chromedp.CSS("#status"), "lost"))
	tb.clickNav(`form[action$="/pipeline"] button[type=submit]`)
	if got := tb.text("#lost_reason-error"); got != "Please say why the lead was lost." {
		t.Fatalf("a lost lead without a reason shows %q", got)
	}
	if got := tb.value("#status"); got != "lost" {
		t.Errorf("the refused form shows status %q", got)
	}
	tb.check("staff-lead-refused")

	tb.do("choose qualified", chromedp.SetValue(chromedp.CSS("#status"), "qualified"))
	ownerID := s.query(t, `SELECT id FROM staff WHERE email = ?`, email)[0][0]
	tb.do("choose owner", chromedp.SetValue(chromedp.CSS("#owner"), ownerID))
	tb.do("set next step", chromedp.SetValue(chromedp.CSS("#next_step_at"), "2030-01-15"))
	tb.clickNav(`form[action$="/pipeline"] button[type=submit]`)
	if u := tb.url(); u != lead+"?notice=updated" {
		t.Fatalf("after saving the browser is on %s", u)
	}
	if got := tb.text("[role=status]"); got != "Saved." {
		t.Errorf("save notice %q", got)
	}
	tb.fill("#note", "Wants a proposal by Friday.")
	tb.clickNav(`form[action$="/notes"] button[type=submit]`)
	timeline := tb.text(".timeline")
	for _, want := range []string{"Wants a proposal by Friday.", "status new → qualified", "owner nobody → " + email, "next step none → 2030-01-15"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline lacks %q: %q", want, timeline)
		}
	}
	tb.check("staff-lead-pipeline")
	if rows := s.query(t, `SELECT status, next_step_at FROM leads WHERE email = ?`, ada.Email); len(rows) != 1 || rows[0][0] != "qualified" || rows[0][1] != "2030-01-15" {
		t.Errorf("the lead is stored as %v", rows)
	}

	// The list, filtered to my qualified leads, next step first.
	tb.open("/staff/leads")
	tb.do("filter", chromedp.SetValue(chromedp.CSS("#status"), "qualified"), chromedp.SetValue(chromedp.CSS("#owner"), "me"),
		chromedp.SetValue(chromedp.CSS("#sort"), "next_step"))
	tb.clickNav(`form[action="/staff/leads"] button[type=submit]`)
	if u := tb.url(); !strings.Contains(u, "status=qualified") || !strings.Contains(u, "owner=me") {
		t.Fatalf("the filter went to %s", u)
	}
	if got := tb.text("table.data tbody"); !strings.Contains(got, ada.Email) || !strings.Contains(got, "2030-01-15") || !strings.Contains(got, email) {
		t.Fatalf("my qualified leads show %q", got)
	}
	tb.check("staff-leads-filtered")
	tb.do("filter won", chromedp.SetValue(chromedp.CSS("#status"), "won"))
	tb.clickNav(`form[action="/staff/leads"] button[type=submit]`)
	if got := tb.text(".empty"); got != "No leads match." {
		t.Errorf("no won leads shows %q", got)
	}
}
