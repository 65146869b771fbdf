package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSettingsQuestions: an admin adds a question on the settings page
// (form, no script); /book asks it at once, and so does a second
// instance on the same database; editing, moving up and removing work
// alike; the page says the page's questions override the environment's,
// and a reset brings the environment's back. Each change is audited.
func TestSettingsQuestions(t *testing.T) {
	opts := withBooking(t, testQuestions, "", nil)
	a := newApp(t, opts)
	opts.db = a.dbPath
	b := newApp(t, opts)
	a.addStaff()
	admin := a.login("")
	for _, x := range []*app{a, b} {
		if page := x.get("/book").Body.String(); !strings.Contains(page, `name="q_goal"`) || strings.Contains(page, "Which product") {
			t.Fatal("before: the environment's questions are not asked")
		}
	}
	page := a.staffGet("/staff/settings", admin).Body.String()
	for _, want := range []string{"From the environment (LEADBOOK_BOOKING_QUESTIONS)", `name="question_0_id" value="goal"`,
		`name="question_1_label" type="text" value="Team size"`, `<legend>Add a question</legend>`, `name="question_3_id" value=""`,
		`form="question-move" name="id" value="size"`} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %s", want)
		}
	}
	if strings.Contains(page, `action="/staff/settings/reset"><input type="hidden" name="name" value="questions"`) {
		t.Error("a reset of the questions is offered with nothing to reset")
	}

	// The form as the page has it, with a new question in the blank row
	// and the third one removed.
	v := url.Values{}
	rows := []struct{ id, label, kind, choices, required string }{
		{"goal", "What should the call be about?", "long", "", "on"},
		{"size", "Team size", "choice", "1-10\n10-50\n50+", "on"},
		{"ref", "How did you hear of us?", "text", "", ""},
		{"", "Which product interests you?", "choice", "Audit\r\nCoaching\r\n", "on"},
	}
	for i, r := range rows {
		n := "question_" + string(rune('0'+i))
		v.Set(n+"_id", r.id)
		v.Set(n+"_label", r.label)
		v.Set(n+"_kind", r.kind)
		v.Set(n+"_choices", r.choices)
		if r.required != "" {
			v.Set(n+"_required", "on")
		}
	}
	v.Set("question_2_remove", "on")
	if rec := a.staffPost("/staff/settings/questions", v, admin); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/staff/settings?notice=questions-saved" {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	if page := a.get("/book").Body.String(); !strings.Contains(page, `name="q_which-product-interests"`) ||
		!strings.Contains(page, `value="Coaching"`) || strings.Contains(page, `name="q_ref"`) {
		t.Fatalf("this instance does not ask the new questions:\n%s", page)
	}
	// Not a timing assertion: the other instance reads the settings'
	// version at most once a second; the deadline only stops a broken
	// test from hanging.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.get("/book").Body.String(), `name="q_which-product-interests"`) {
		if time.Now().After(deadline) {
			t.Fatal("the second instance never asked the new question")
		}
		time.Sleep(50 * time.Millisecond)
	}
	page = a.staffGet("/staff/settings", admin).Body.String()
	for _, want := range []string{"Set on this page (staff:1", "over the environment (LEADBOOK_BOOKING_QUESTIONS), which asks 3:",
		`name="name" value="questions"`, `value="which-product-interests"`} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page after the save lacks %s", want)
		}
	}

	// Move the new question up: it comes before the team size.
	if rec := a.staffPost("/staff/settings/questions/move", url.Values{"id": {"which-product-interests"}}, admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("move: %d %s", rec.Code, rec.Body)
	}
	book := a.get("/book").Body.String()
	if i, j := strings.Index(book, `name="q_which-product-interests"`), strings.Index(book, `name="q_size"`); i < 0 || j < 0 || i > j {
		t.Fatalf("after the move: the new question at %d, team size at %d", i, j)
	}

	if rec := a.staffPost("/staff/settings/reset", url.Values{"name": {"questions"}}, admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("reset: %d", rec.Code)
	}
	if page := a.get("/book").Body.String(); !strings.Contains(page, `name="q_ref"`) || strings.Contains(page, "which-product") {
		t.Fatal("after the reset the environment's questions are not asked")
	}
	if n := a.count(`SELECT COUNT(*) FROM audit WHERE action = 'booking_setting' AND actor = 'staff:1' AND subject = 'setting:questions'`); n != 3 {
		t.Fatalf("%d audited changes, want 3", n)
	}
}

