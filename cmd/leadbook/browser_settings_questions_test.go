package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSettingsQuestions: with scripts off, an admin adds a
// question on the settings page, is refused a choice list of one with the
// field's message and the input kept, saves two choices, moves the
// question up and finds /book asking it first; the page passes axe at
// both widths, empty, refused and saved.
func TestBrowserSettingsQuestions(t *testing.T) {
	s := startSite(t, map[string]string{
		"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"goal","label":"What should the call be about?","kind":"long","required":true}]`,
	})
	const email, password = "owner@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{NoJS: true})
	signIn(t, tb, email, password)

	setValue := func(sel, v string) {
		tb.do("set "+sel, chromedp.Evaluate[chromedp.Void](`document.querySelector("`+sel+`").value = `+strconv.Quote(v)))
	}
	tb.open("/staff/settings")
	if got := tb.text("#questions-heading + p"); !strings.Contains(got, "From the environment (LEADBOOK_BOOKING_QUESTIONS)") {
		t.Fatalf("the questions' source: %q", got)
	}
	tb.check("staff-settings-questions")
	tb.fill("#question-1-label", "Which service?")
	setValue("#question-1-kind", "choice")
	tb.fill("#question-1-choices", "Audit")
	tb.click("#question-1-required")
	tb.clickNav(`form[action="/staff/settings/questions"] > button[type=submit]`)
	if got := tb.text("#question-1-choices-error"); !strings.Contains(got, "2 to 12 choices") {
		t.Fatalf("one choice shows %q", got)
	}
	if got := tb.value("#question-1-label"); got != "Which service?" {
		t.Fatalf("the label typed is not kept: %q", got)
	}
	tb.check("staff-settings-questions-invalid")
	setValue("#question-1-choices", "Audit\nCoaching")
	tb.clickNav(`form[action="/staff/settings/questions"] > button[type=submit]`)
	if got := tb.text("[role=status]"); !strings.Contains(got, "asks the new questions") {
		t.Fatalf("after saving: %q", got)
	}
	if got := tb.text("#questions-heading + p"); !strings.Contains(got, "Set on this page") {
		t.Fatalf("the questions' source after saving: %q", got)
	}
	tb.check("staff-settings-questions-saved")
	tb.clickNav(`button[form=question-move][value=which-service]`)
	if got := tb.text("[role=status]"); !strings.Contains(got, "Moved") {
		t.Fatalf("after moving: %q", got)
	}
	if rows := s.query(t, `SELECT value FROM booking_settings WHERE name = 'questions'`); len(rows) != 1 ||
		!strings.HasPrefix(rows[0][0], `[{"id":"which-service","label":"Which service?","kind":"choice","choices":["Audit","Coaching"],"required":true}`) {
		t.Fatalf("stored %v", rows)
	}

	tb.open("/book")
	page := eval[string](tb, `document.body.innerHTML`)
	if i, j := strings.Index(page, `name="q_which-service"`), strings.Index(page, `name="q_goal"`); i < 0 || j < 0 || i > j {
		t.Fatalf("/book asks the new question at %d, the first at %d", i, j)
	}
}
