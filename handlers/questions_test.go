package handlers_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"leadbook/handlers"
	"leadbook/leads"
	"leadbook/mailer"
)

const testQuestions = `[
	{"id":"goal","label":"What should the call be about?","kind":"long","required":true},
	{"id":"size","label":"Team size","kind":"choice","choices":["1-10","10-50","50+"],"required":true},
	{"id":"ref","label":"How did you hear of us?","kind":"text"}
]`

// withBooking returns options whose booking has the questions qs (JSON)
// and calls happen at meeting (a LEADBOOK_MEETING_URL value).
func withBooking(t *testing.T, qs, meeting string, more func(b *handlers.Booking)) options {
	t.Helper()
	questions, err := handlers.ParseQuestions(qs)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mailer.ParseMeeting(meeting)
	if err != nil {
		t.Fatal(err)
	}
	return options{booking: func(b *handlers.Booking) {
		b.Questions = questions
		b.Composer.(*mailer.Composer).Meeting = m
		if more != nil {
			more(b)
		}
	}}
}

// manageToken is the manage token in a booking's redirect.
func manageToken(t *testing.T, loc string) string {
	t.Helper()
	m := regexp.MustCompile(`^/bookings/([A-Za-z0-9_-]{43})`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("redirect %q", loc)
	}
	return m[1]
}

func (a *app) onlyBooking(t *testing.T) *leads.Booking {
	t.Helper()
	bs, err := a.store.ListBookings(context.Background(), leads.BookingsUpcoming, 10)
	if err != nil || len(bs) != 1 {
		t.Fatalf("bookings %d %v", len(bs), err)
	}
	return &bs[0]
}