// TestSettingsQuestionsInvalid: each bad question is refused with 422 and
// its field's message beside it, everything typed kept, nothing stored;
// JSON alike, and a good JSON list is stored and answered with the
// questions in force; cross-site and non-admin posts are refused 403.
func TestSettingsQuestionsInvalid(t *testing.T) {
	a := newApp(t, withBooking(t, testQuestions, "", nil))
	a.addStaff()
	admin := a.login("")
	member := a.addMember()
	cases := []struct {
		label, kind, choices, field, message string
	}{
		{"", "text", "", "label", "Please give the question a label."},
		{strings.Repeat("x", 201), "text", "", "label", "Please keep the label under 200 characters."},
		{"Colour?", "choice", "Red", "choices", "Please give 2 to 12 choices, one a line."},
		{"Colour?", "choice", "Red\nRed", "choices", "Please give each choice once"},
		{"Colour?", "text", "Red\nBlue", "choices", "Choices are for the kind"},
		{"Colour?", "checkbox", "", "kind", "Please pick a kind."},
	}
	for _, c := range cases {
		v := url.Values{"question_0_id": {"goal"}, "question_0_label": {"What should the call be about?"}, "question_0_kind": {"long"},
			"question_1_id": {""}, "question_1_label": {c.label}, "question_1_kind": {c.kind}, "question_1_choices": {c.choices}}
		if c.label == "" {
			v.Set("question_1_id", "size") // an existing question emptied
		}
		rec := a.staffPost("/staff/settings/questions", v, admin)
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, c.message) ||
			!strings.Contains(body, `id="question-1-`+c.field+`-error"`) || !strings.Contains(body, `value="What should the call be about?"`) ||
			(c.label != "" && !strings.Contains(body, `value="`+c.label+`"`)) {
			t.Errorf("%+v: %d\n%s", c, rec.Code, body)
		}
		q := map[string]any{"label": c.label, "kind": c.kind}
		if c.choices != "" {
			q["choices"] = strings.Split(c.choices, "\n")
		}
		rec = a.staffJSON(http.MethodPost, "/staff/settings/questions", map[string]any{"questions": []any{map[string]any{"label": "Fine?", "kind": "text"}, q}}, admin)
		var got struct{ Fields map[string]string }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusUnprocessableEntity || err != nil || got.Fields["question_1_"+c.field] == "" {
			t.Errorf("%+v (JSON): %d %s", c, rec.Code, rec.Body)
		}
	}
	many := make([]any, 11)
	for i := range many {
		many[i] = map[string]any{"label": "Question " + string(rune('A'+i)), "kind": "text"}
	}
	if rec := a.staffJSON(http.MethodPost, "/staff/settings/questions", map[string]any{"questions": many}, admin); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "at most 10 questions") {
		t.Errorf("eleven questions: %d %s", rec.Code, rec.Body)
	}
	v := url.Values{"question_0_label": {"Anything else?"}, "question_0_kind": {"text"}}
	for _, who := range []struct {
		cookie *http.Cookie
		site   string
	}{{admin, "cross-site"}, {member, "same-origin"}} {
		req := httptest.NewRequest(http.MethodPost, "/staff/settings/questions", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", who.site)
		req.AddCookie(who.cookie)
		if rec := a.do(req); rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", who.site, rec.Code)
		}
	}
	if a.count(`SELECT COUNT(*) FROM booking_settings`) != 0 {
		t.Fatal("a refused change was stored")
	}

	rec := a.staffJSON(http.MethodPost, "/staff/settings/questions", map[string]any{"questions": []any{
		map[string]any{"id": "size", "label": "Team size", "kind": "choice", "choices": []string{"Just me", "More"}, "required": true},
		map[string]any{"label": "Budget", "kind": "text"},
	}}, admin)
	var got struct {
		Questions struct {
			Source    string
			Questions []struct {
				ID, Label, Kind string
				Choices         []string
				Required        bool
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil || got.Questions.Source != "database" ||
		len(got.Questions.Questions) != 2 || got.Questions.Questions[0].ID != "size" || got.Questions.Questions[1].ID != "budget" ||
		len(got.Questions.Questions[0].Choices) != 2 || !got.Questions.Questions[0].Required {
		t.Fatalf("JSON save: %d %s", rec.Code, rec.Body)
	}
	if rec := a.staffGet("/staff/settings", admin); !strings.Contains(rec.Body.String(), `value="Budget"`) {
		t.Fatal("the page does not show the questions saved as JSON")
	}
}

// TestSettingsQuestionsChangedMeanwhile: two admins edit the questions
// from one version of the page, on two instances of one database. The
// first save stands; the second, made from the replaced list, is refused
// 409 with what was typed kept and the first change not lost, and saving
// it again from the page it was answered with replaces it knowingly. A
// move from a replaced list is refused alike, and so is a JSON edit that
// names a replaced version.
func TestSettingsQuestionsChangedMeanwhile(t *testing.T) {
	opts := withBooking(t, testQuestions, "", nil)
	a := newApp(t, opts)
	opts.db = a.dbPath
	b := newApp(t, opts)
	a.addStaff()
	admin := a.login("")
	versionOf := func(page string) string {
		t.Helper()
		const marker = `<input type="hidden" name="version" value="`
		i := strings.Index(page, marker)
		if i < 0 {
			t.Fatalf("the page has no version:\n%s", page)
		}
		v := page[i+len(marker):]
		return v[:strings.IndexByte(v, '"')]
	}
	stale := versionOf(a.staffGet("/staff/settings", admin).Body.String())
	if again := versionOf(b.staffGet("/staff/settings", admin).Body.String()); again != stale {
		t.Fatalf("the instances show versions %s and %s", stale, again)
	}
	form := func(version string, labels ...string) url.Values {
		v := url.Values{"version": {version}}
		for i, l := range labels {
			n := "question_" + string(rune('0'+i))
			v.Set(n+"_id", "")
			v.Set(n+"_label", l)
			v.Set(n+"_kind", "text")
		}
		return v
	}
	if rec := a.staffPost("/staff/settings/questions", form(stale, "Your budget?"), admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("the first save: %d %s", rec.Code, rec.Body)
	}
	rec := b.staffPost("/staff/settings/questions", form(stale, "Your deadline?"), admin)
	body := rec.Body.String()
	if rec.Code != http.StatusConflict || !strings.Contains(body, "The questions were changed meanwhile") || !strings.Contains(body, `value="Your deadline?"`) {
		t.Fatalf("a save from the replaced list: %d\n%s", rec.Code, body)
	}
	if page := a.get("/book").Body.String(); !strings.Contains(page, `name="q_your-budget"`) || strings.Contains(page, "deadline") {
		t.Fatal("the first save was lost to the refused one")
	}
	if rec := b.staffPost("/staff/settings/questions", form(versionOf(body), "Your deadline?", "Your timeline?"), admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("the save again from the page it was answered with: %d %s", rec.Code, rec.Body)
	}
	if page := b.get("/book").Body.String(); !strings.Contains(page, `name="q_your-deadline"`) || strings.Contains(page, "budget") {
		t.Fatal("the save made again did not replace the first")
	}

	rec = b.staffPost("/staff/settings/questions/move", url.Values{"id": {"your-timeline"}, "version": {stale}}, admin)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "Here they are as they stand now") {
		t.Fatalf("a move from a replaced list: %d\n%s", rec.Code, rec.Body)
	}
	rec = b.staffJSON(http.MethodPost, "/staff/settings/questions", map[string]any{"version": 0,
		"questions": []map[string]any{{"label": "Anything else?", "kind": "text"}}}, admin)
	var got struct {
		Error     string
		Version   uint64
		Questions struct{ Questions []struct{ Label string } }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusConflict || err != nil || len(got.Questions.Questions) != 2 ||
		got.Questions.Questions[0].Label != "Your deadline?" || got.Version == 0 || !strings.Contains(got.Error, "changed meanwhile") {
		t.Fatalf("a JSON edit from a replaced version: %d %s", rec.Code, rec.Body)
	}
	if n := a.count(`SELECT COUNT(*) FROM audit WHERE action = 'booking_setting' AND subject = 'setting:questions'`); n != 2 {
		t.Fatalf("%d audited changes, want the 2 stored", n)
	}
}
