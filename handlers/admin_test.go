package handlers_test

import (
	"context"
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
)

const (
	memberEmail    = "sam@consult.example"
	memberPassword = "another horse battery staple"
)

// addMember adds a staff (not admin) account and signs it in.
func (a *app) addMember() *http.Cookie {
	a.t.Helper()
	if _, err := a.store.AddStaffRole(context.Background(), memberEmail, memberPassword, leads.RoleStaff, leads.ActorCLI); err != nil {
		a.t.Fatal(err)
	}
	rec := a.loginAs(memberEmail, memberPassword, "")
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, "leadbook_staff") && c.Value != "" {
			return c
		}
	}
	a.t.Fatalf("member sign-in: %d", rec.Code)
	return nil
}

// staffJSON posts JSON as a signed-in browser's script would.
func (a *app) staffJSON(method, path string, body any, c *http.Cookie) *httptest.ResponseRecorder {
	a.t.Helper()
	var r *strings.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	} else {
		r = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c)
	return a.do(req)
}

// TestAdminRoutesRefuseStaffAndTokens walks every admin route as a staff
// account and with an API token: each answers 403 and changes nothing;
// an admin reaches each page.
func TestAdminRoutesRefuseStaffAndTokens(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	admin := a.login("")
	member := a.addMember()
	token, _, err := a.store.CreateToken(context.Background(), "script", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	routes := a.srv.AdminRoutes()
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.Method+" "+r.Path] = true
	}
	for _, want := range []string{"POST /staff/privacy/erase", "GET /staff/accounts", "POST /staff/accounts", "POST /staff/accounts/:id/role",
		"POST /staff/accounts/:id/remove", "POST /staff/accounts/:id/password", "GET /staff/tokens", "POST /staff/tokens",
		"POST /staff/tokens/:id/revoke", "GET /staff/settings", "POST /staff/settings", "POST /staff/settings/reset",
		"GET /staff/webhooks", "POST /staff/webhooks", "POST /staff/webhooks/:id/remove", "POST /staff/webhooks/:id/test"} {
		if !seen[want] {
			t.Errorf("%s is not an admin route", want)
		}
	}
	body := "email=ada%40example.com&confirm=on&role=admin&name=x&hours=mon+10:00-11:00"
	for _, r := range routes {
		path := strings.ReplaceAll(r.Path, ":id", "1")
		for _, who := range []string{"staff", "token"} {
			req := httptest.NewRequest(r.Method, path, strings.NewReader(body))
			if r.Method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			if who == "staff" {
				req.AddCookie(member)
			} else {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			if rec := a.do(req); rec.Code != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403", r.Method, path, who, rec.Code)
			}
		}
		if r.Method == http.MethodGet {
			if rec := a.staffGet(path, admin); rec.Code != http.StatusOK {
				t.Errorf("GET %s as admin: %d", path, rec.Code)
			}
		}
	}
	if a.count(`SELECT COUNT(*) FROM staff WHERE role = 'admin'`) != 1 || a.count(`SELECT COUNT(*) FROM staff`) != 2 ||
		a.count(`SELECT COUNT(*) FROM booking_settings`) != 0 || a.count(`SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL`) != 1 ||
		a.count(`SELECT COUNT(*) FROM erasures`) != 0 {
		t.Fatal("a refused request changed something")
	}
	// Staff still work leads: the privacy page shows them no erase form.
	rec := a.staffGet("/staff/privacy", member)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `action="/staff/privacy/erase"`) ||
		strings.Contains(rec.Body.String(), `href="/staff/settings"`) {
		t.Fatalf("staff privacy page: %d", rec.Code)
	}
	if rec := a.staffGet("/staff/privacy", admin); !strings.Contains(rec.Body.String(), `action="/staff/privacy/erase"`) ||
		!strings.Contains(rec.Body.String(), `href="/staff/settings"`) {
		t.Fatal("the admin's privacy page has no erase form or no settings link")
	}
}

var secretRE = regexp.MustCompile(`<code class="secret">([^<]+)</code>`)