// TestBookingQuestionsForm: the form shows the questions as plain fields;
// a submission with a required answer missing and a choice not offered is
// answered 422 with field messages and everything typed kept, and stores
// nothing; a good one stores the answers with their labels, which the CEO's
// mail, the manage page and the staff pages show, and the visitor's mail
// does not.
func TestBookingQuestionsForm(t *testing.T) {
	a := newApp(t, withBooking(t, testQuestions, "", nil))
	page := a.get("/book").Body.String()
	for _, want := range []string{
		`<textarea id="book-q-goal" name="q_goal" rows="4" maxlength="2000" required aria-required="true">`,
		`<legend>Team size <span class="req" aria-hidden="true">*</span></legend>`,
		`<input type="radio" id="book-q-size-1" name="q_size" value="10-50" required>`,
		`<label for="book-q-ref">How did you hear of us? <span class="optional">(optional)</span></label>`,
		`<input id="book-q-ref" name="q_ref" type="text" value="" maxlength="200">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("book page lacks %s", want)
		}
	}
	if strings.Index(page, `name="q_ref"`) > strings.Index(page, `name="consent"`) {
		t.Error("the consent box comes before the questions")
	}

	token := a.formToken("/book")
	a.clock.Add(5e9)
	v := bookingValues(token, wednesday9)
	v.Set("q_size", "huge")
	v.Set("q_ref", "A <friend>")
	rec := a.postForm("/book", v)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("missing answer: %d", rec.Code)
	}
	for _, want := range []string{"Please answer this question.", "Please pick one of the choices.", `value="A &lt;friend&gt;"`,
		`value="Grace Hopper"`, `aria-invalid="true" aria-describedby="book-q-goal-error"`} {
		if !strings.Contains(body, want) {
			t.Errorf("422 page lacks %s", want)
		}
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings`); n != 0 {
		t.Fatalf("%d bookings stored from a bad submission", n)
	}

	v.Set("q_goal", "Moving off COBOL.\nProject Bluebird.")
	v.Set("q_size", "10-50")
	rec = a.postForm("/book", v)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("good submission: %d %s", rec.Code, rec.Body)
	}
	tok := manageToken(t, rec.Header().Get("Location"))
	b := a.onlyBooking(t)
	want := []leads.Answer{{ID: "goal", Label: "What should the call be about?", Value: "Moving off COBOL.\nProject Bluebird."},
		{ID: "size", Label: "Team size", Value: "10-50"}, {ID: "ref", Label: "How did you hear of us?", Value: "A <friend>"}}
	if got, _ := json.Marshal(b.Answers); string(got) != string(mustJSON(t, want)) {
		t.Fatalf("stored answers %s", got)
	}
	ceo := a.queued(t, mailer.KindInvitationCEO)
	vis := a.queued(t, mailer.KindInvitation)
	if len(ceo) != 1 || len(vis) != 1 {
		t.Fatalf("%d CEO and %d visitor mails", len(ceo), len(vis))
	}
	if !strings.Contains(ceo[0].Text, "Team size\n    10-50") || !strings.Contains(string(ceo[0].Calendar), "Project Bluebird") {
		t.Errorf("CEO mail or invitation lacks the answers:\n%s", ceo[0].Text)
	}
	for _, s := range []string{vis[0].Text, vis[0].HTML, string(vis[0].Calendar)} {
		if strings.Contains(s, "Bluebird") || strings.Contains(s, "friend") {
			t.Errorf("the visitor's mail carries their answers")
		}
	}
	manage := html.UnescapeString(a.get("/bookings/" + tok).Body.String())
	if !strings.Contains(manage, "<dt>Team size</dt><dd>10-50</dd>") || !strings.Contains(manage, "Add to Google Calendar") {
		t.Errorf("manage page lacks the answers or the add-to-calendar links")
	}
	a.addStaff()
	staff := html.UnescapeString(a.staffGet("/staff/bookings", a.login("198.51.100.9:1")).Body.String())
	if !strings.Contains(staff, "<strong>What should the call be about?</strong>: Moving off COBOL.") {
		t.Errorf("staff bookings page lacks the answers")
	}
	page = html.UnescapeString(a.staffGet("/staff/bookings/"+strconv.FormatInt(b.ID, 10), a.login("198.51.100.9:2")).Body.String())
	if !strings.Contains(page, "<dt>Team size</dt><dd class=\"message\">10-50</dd>") {
		t.Errorf("staff booking page lacks the answers:\n%s", page)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBookingQuestionsJSON: answers come as an object by id; field errors
// are named q_<id>; answers that are not strings are a 400.
func TestBookingQuestionsJSON(t *testing.T) {
	a := newApp(t, withBooking(t, testQuestions, "", nil))
	j := bookingJSON(a.formToken("/book"), wednesday9)
	j["answers"] = map[string]string{"size": "50+"}
	rec := a.postJSON("/book", j)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("missing answer: %d %s", rec.Code, rec.Body)
	}
	fields, _ := wantJSON(t, rec.Body.Bytes())["fields"].(map[string]any)
	if fields["q_goal"] != "Please answer this question." || fields["q_size"] != nil || len(fields) != 1 {
		t.Fatalf("fields %v", fields)
	}
	j["answers"] = map[string]any{"goal": 42}
	if rec := a.postJSON("/book", j); rec.Code != http.StatusBadRequest {
		t.Fatalf("answers not strings: %d", rec.Code)
	}
	j["answers"] = map[string]string{"goal": "Pricing", "size": "1-10", "unasked": "ignored"}
	if rec := a.postJSON("/book", j); rec.Code != http.StatusCreated {
		t.Fatalf("good answers: %d %s", rec.Code, rec.Body)
	}
	if b := a.onlyBooking(t); len(b.Answers) != 3 || b.Answers[0].Value != "Pricing" || b.Answers[1].Value != "1-10" || b.Answers[2].Value != "" {
		t.Fatalf("stored %+v", b.Answers)
	}
}

