package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/mailer"
)

// staffPostJSON acts as a signed-in script in the browser's session.
func (a *app) staffPostJSON(path string, body any, c *http.Cookie, site string) *httptest.ResponseRecorder {
	a.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", site)
	req.AddCookie(c)
	return a.do(req)
}

// bookCall books start through the router as a visitor and returns the
// booking's id and manage link.
func (a *app) bookCall(start string) (int64, string) {
	a.t.Helper()
	rec := a.postJSON("/book", bookingJSON(a.formToken("/book"), start))
	if rec.Code != http.StatusCreated {
		a.t.Fatalf("book %s: %d %s", start, rec.Code, rec.Body)
	}
	var ans struct {
		ID        int64  `json:"id"`
		ManageURL string `json:"manage_url"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		a.t.Fatal(err)
	}
	return ans.ID, ans.ManageURL
}

// latestMail returns the newest outbox message of kind, rendered.
func (a *app) latestMail(t *testing.T, kind string) (*mailer.Message, []byte) {
	t.Helper()
	files := a.mails(t, kind)
	m, err := a.composer.Render(a.latestPayload(t, kind))
	if err != nil {
		t.Fatal(err)
	}
	return m, files[0].eml // ListMail is newest first
}

func (a *app) latestPayload(t *testing.T, kind string) []byte {
	t.Helper()
	msgs, err := a.store.ListMail(t.Context(), leads.MailFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Kind == kind {
			return m.Payload
		}
	}
	t.Fatalf("no %s mail", kind)
	return nil
}

func TestHostCancelWithMessageAndRebook(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	id, manage := a.bookCall(tuesday9)
	page := "/staff/bookings/" + strconv.FormatInt(id, 10)
	token := manage[strings.LastIndex(manage, "/")+1:]

	// The CEO's invitation links to the booking's page.
	ceo, _ := a.latestMail(t, mailer.KindInvitationCEO)
	if !strings.Contains(ceo.Text, "https://consult.example"+page) {
		t.Errorf("the CEO's invitation lacks the link to %s:\n%s", page, ceo.Text)
	}
	rec := a.staffGet(page, c)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Grace Hopper") {
		t.Fatalf("booking page: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), token) {
		t.Error("the staff page shows the visitor's manage token")
	}

	rec = a.staffPost(page+"/cancel", url.Values{"message": {"Dana is ill <b>today</b>."}, "rebook": {"on"}}, c)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != page+"?notice=rebook" {
		t.Fatalf("cancel: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	var rebook string
	for _, kind := range []string{mailer.KindInvitation, mailer.KindInvitationCEO} {
		m, eml := a.latestMail(t, kind)
		if m.CalendarMethod != "CANCEL" || !strings.Contains(string(m.Calendar), "SEQUENCE:1") {
			t.Errorf("%s: method %s, calendar:\n%s", kind, m.CalendarMethod, m.Calendar)
		}
		if !strings.Contains(m.Text, "Dana is ill <b>today</b>.") {
			t.Errorf("%s: the host's message is missing:\n%s", kind, m.Text)
		}
		checkICS(t, kind+"-cancel.eml", eml)
		if kind == mailer.KindInvitation {
			rebook = regexp.MustCompile(`https://consult\.example(/bookings/[A-Za-z0-9_-]{43}/rebook)`).FindStringSubmatch(m.Text)[1]
		} else if strings.Contains(m.Text, "/rebook") {
			t.Error("the CEO's copy carries the visitor's rebook link")
		}
	}
	rec = a.staffGet(page, c)
	body := rec.Body.String()
	if !strings.Contains(body, "Asked the visitor to rebook") || !strings.Contains(body, "Staff member #") || strings.Contains(body, strings.Split(rebook, "/")[2]) {
		t.Errorf("booking page after the cancel: history or a leaked rebook token:\n%s", body)
	}
	if a.count(`SELECT COUNT(*) FROM bookings WHERE status = 'cancelled'`) != 1 {
		t.Error("the booking is not cancelled")
	}

	// The rebook link opens the picker with the details kept; picking a
	// slot books without retyping them.
	rec = a.get(rebook)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `value="Grace Hopper"`) || !strings.Contains(rec.Body.String(), `name="rebook"`) {
		t.Fatalf("rebook page: %d %s", rec.Code, rec.Body)
	}
	tok := strings.Split(rebook, "/")[2]
	rec = a.postJSON("/book", map[string]any{"start": wednesday9, "rebook": tok, "form_token": a.formToken(rebook)})
	if rec.Code != http.StatusCreated {
		t.Fatalf("book through the rebook link: %d %s", rec.Code, rec.Body)
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings b JOIN leads l ON l.id = b.lead_id
		WHERE b.status = 'confirmed' AND l.email = 'grace@example.com' AND l.name = 'Grace Hopper'`); n != 1 {
		t.Errorf("%d live bookings with the kept details, want 1", n)
	}
	if rec := a.get(rebook); rec.Code != http.StatusNotFound {
		t.Errorf("a used rebook link: %d", rec.Code)
	}
	// Cancelling again is a conflict, as JSON too.
	if rec := a.staffPostJSON(page+"/cancel", map[string]any{"message": "again"}, c, "same-origin"); rec.Code != http.StatusConflict {
		t.Errorf("cancel a cancelled call: %d %s", rec.Code, rec.Body)
	}
}

func TestHostMoveThroughOutbox(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	id, manage := a.bookCall(tuesday9)
	a.bookCall(wednesday9) // someone else's call
	page := "/staff/bookings/" + strconv.FormatInt(id, 10)

	// The page offers open slots only: not the other call's.
	body := a.staffGet(page, c).Body.String()
	if strings.Contains(body, `value="2026-03-04T08:00:00Z"`) {
		t.Errorf("the move picker offers a taken slot (Wednesday 09:00 Berlin)")
	}
	if !strings.Contains(body, `value="2026-03-04T09:00:00Z"`) {
		t.Errorf("the move picker lacks an open slot (Wednesday 10:00 Berlin)")
	}
	// The call's own time is in its place in the list, not to be picked.
	cur := strings.Index(body, `<option value="" disabled>Tue 3 Mar 09:00 (Europe/Berlin): the current time</option>`)
	if next := strings.Index(body, `value="2026-03-03T08:30:00Z"`); cur < 0 || next < cur || strings.Count(body, "the current time") != 1 {
		t.Errorf("the move picker does not mark the current time (Tuesday 09:00 Berlin) before Tuesday 09:30:\n%s", body)
	}
	// Onto the other call: refused like any booking write.
	if rec := a.staffPostJSON(page+"/move", map[string]any{"start": wednesday9}, c, "same-origin"); rec.Code != http.StatusConflict {
		t.Errorf("move onto a taken slot: %d %s", rec.Code, rec.Body)
	}
	rec := a.staffPostJSON(page+"/move", map[string]any{"start": wednesday10}, c, "same-origin")
	if rec.Code != http.StatusOK {
		t.Fatalf("move: %d %s", rec.Code, rec.Body)
	}
	var ans struct {
		Status, Start string
		Sequence      int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.Start != "2026-03-04T09:00:00Z" || ans.Sequence != 1 || ans.Status != "confirmed" {
		t.Fatalf("move answer %s (%v)", rec.Body, err)
	}
	for _, kind := range []string{mailer.KindInvitation, mailer.KindInvitationCEO} {
		m, eml := a.latestMail(t, kind)
		if m.CalendarMethod != "REQUEST" || !strings.Contains(string(m.Calendar), "SEQUENCE:1") ||
			!strings.Contains(string(m.Calendar), "DTSTART:20260304T090000Z") {
			t.Errorf("%s: method %s, calendar:\n%s", kind, m.CalendarMethod, m.Calendar)
		}
		checkICS(t, kind+"-move.eml", eml)
	}
	// The visitor's old link stops; the new one in the mail works.
	old := strings.TrimPrefix(manage, "https://consult.example")
	if rec := a.get(old); rec.Code != http.StatusNotFound {
		t.Errorf("the old manage link after a host move: %d", rec.Code)
	}
	m, _ := a.latestMail(t, mailer.KindInvitation)
	link := regexp.MustCompile(`https://consult\.example(/bookings/[A-Za-z0-9_-]{43})`).FindStringSubmatch(m.Text)
	if link == nil || a.get(link[1]).Code != http.StatusOK {
		t.Errorf("the new manage link does not open: %v", link)
	}
	if !strings.Contains(a.staffGet(page, c).Body.String(), ">Moved the call<") {
		t.Error("the move is not in the booking's history")
	}
}