// TestAdminAccounts adds accounts as form and JSON, with a one-time
// password that signs in; refuses bad input with 422 and the input kept,
// and cross-site posts; changes roles; never leaves no admin.
func TestAdminAccounts(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	admin := a.login("")

	rec := a.staffPost("/staff/accounts", url.Values{"email": {"not-an-address"}, "role": {"admin"}}, admin)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `value="not-an-address"`) ||
		!strings.Contains(rec.Body.String(), `<option value="admin" selected>`) || !strings.Contains(rec.Body.String(), "valid email") {
		t.Fatalf("bad email: %d %s", rec.Code, rec.Body)
	}
	if rec := a.staffJSON(http.MethodPost, "/staff/accounts", map[string]string{"email": "lee@example.com", "role": "boss"}, admin); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), `"role"`) {
		t.Fatalf("bad role (JSON): %d %s", rec.Code, rec.Body)
	}
	req := httptest.NewRequest(http.MethodPost, "/staff/accounts", strings.NewReader("email=evil%40example.com&role=admin"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(admin)
	if rec := a.do(req); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site add: %d", rec.Code)
	}

	rec = a.staffPost("/staff/accounts", url.Values{"email": {"kim@example.com"}, "role": {"staff"}}, admin)
	m := secretRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusCreated || m == nil || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	if rec := a.loginAs("kim@example.com", m[1], ""); rec.Code != http.StatusSeeOther {
		t.Fatalf("the one-time password does not sign in: %d", rec.Code)
	}
	if strings.Contains(a.staffGet("/staff/accounts", admin).Body.String(), m[1]) {
		t.Fatal("the one-time password is shown again")
	}
	rec = a.staffJSON(http.MethodPost, "/staff/accounts", map[string]string{"email": "lou@example.com", "role": "admin"}, admin)
	var added struct {
		ID       int64
		Role     string
		Password string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &added); rec.Code != http.StatusCreated || err != nil || added.Role != "admin" || len(added.Password) < 12 {
		t.Fatalf("add (JSON): %d %s", rec.Code, rec.Body)
	}
	if rec := a.staffPost("/staff/accounts", url.Values{"email": {"KIM@example.com"}, "role": {"staff"}}, admin); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "already an account") {
		t.Fatalf("duplicate: %d", rec.Code)
	}

	// Dana (id 1) and Lou are admins; Dana steps down, then Lou cannot.
	if rec := a.staffPost("/staff/accounts/1/role", url.Values{"role": {"staff"}}, admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("role: %d %s", rec.Code, rec.Body)
	}
	if rec := a.staffGet("/staff/accounts", admin); rec.Code != http.StatusForbidden {
		t.Fatalf("a demoted admin's session still reaches admin pages: %d", rec.Code)
	}
	lou := a.loginAs("lou@example.com", added.Password, "")
	louCookie := lou.Result().Cookies()[0]
	id := itoa64(added.ID)
	if rec := a.staffJSON(http.MethodPost, "/staff/accounts/"+id+"/role", map[string]string{"role": "staff"}, louCookie); rec.Code != http.StatusConflict {
		t.Fatalf("demoting the last admin: %d %s", rec.Code, rec.Body)
	}
	if rec := a.staffPost("/staff/accounts/"+id+"/remove", nil, louCookie); rec.Code != http.StatusConflict {
		t.Fatalf("removing the last admin: %d", rec.Code)
	}
	if rec := a.staffPost("/staff/accounts/1/password", nil, louCookie); rec.Code != http.StatusOK || secretRE.FindString(rec.Body.String()) == "" {
		t.Fatalf("new password: %d", rec.Code)
	}
	if rec := a.staffGet("/staff", admin); rec.Code == http.StatusOK {
		t.Fatal("a new password did not end the account's sessions")
	}
	if rec := a.staffPost("/staff/accounts/1/remove", nil, louCookie); rec.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d", rec.Code)
	}
	if rec := a.staffPost("/staff/accounts/999/remove", nil, louCookie); rec.Code != http.StatusNotFound {
		t.Fatalf("remove unknown: %d", rec.Code)
	}
	if a.count(`SELECT COUNT(*) FROM audit WHERE action IN ('staff_add', 'staff_role', 'staff_password', 'staff_remove') AND actor LIKE 'staff:%'`) != 5 {
		t.Fatal("the account changes are not all audited")
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// TestAdminTokens creates a token (shown once), which then reads the CSV
// export; the list never shows it again; a revoked token is refused.
func TestAdminTokens(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	admin := a.login("")
	rec := a.staffPost("/staff/tokens", url.Values{"name": {"  "}}, admin)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "needs a name") {
		t.Fatalf("empty name: %d", rec.Code)
	}
	if rec := a.staffPost("/staff/tokens", url.Values{"name": {"12345"}}, admin); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `value="12345"`) {
		t.Fatalf("numeric name: %d", rec.Code)
	}
	rec = a.staffPost("/staff/tokens", url.Values{"name": {"nightly export"}}, admin)
	m := secretRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusCreated || m == nil || !strings.HasPrefix(m[1], leads.TokenPrefix) {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	token := m[1]
	csv := func() int {
		req := httptest.NewRequest(http.MethodGet, "/staff/leads.csv", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return a.do(req).Code
	}
	if code := csv(); code != http.StatusOK {
		t.Fatalf("the new token reads no CSV: %d", code)
	}
	list := a.staffGet("/staff/tokens", admin)
	if strings.Contains(list.Body.String(), token) || !strings.Contains(list.Body.String(), "nightly export") {
		t.Fatal("the list shows the token, or not its name")
	}
	if rec := a.staffJSON(http.MethodGet, "/staff/tokens", nil, admin); strings.Contains(rec.Body.String(), token) || !strings.Contains(rec.Body.String(), `"name":"nightly export"`) {
		t.Fatalf("JSON list: %s", rec.Body)
	}
	if rec := a.staffJSON(http.MethodPost, "/staff/tokens", map[string]string{"name": "nightly export"}, admin); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate live name: %d", rec.Code)
	}
	toks, err := a.store.ListTokens(context.Background())
	if err != nil || len(toks) != 1 {
		t.Fatal(toks, err)
	}
	if rec := a.staffPost("/staff/tokens/"+itoa64(toks[0].ID)+"/revoke", nil, admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if code := csv(); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", code)
	}
	if a.count(`SELECT COUNT(*) FROM audit WHERE action IN ('token_create', 'token_revoke') AND actor = 'staff:1'`) != 2 {
		t.Fatal("token changes not audited")
	}
}