// TestBookingPhone: by phone, the phone field is required (a 422 keeps
// the rest); the CEO's invitation says the number to call, the visitor's
// mail only that they will be called.
func TestBookingPhone(t *testing.T) {
	a := newApp(t, withBooking(t, "", "phone", nil))
	if page := a.get("/book").Body.String(); !strings.Contains(page, `<input id="book-phone" name="phone" type="tel" value="" autocomplete="tel" required aria-required="true"`) {
		t.Fatal("phone field not required on the book page")
	}
	j := bookingJSON(a.formToken("/book"), wednesday9)
	rec := a.postJSON("/book", j)
	if fields, _ := wantJSON(t, rec.Body.Bytes())["fields"].(map[string]any); rec.Code != http.StatusUnprocessableEntity || fields["phone"] == nil {
		t.Fatalf("no phone: %d %s", rec.Code, rec.Body)
	}
	token := a.formToken("/book")
	a.clock.Add(5e9)
	v := bookingValues(token, wednesday9)
	if rec := a.postForm("/book", v); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `value="Compilers"`) &&
		!strings.Contains(rec.Body.String(), ">Compilers</textarea>") {
		t.Fatalf("no phone (form): %d", rec.Code)
	}
	v.Set("phone", "+49 30 1234567")
	rec = a.postForm("/book", v)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("with a phone: %d %s", rec.Code, rec.Body)
	}
	ceo := a.queued(t, mailer.KindInvitationCEO)[0]
	if !strings.Contains(strings.ReplaceAll(string(ceo.Calendar), "\r\n ", ""), "LOCATION:By phone: call +49 30 1234567") || !strings.Contains(ceo.Text, "Where:     By phone: call +49 30 1234567") {
		t.Errorf("CEO's mail lacks the number to call:\n%s", ceo.Text)
	}
	vis := a.queued(t, mailer.KindInvitation)[0]
	if !strings.Contains(vis.Text, "will call you on the number you gave us") || strings.Contains(vis.Text+string(vis.Calendar), "1234567") {
		t.Errorf("visitor's mail:\n%s", vis.Text)
	}
	manage := a.get("/bookings/" + manageToken(t, rec.Header().Get("Location"))).Body.String()
	if !strings.Contains(manage, "<dt>Where</dt><dd>By phone: Dana CEO will call you on the number you gave us.</dd>") {
		t.Errorf("manage page lacks where")
	}
}

// TestBookingMeetingLink: with a {room} template each call has its own
// link, kept when it moves, in the visitor's and the CEO's invitations
// (LOCATION and CONFERENCE), the CEO's feed, the manage and staff pages; a
// cancelled call's page has no add-to-calendar links.
func TestBookingMeetingLink(t *testing.T) {
	a := newApp(t, withBooking(t, "", "https://meet.jit.si/northwind-{room}", nil))
	tok := a.book("grace@example.com", "Compilers", wednesday9)
	b := a.onlyBooking(t)
	if !regexp.MustCompile(`^[a-z2-7]{26}$`).MatchString(b.Room) {
		t.Fatalf("room %q", b.Room)
	}
	link := "https://meet.jit.si/northwind-" + b.Room
	manage := "/bookings/" + tok
	check := func(when string) {
		t.Helper()
		ics := strings.ReplaceAll(a.get(manage+"/invite.ics").Body.String(), "\r\n ", "")
		feed := strings.ReplaceAll(a.get("/calendar/feed-secret-0123456789.ics").Body.String(), "\r\n ", "")
		for name, s := range map[string]string{"invite.ics": ics, "feed": feed} {
			if !strings.Contains(s, "LOCATION:"+link+"\r\n") || !strings.Contains(s, "CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Video call:"+link+"\r\n") {
				t.Errorf("%s: %s lacks the call's link:\n%s", when, name, s)
			}
		}
		if page := a.get(manage).Body.String(); !strings.Contains(page, `<dt>Where</dt><dd><a href="`+link+`" rel="noopener noreferrer">`) {
			t.Errorf("%s: manage page lacks the link", when)
		}
	}
	check("booked")
	if rec := a.postForm(manage+"/reschedule", url.Values{"start": {wednesday10}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("reschedule: %d", rec.Code)
	}
	check("moved")
	a.addStaff()
	c := a.login("198.51.100.9:1")
	if staff := a.staffGet("/staff/bookings", c).Body.String(); !strings.Contains(staff, `<td data-label="Where">`+link+"</td>") {
		t.Error("staff bookings page lacks the link")
	}
	// The host moves it: same room, the new manage link shows it too.
	staffPage := "/staff/bookings/" + strconv.FormatInt(b.ID, 10)
	if page := a.staffGet(staffPage, c).Body.String(); !strings.Contains(page, "<dt>Where</dt><dd>"+link+"</dd>") {
		t.Errorf("staff booking page lacks the link")
	}
	rec := a.staffPost(staffPage+"/move", url.Values{"start": {wednesday9}}, c)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("host move: %d %s", rec.Code, rec.Body)
	}
	if moved := a.onlyBooking(t); moved.Room != b.Room || moved.Sequence != 2 {
		t.Fatalf("after the host's move: room %q (was %q), sequence %d", moved.Room, b.Room, moved.Sequence)
	}
	var last *mailer.Message // the host's move, "We had to move..."
	for _, m := range a.queued(t, mailer.KindInvitation) {
		if strings.Contains(m.Text, "We had to move") {
			last = m
		}
	}
	if last == nil {
		t.Fatal("no mail of the host's move")
	}
	if !strings.Contains(last.Text, link) || !strings.Contains(strings.ReplaceAll(string(last.Calendar), "\r\n ", ""), "LOCATION:"+link+"\r\n") {
		t.Errorf("the host's move mail lacks the call's link:\n%s", last.Text)
	}
	m := regexp.MustCompile(`https://consult\.example(/bookings/[A-Za-z0-9_-]{43})\s`).FindStringSubmatch(last.Text)
	if m == nil {
		t.Fatalf("no manage link in the host's move mail:\n%s", last.Text)
	}
	manage = m[1]
	check("moved by the host")
	if rec := a.postForm(manage+"/cancel", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", rec.Code)
	}
	if page := a.get(manage).Body.String(); strings.Contains(page, "calendar.google.com") || strings.Contains(page, "outlook.") {
		t.Error("a cancelled call's page offers add-to-calendar links")
	}
}

