package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"leadbook/leads"
)

// book books start for email through the router, as JSON, and returns the
// manage token from the answer.
func (a *app) book(email, message, start string) string {
	a.t.Helper()
	body := bookingJSON("", start)
	body["email"], body["name"], body["message"] = email, "Person "+email, message
	rec := a.postJSON("/book", body)
	var got struct {
		ManageURL string `json:"manage_url"`
	}
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
		a.t.Fatalf("book %s: %d %s", email, rec.Code, rec.Body)
	}
	_, token, ok := strings.Cut(got.ManageURL, "/bookings/")
	if !ok || len(token) < 40 {
		a.t.Fatalf("manage URL %q", got.ManageURL)
	}
	return token
}

// contact leaves a lead through the router.
func (a *app) contact(email, message string) {
	a.t.Helper()
	v := contactValues("")
	v.Set("email", email)
	v.Set("message", message)
	if rec := a.postForm("/contact", v); rec.Code != http.StatusSeeOther {
		a.t.Fatalf("contact %s: %d %s", email, rec.Code, rec.Body)
	}
}

// staffPaths turns the router's staff routes into requests to try: ids
// filled in, and the queries that make each page show the most.
func (a *app) staffPaths(method string, id string, email string) []string {
	a.t.Helper()
	var paths []string
	for _, r := range a.srv.Routes() {
		if r.Method != method || !strings.HasPrefix(r.Path, "/staff") {
			continue
		}
		p := strings.ReplaceAll(r.Path, ":id", id)
		if strings.Contains(p, ":") || strings.Contains(p, "*") {
			a.t.Fatalf("route %s has a parameter this test does not fill in", r.Path)
		}
		paths = append(paths, p)
		switch p {
		case "/staff/outbox":
			for _, st := range []string{"queued", "sent", "dead", "cancelled"} {
				paths = append(paths, p+"?status="+st)
			}
		case "/staff/leads":
			paths = append(paths, p+"?q="+url.QueryEscape(email))
		case "/staff/privacy/export":
			paths[len(paths)-1] = p + "?email=" + url.QueryEscape(email)
		}
	}
	if len(paths) == 0 {
		a.t.Fatalf("no staff routes for %s", method)
	}
	return paths
}

// TestAPITokenReachesOnlyItsScope tries a read-only API token on every
// staff route the router has, new ones included: only the CSV export
// answers; every page, action and the privacy export is refused with 403
// and shows nothing.
func TestAPITokenReachesOnlyItsScope(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	a.seedLead("Ada "+marker, "ada@example.com")
	a.book("grace@example.com", "Compilers "+marker, wednesday9)
	v := contactValues("")
	v.Set("website", "bot "+marker)
	a.postForm("/contact", v)
	token, _, err := a.store.CreateToken(context.Background(), "script", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"GET /staff/leads.csv": true, "HEAD /staff/leads.csv": true}
	public := map[string]bool{"GET /staff/login": true, "HEAD /staff/login": true, "POST /staff/login": true}
	tried := 0
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		for _, path := range a.staffPaths(method, "1", "ada@example.com") {
			route, _, _ := strings.Cut(path, "?")
			key := method + " " + route
			if public[key] {
				continue
			}
			tried++
			var body *strings.Reader
			if method == http.MethodPost {
				body = strings.NewReader("email=ada%40example.com&confirm=on")
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(method, path, body)
			req.Header.Set("Authorization", "Bearer "+token)
			if method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			rec := a.do(req)
			want := http.StatusForbidden
			if allowed[key] {
				want = http.StatusOK
			}
			if rec.Code != want {
				t.Errorf("%s %s with a token: %d, want %d", method, path, rec.Code, want)
				continue
			}
			if want != http.StatusOK && (strings.Contains(rec.Body.String(), marker) || strings.Contains(rec.Body.String(), "@example.com")) {
				t.Errorf("%s %s: the refusal shows data: %s", method, path, rec.Body)
			}
		}
	}
	if tried < 25 {
		t.Fatalf("only %d requests tried", tried)
	}
	// Nothing was changed.
	if a.count(`SELECT COUNT(*) FROM leads`) != 2 || a.count(`SELECT COUNT(*) FROM erasures`) != 0 ||
		a.count(`SELECT COUNT(*) FROM spam WHERE status = 'held'`) != 1 {
		t.Fatal("a token changed something")
	}
}