func TestHostFormsKeepInputAndRefuse(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	id, _ := a.bookCall(tuesday9)
	page := "/staff/bookings/" + strconv.FormatInt(id, 10)

	long := strings.Repeat("Sorry ", 400) + "KEPTTEXT"
	rec := a.staffPost(page+"/cancel", url.Values{"message": {long}, "rebook": {"on"}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "KEPTTEXT") ||
		!strings.Contains(rec.Body.String(), `id="cancel-rebook" type="checkbox" name="rebook" value="on" checked`) {
		t.Errorf("a too long message: %d, input not kept:\n%s", rec.Code, rec.Body)
	}
	rec = a.staffPostJSON(page+"/cancel", map[string]any{"message": long}, c, "same-origin")
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"message"`) {
		t.Errorf("a too long message as JSON: %d %s", rec.Code, rec.Body)
	}
	rec = a.staffPost(page+"/move", url.Values{"start": {"next week"}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Please pick a new time.") {
		t.Errorf("a move without a time: %d\n%s", rec.Code, rec.Body)
	}
	rec = a.staffPostJSON(page+"/move", map[string]any{"start": ""}, c, "same-origin")
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"start"`) {
		t.Errorf("a move without a time as JSON: %d %s", rec.Code, rec.Body)
	}
	// Not before the call ends.
	if rec := a.staffPost(page+"/outcome", url.Values{"outcome": {"completed"}}, c); rec.Code != http.StatusConflict {
		t.Errorf("marking a call to come: %d", rec.Code)
	}
	for _, p := range []string{"/cancel", "/move", "/outcome"} {
		for _, site := range []string{"cross-site", "same-site"} {
			if rec := a.staffPostJSON(page+p, map[string]any{"start": wednesday9, "outcome": "completed"}, c, site); rec.Code != http.StatusForbidden {
				t.Errorf("%s from %s: %d", p, site, rec.Code)
			}
		}
	}
	if a.count(`SELECT COUNT(*) FROM bookings WHERE status = 'confirmed' AND sequence = 0`) != 1 {
		t.Fatal("a refused action changed the booking")
	}

	a.clock.Add(48 * time.Hour)
	c = a.login("") // the session ran out meanwhile
	rec = a.staffPost(page+"/outcome", url.Values{"outcome": {"maybe"}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="outcome-error"`) {
		t.Errorf("an unknown outcome: %d\n%s", rec.Code, rec.Body)
	}
	if rec := a.staffPost(page+"/outcome", url.Values{"outcome": {"no_show"}}, c); rec.Code != http.StatusSeeOther {
		t.Fatalf("mark: %d %s", rec.Code, rec.Body)
	}
	rec = a.staffPostJSON(page+"/outcome", map[string]any{"outcome": "completed"}, c, "same-origin")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"completed"`) {
		t.Errorf("mark as JSON: %d %s", rec.Code, rec.Body)
	}
	if body := a.staffGet("/staff/bookings", c).Body.String(); !strings.Contains(body, "completed") || !strings.Contains(body, `href="`+page+`"`) {
		t.Errorf("the bookings list lacks the state or the link to the page:\n%s", body)
	}
	// A past call cannot be cancelled or moved.
	if rec := a.staffPostJSON(page+"/cancel", map[string]any{}, c, "same-origin"); rec.Code != http.StatusConflict {
		t.Errorf("cancel a past call: %d", rec.Code)
	}
	if rec := a.staffGet("/staff/bookings/999", c); rec.Code != http.StatusNotFound {
		t.Errorf("a missing booking: %d", rec.Code)
	}
}