// TestSettingsChangeSlotsAtOnce: /api/slots offers 09:00 (and caches the
// answer); an admin moves the day's start to 10:00; the next answer, on
// this instance and on a second one on the same database, has no 09:00
// slot. Resetting brings it back.
func TestSettingsChangeSlotsAtOnce(t *testing.T) {
	a := newApp(t, options{})
	b := newApp(t, options{db: a.dbPath})
	a.addStaff()
	admin := a.login("")
	const q = "from=2026-03-03&to=2026-03-03"
	for _, x := range []*app{a, b} {
		if s := x.slots(q); len(s.Slots) != 16 || s.Slots[0].Start != tuesday9 {
			t.Fatalf("before: %+v", s)
		}
	}
	rec := a.staffPost("/staff/settings", url.Values{"hours": {"mon-fri 10:00-17:00"}, "slot_minutes": {"30"}}, admin)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	if s := a.slots(q); len(s.Slots) != 14 || s.Slots[0].Start != "2026-03-03T10:00:00+01:00" {
		t.Fatalf("after, this instance: %+v", s)
	}
	// Not a timing assertion: the other instance reads the settings'
	// version at most once a second; the deadline only stops a broken
	// test from hanging.
	deadline := time.Now().Add(30 * time.Second)
	for b.slots(q).Slots[0].Start == tuesday9 {
		if time.Now().After(deadline) {
			t.Fatal("the second instance never applied the new hours")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := b.slots(q); len(s.Slots) != 14 {
		t.Fatalf("after, second instance: %+v", s)
	}
	// Only the changed rule is stored: 30 is the environment's length.
	if a.count(`SELECT COUNT(*) FROM booking_settings`) != 1 || a.count(`SELECT COUNT(*) FROM booking_settings WHERE name = 'hours' AND value = 'mon 10:00-17:00; tue 10:00-17:00; wed 10:00-17:00; thu 10:00-17:00; fri 10:00-17:00'`) != 1 {
		t.Fatal("stored settings are not the changed rule alone")
	}
	page := a.staffGet("/staff/settings", admin).Body.String()
	if !strings.Contains(page, "Set on this page (staff:1") || !strings.Contains(page, `action="/staff/settings/reset"`) ||
		!strings.Contains(page, "From the environment (LEADBOOK_SLOT_MINUTES)") {
		t.Fatalf("the page does not say what it overrides: %s", page)
	}
	if rec := a.staffPost("/staff/settings/reset", url.Values{"name": {"hours"}}, admin); rec.Code != http.StatusSeeOther {
		t.Fatalf("reset: %d", rec.Code)
	}
	if s := a.slots(q); len(s.Slots) != 16 {
		t.Fatalf("after reset: %+v", s)
	}
	if a.count(`SELECT COUNT(*) FROM audit WHERE action = 'booking_setting' AND actor = 'staff:1'`) != 2 {
		t.Fatal("the changes are not audited")
	}
}

// TestSettingsInvalid: each field's parser refuses bad input with the
// field's message, 422, the input kept, nothing stored; rules that read
// alone but fail together are refused too; JSON alike; cross-site 403.
func TestSettingsInvalid(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	admin := a.login("")
	cases := []struct {
		field, value, message string
	}{
		{"hours", "mon-fri 09:00-25:00", "25:00"},
		{"closed", "2026-12-31..2026-12-24", "end before start"},
		{"slot_minutes", "4", "4 is out of range 5..480"},
		{"buffer_minutes", "ten", `&#34;ten&#34; is not a whole number`},
		{"min_notice", "12 hours", "is not a duration"},
		{"horizon_days", "0", "0 is out of range 1..366"},
		{"daily_cap", "-1", "-1 is out of range 0..1000"},
	}
	for _, c := range cases {
		rec := a.staffPost("/staff/settings", url.Values{c.field: {c.value}}, admin)
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, c.message) ||
			!strings.Contains(body, `id="rule-`+c.field+`-error"`) || !strings.Contains(body, `value="`+htmlEscape(c.value)+`"`) {
			t.Errorf("%s=%q: %d\n%s", c.field, c.value, rec.Code, body)
		}
		rec = a.staffJSON(http.MethodPost, "/staff/settings", map[string]string{c.field: c.value}, admin)
		var got struct{ Fields map[string]string }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusUnprocessableEntity || err != nil || got.Fields[c.field] == "" {
			t.Errorf("%s=%q (JSON): %d %s", c.field, c.value, rec.Code, rec.Body)
		}
	}
	if rec := a.staffPost("/staff/settings", url.Values{"slot_minutes": {"300"}, "hours": {"mon 09:00-10:00"}}, admin); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("a call longer than any day's hours: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/staff/settings", strings.NewReader("daily_cap=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(admin)
	if rec := a.do(req); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site: %d", rec.Code)
	}
	if a.count(`SELECT COUNT(*) FROM booking_settings`) != 0 {
		t.Fatal("a refused change was stored")
	}
	rec := a.staffJSON(http.MethodPost, "/staff/settings", map[string]string{"daily_cap": "2", "closed": "2026-03-03"}, admin)
	var got struct {
		Rules []struct{ Name, Value, Source string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("JSON save: %d %s", rec.Code, rec.Body)
	}
	for _, r := range got.Rules {
		want := "environment"
		if r.Name == "daily_cap" || r.Name == "closed" {
			want = "database"
		}
		if r.Source != want {
			t.Errorf("%s from %s, want %s", r.Name, r.Source, want)
		}
	}
	if s := a.slots("from=2026-03-03&to=2026-03-03"); len(s.Slots) != 0 {
		t.Fatalf("a closed date offers slots: %+v", s)
	}
}