// TestNoManageTokenInStaffAnswers books a call and then reads every staff
// page (from the router), the privacy export and the CSV, as a signed-in
// person and with an API token: the manage token, the key that cancels
// the call, is in none of them.
func TestNoManageTokenInStaffAnswers(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	const email = "grace@example.com"
	secret := a.book(email, "Compilers", wednesday9)
	// Undeliverable and sent mail show on the outbox's other tabs.
	ctx := context.Background()
	msgs, err := a.store.ClaimMail(ctx, 0, 100)
	if err != nil || len(msgs) < 2 {
		t.Fatalf("claim: %d %v", len(msgs), err)
	}
	a.store.MarkMailDead(ctx, msgs[0].ID, msgs[0].Attempts, "550 mailbox unavailable")
	a.store.MarkMailSent(ctx, msgs[1].ID, msgs[1].Attempts)
	c := a.login("")
	var leadID string
	for _, l := range []string{"1", "2"} {
		if strings.Contains(a.staffGet("/staff/leads/"+l, c).Body.String(), email) {
			leadID = l
		}
	}
	if leadID == "" {
		t.Fatal("no lead page for the booking")
	}
	check := func(who, path string, rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != http.StatusOK {
			t.Errorf("%s %s: %d", who, path, rec.Code)
		}
		body := rec.Body.String()
		if strings.Contains(body, secret) || strings.Contains(body, secret[:16]) {
			t.Errorf("%s %s shows the manage token", who, path)
		}
	}
	exported, read := false, 0
	for _, path := range a.staffPaths(http.MethodGet, leadID, email) {
		if strings.HasPrefix(path, "/staff/login") {
			continue
		}
		read++
		rec := a.staffGet(path, c)
		check("staff", path, rec)
		if strings.HasPrefix(path, "/staff/privacy/export") {
			var p leads.PersonData
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Bookings) != 1 || len(p.Mail) < 3 {
				t.Fatalf("export: %v %s", err, rec.Body)
			}
			for _, m := range p.Mail {
				if m.Kind == "invitation" && !strings.Contains(m.Message, "/bookings/[link removed]") {
					t.Errorf("invitation in the export: %s", m.Message)
				}
			}
			exported = true
		}
	}
	if !exported || read < 15 {
		t.Fatalf("%d pages read, privacy export among them: %v", read, exported)
	}
	token, _, err := a.store.CreateToken(ctx, "script", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/staff/leads.csv", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := a.do(req)
	check("token", "/staff/leads.csv", rec)
	if !strings.Contains(rec.Body.String(), email) {
		t.Fatal("the CSV lacks the booking's lead")
	}
	// The mail as sent still carries the link.
	if a.count(`SELECT COUNT(*) FROM outbox WHERE instr(payload, ?) > 0`, secret) == 0 {
		t.Fatal("the outbox lost the manage link it must send")
	}
}