// TestBookingWeekCap: MaxBookingsPerEmailWeek counts the address's
// bookings of the last 7 days, cancelled ones too.
func TestBookingWeekCap(t *testing.T) {
	a := newApp(t, withBooking(t, "", "", func(b *handlers.Booking) { b.MaxBookingsPerEmailWeek = 2 }))
	for i, start := range []string{tuesday9, wednesday9} {
		tok := a.book("grace@example.com", "Compilers", start)
		if i == 0 {
			if rec := a.postForm("/bookings/"+tok+"/cancel", nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("cancel: %d", rec.Code)
			}
		}
	}
	j := bookingJSON("", wednesday10)
	rec := a.postJSON("/book", j)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "as many calls this week") {
		t.Fatalf("third booking in a week: %d %s", rec.Code, rec.Body)
	}
}

// TestSpamReleaseKeepsAnswers: a booking request held as spam keeps its
// answers, and "Not spam" books the call with them.
func TestSpamReleaseKeepsAnswers(t *testing.T) {
	a := newApp(t, withBooking(t, testQuestions, "", nil))
	a.addStaff()
	cookie := a.login("")
	v := bookingValues(a.formToken("/book"), tuesday9)
	v.Set("website", "autofill was here")
	v.Set("q_goal", "Pricing")
	v.Set("q_size", "50+")
	a.clock.Add(10e9)
	if rec := a.postForm("/book", v); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/book/received" {
		t.Fatalf("held booking: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := a.staffPost("/staff/spam/1/release", nil, cookie); rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "notice=booked") {
		t.Fatalf("release: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	b := a.onlyBooking(t)
	if len(b.Answers) != 3 || b.Answers[0].Value != "Pricing" || b.Answers[1].Value != "50+" || b.Room == "" {
		t.Fatalf("released booking: answers %+v room %q", b.Answers, b.Room)
	}
}

// TestSpamReleaseByPhoneWantsAPhone: when calls are by phone, a held
// request without a phone number is not booked on release: 422, nothing
// written, the request still held.
func TestSpamReleaseByPhoneWantsAPhone(t *testing.T) {
	a := newApp(t, withBooking(t, "", "phone", nil))
	a.addStaff()
	cookie := a.login("")
	v := bookingValues(a.formToken("/book"), tuesday9)
	v.Del("phone")
	v.Set("website", "autofill was here")
	a.clock.Add(10e9)
	if rec := a.postForm("/book", v); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/book/received" {
		t.Fatalf("held booking: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec := a.staffPost("/staff/spam/1/release", nil, cookie)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "phone number") {
		t.Fatalf("release without a phone: %d %s", rec.Code, rec.Body)
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings`); n != 0 {
		t.Fatalf("%d bookings after the refused release", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM spam`); n != 1 {
		t.Fatalf("%d held requests after the refused release, want 1", n)
	}
}