// TestPrivacyFormsRefuseFragments posts what used to match everything
// ("@" deleted the whole outbox) to the erasure and the export, as a form
// and as JSON: each is refused with a field error, the page keeps what
// was typed, and nothing is deleted.
func TestPrivacyFormsRefuseFragments(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	a.contact("bob@example.com", "hello")
	a.book("jimbob@example.com", "hello", wednesday9)
	c := a.login("")
	count := func() int {
		return a.count(`SELECT (SELECT COUNT(*) FROM leads) + (SELECT COUNT(*) FROM bookings) + (SELECT COUNT(*) FROM outbox)
			+ (SELECT COUNT(*) FROM erasures)`)
	}
	before := count()
	for _, bad := range []string{"", "@", "%", "_", "bob", "@example.com", "%@%", "bob@example.com jimbob@example.com"} {
		rec := a.staffPost("/staff/privacy/erase", url.Values{"email": {bad}, "confirm": {"on"}}, c)
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="erase-email-error"`) ||
			!strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, `value="`+htmlEscape(bad)+`"`) {
			t.Errorf("erase form %q: %d %s", bad, rec.Code, body)
		}
		req := httptest.NewRequest(http.MethodPost, "/staff/privacy/erase", strings.NewReader(`{"email":`+jsonString(bad)+`,"confirm":true}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(c)
		rec = a.do(req)
		var got struct {
			Error  string
			Fields map[string]string
		}
		if rec.Code != http.StatusUnprocessableEntity || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.Fields["email"] == "" {
			t.Errorf("erase JSON %q: %d %s", bad, rec.Code, rec.Body)
		}
		rec = a.staffGet("/staff/privacy/export?email="+url.QueryEscape(bad), c)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="export-email-error"`) {
			t.Errorf("export %q: %d %s", bad, rec.Code, rec.Body)
		}
	}
	// An unticked box is refused the same way, keeping the address.
	rec := a.staffPost("/staff/privacy/erase", url.Values{"email": {"bob@example.com"}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="erase-confirm-error"`) ||
		!strings.Contains(rec.Body.String(), `value="bob@example.com"`) {
		t.Errorf("unconfirmed erase: %d %s", rec.Code, rec.Body)
	}
	if after := count(); after != before {
		t.Fatalf("%d rows before, %d after", before, after)
	}
}

// TestStaffEraseBobKeepsJimbobAndCarol erases bob through the router, with
// the real composer's mail: jimbob's confirmation and invitation stay, and
// so does carol's mail, with bob's address cut out of her text.
func TestStaffEraseBobKeepsJimbobAndCarol(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	a.contact("bob@example.com", "I am bob")
	a.book("bob@example.com", "bob's call", tuesday9)
	a.contact("jimbob@example.com", "I am jim bob")
	a.book("jimbob@example.com", "jim bob's call", wednesday9)
	a.contact("carol@example.com", "Please copy bob@example.com on this, and jimbob@example.com too.")
	a.book("carol@example.com", "Bring BOB@example.com, please.", wednesday10)
	c := a.login("")

	rec := a.staffGet("/staff/privacy/export?email=bob%40example.com", c)
	if strings.Contains(rec.Body.String(), "jimbob") || strings.Contains(rec.Body.String(), "carol") {
		t.Fatalf("bob's export holds other people's data: %s", rec.Body)
	}
	jimMail := a.count(`SELECT COUNT(*) FROM outbox WHERE recipient = 'jimbob@example.com'`)
	carolMail := a.count(`SELECT COUNT(*) FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE l.email = 'carol@example.com'`)
	if jimMail < 2 || carolMail < 4 {
		t.Fatalf("jimbob has %d mails, carol %d", jimMail, carolMail)
	}
	if rec := a.staffPost("/staff/privacy/erase", url.Values{"email": {"bob@example.com"}, "confirm": {"on"}}, c); rec.Code != http.StatusSeeOther {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE recipient = 'jimbob@example.com' AND kind IN ('lead_confirmation', 'invitation')`); n != 2 {
		t.Errorf("jimbob's confirmation and invitation: %d left", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox o JOIN leads l ON l.id = o.lead_id WHERE l.email = 'carol@example.com'`); n != carolMail {
		t.Errorf("carol's mail: %d of %d left", n, carolMail)
	}
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE email IN ('jimbob@example.com', 'carol@example.com')`); n != 2 {
		t.Errorf("%d of jimbob's and carol's leads left", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE message = 'Please copy [erased] on this, and jimbob@example.com too.'`); n != 1 {
		t.Error("carol's message not redacted as wanted")
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings WHERE message = 'Bring [erased], please.'`); n != 1 {
		t.Error("carol's booking message not redacted")
	}
	// No whole mention of bob is left in carol's mail (only jimbob's
	// address, which contains his).
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE instr(replace(lower(payload), 'jimbob@example.com', ''), 'bob@example.com') > 0
		AND erasure_id IS NULL`); n != 0 {
		t.Errorf("%d mails still mention bob", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE email = 'bob@example.com'`); n != 0 {
		t.Error("bob's lead is still there")
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
