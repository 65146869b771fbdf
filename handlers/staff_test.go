package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/handlers"
	"leadbook/leads"
)

var update = flag.Bool("update", false, "rewrite golden files")

// cheapPasswords keeps argon2id quick under the race detector; the code
// path is the production one.
var cheapPasswords = leads.PasswordParams{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

const (
	staffEmail    = "dana@consult.example"
	staffPassword = "correct horse battery staple"
	marker        = "ZQXMARKER"
)

func (a *app) addStaff() {
	a.t.Helper()
	if _, err := a.store.AddStaff(context.Background(), staffEmail, staffPassword, leads.ActorCLI); err != nil {
		a.t.Fatal(err)
	}
}

// login signs in and returns the session cookie.
func (a *app) login(remote string) *http.Cookie {
	a.t.Helper()
	rec := a.loginAs(staffEmail, staffPassword, remote)
	if rec.Code != http.StatusSeeOther {
		a.t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, "leadbook_staff") && c.Value != "" {
			return c
		}
	}
	a.t.Fatal("no session cookie")
	return nil
}

func (a *app) loginAs(email, password, remote string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/staff/login",
		strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if remote != "" {
		req.RemoteAddr = remote
	}
	return a.do(req)
}

// staffGet and staffPost act as a signed-in browser.
func (a *app) staffGet(path string, c *http.Cookie) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if c != nil {
		req.AddCookie(c)
	}
	return a.do(req)
}

func (a *app) staffPost(path string, v url.Values, c *http.Cookie) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if c != nil {
		req.AddCookie(c)
	}
	return a.do(req)
}

func (a *app) seedLead(name, email string) *leads.Lead {
	a.t.Helper()
	l := &leads.Lead{Name: name, Email: email, Company: "Co " + marker, Message: "hello " + marker,
		Source: leads.SourceContact, ConsentVersion: handlers.ConsentVersion}
	if _, err := a.store.CreateLead(context.Background(), l, a.composer.LeadMessages); err != nil {
		a.t.Fatal(err)
	}
	return l
}

type staffRoute struct {
	method, path string
}

var staffRoutes = []staffRoute{
	{"GET", "/staff"}, {"GET", "/staff/leads"}, {"GET", "/staff/leads?q=" + marker}, {"GET", "/staff/leads/1"},
	{"GET", "/staff/leads.csv"}, {"GET", "/staff/leads.csv?from=2020-01-01&bom=1"}, {"GET", "/staff/bookings"},
	{"GET", "/staff/outbox"}, {"GET", "/staff/outbox?status=queued"}, {"GET", "/staff/spam"}, {"GET", "/staff/feeds"},
	{"GET", "/staff/privacy"}, {"GET", "/staff/privacy/export?email=ada%40example.com"}, {"GET", "/staff/audit"},
	{"POST", "/staff/logout"}, {"POST", "/staff/outbox/1/retry"}, {"POST", "/staff/spam/1/release"},
	{"POST", "/staff/privacy/erase"},
	{"POST", "/staff/leads/1/pipeline"}, {"POST", "/staff/leads/1/notes"},
	{"GET", "/staff/webhooks"}, {"POST", "/staff/webhooks"}, {"POST", "/staff/webhooks/1/test"}, {"POST", "/staff/webhooks/1/disable"},
	{"POST", "/staff/webhooks/1/remove"}, {"POST", "/staff/webhooks/deliveries/1/retry"},
	{"GET", "/staff/analytics"}, {"GET", "/staff/analytics?from=2026-02-01&to=2026-03-02"},
}

func TestStaffRoutesRefuseStrangers(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	a.seedLead("Ada "+marker, "ada@example.com")
	valid := a.login("")
	token, _, err := a.store.CreateToken(context.Background(), "script", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	type client struct {
		name   string
		header map[string]string
		cookie *http.Cookie
		want   func(r staffRoute) int
	}
	browserWant := func(r staffRoute) int {
		if strings.HasPrefix(r.path, "/staff/leads.csv") {
			return http.StatusUnauthorized
		}
		return http.StatusSeeOther
	}
	clients := []client{
		{"anonymous browser", map[string]string{"Accept": "text/html"}, nil, browserWant},
		{"forged cookie", map[string]string{"Accept": "text/html"}, &http.Cookie{Name: valid.Name, Value: "forged"}, browserWant},
		{"anonymous JSON", map[string]string{"Accept": "application/json"}, nil, func(staffRoute) int { return http.StatusUnauthorized }},
		{"wrong bearer", map[string]string{"Authorization": "Bearer " + leads.TokenPrefix + "wrong"}, nil, func(staffRoute) int { return http.StatusUnauthorized }},
		{"not bearer", map[string]string{"Authorization": "Basic ZGFuYTpwdw=="}, nil, func(staffRoute) int { return http.StatusUnauthorized }},
		{"token that cannot write", map[string]string{"Authorization": "Bearer " + token}, nil, func(r staffRoute) int {
			if r.method == "POST" {
				return http.StatusForbidden
			}
			return 0 // allowed: not checked here
		}},
	}
	for _, cl := range clients {
		for _, r := range staffRoutes {
			want := cl.want(r)
			if want == 0 {
				continue
			}
			t.Run(cl.name+" "+r.method+" "+r.path, func(t *testing.T) {
				var body *strings.Reader
				if r.method == "POST" {
					body = strings.NewReader("email=ada%40example.com&confirm=on")
				} else {
					body = strings.NewReader("")
				}
				req := httptest.NewRequest(r.method, r.path, body)
				if r.method == "POST" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Sec-Fetch-Site", "same-origin")
				}
				for k, v := range cl.header {
					req.Header.Set(k, v)
				}
				if cl.cookie != nil {
					req.AddCookie(cl.cookie)
				}
				rec := a.do(req)
				if rec.Code != want {
					t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
				}
				if want == http.StatusSeeOther && !strings.HasPrefix(rec.Header().Get("Location"), "/staff/login") {
					t.Fatalf("redirect to %q", rec.Header().Get("Location"))
				}
				if strings.Contains(rec.Body.String(), marker) || strings.Contains(rec.Body.String(), "ada@example.com") {
					t.Fatalf("answer leaks the lead: %s", rec.Body)
				}
				if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q", cc)
				}
			})
		}
	}
	// Nothing was changed by any of them.
	if n := a.count(`SELECT COUNT(*) FROM leads`); n != 1 {
		t.Fatalf("%d leads", n)
	}
	// And the public pages never link to the dashboard.
	for _, p := range []string{"/", "/articles/cto-vs-cio", "/contact", "/book"} {
		if strings.Contains(a.get(p).Body.String(), "/staff") {
			t.Errorf("%s links to /staff", p)
		}
	}
}

func TestStaffSignedInPagesRenderAndEscape(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	hostile := `<script>alert("x")</script>`
	l := a.seedLead(hostile, "evil@example.com")
	c := a.login("")
	for _, r := range staffRoutes {
		if r.method != "GET" || strings.Contains(r.path, ".csv") || strings.Contains(r.path, "privacy/export") {
			continue
		}
		path := strings.Replace(r.path, "/staff/leads/1", fmt.Sprintf("/staff/leads/%d", l.ID), 1)
		rec := a.staffGet(path, c)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		body := rec.Body.String()
		if strings.Contains(body, "<script>alert") {
			t.Errorf("%s: visitor input not escaped", path)
		}
		if strings.Contains(body, " style=") || strings.Contains(body, "<script>") {
			t.Errorf("%s: inline style or script", path)
		}
		if !strings.Contains(body, `action="/staff/logout"`) || !strings.Contains(body, "</html>") {
			t.Errorf("%s: no staff frame", path)
		}
	}
	for _, path := range []string{"/staff/leads", "/staff/leads/" + fmt.Sprint(l.ID), "/staff/leads?q=evil"} {
		if body := a.staffGet(path, c).Body.String(); !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the escaped name", path)
		}
	}
	if body := a.staffGet("/staff", c).Body.String(); !strings.Contains(body, "<svg") || !strings.Contains(body, `class="bar-leads"`) {
		t.Error("no chart on the overview")
	}
}

func TestStaffCookieAttributesAndRotation(t *testing.T) {
	t.Run("https", func(t *testing.T) {
		a := newApp(t, options{})
		a.addStaff()
		c1 := a.login("")
		if c1.Name != "__Host-leadbook_staff" || !c1.Secure || !c1.HttpOnly || c1.SameSite != http.SameSiteLaxMode ||
			c1.Path != "/" || c1.Domain != "" {
			t.Fatalf("cookie %+v", c1)
		}
		c2 := a.login("")
		if c2.Value == c1.Value {
			t.Fatal("sign-in reused the session token")
		}
		if n := a.count(`SELECT COUNT(*) FROM sessions WHERE token_hash IN (?, ?)`, c1.Value, c2.Value); n != 0 {
			t.Fatal("raw tokens in the database")
		}
		if rec := a.staffGet("/staff", c2); rec.Code != 200 {
			t.Fatalf("new session: %d", rec.Code)
		}
		out := a.staffPost("/staff/logout", nil, c2)
		if out.Code != http.StatusSeeOther {
			t.Fatalf("logout %d", out.Code)
		}
		cleared := false
		for _, c := range out.Result().Cookies() {
			cleared = cleared || (c.Name == c2.Name && c.MaxAge < 0)
		}
		if !cleared {
			t.Error("logout did not clear the cookie")
		}
		if rec := a.staffGet("/staff", c2); rec.Code != http.StatusSeeOther {
			t.Fatalf("session works after logout: %d", rec.Code)
		}
		// Idle expiry: 2 hours without a request.
		c3 := a.login("")
		a.clock.Add(time.Hour)
		if rec := a.staffGet("/staff", c3); rec.Code != 200 {
			t.Fatalf("after an hour: %d", rec.Code)
		}
		a.clock.Add(2*time.Hour + time.Second)
		if rec := a.staffGet("/staff", c3); rec.Code != http.StatusSeeOther {
			t.Fatalf("idle session still works: %d", rec.Code)
		}
		// Absolute expiry: 12 hours however busy.
		c4 := a.login("")
		for i := 0; i < 11; i++ {
			a.clock.Add(time.Hour)
			if rec := a.staffGet("/staff", c4); rec.Code != 200 {
				t.Fatalf("hour %d: %d", i+1, rec.Code)
			}
		}
		a.clock.Add(time.Hour)
		if rec := a.staffGet("/staff", c4); rec.Code != http.StatusSeeOther {
			t.Fatalf("session past 12 hours still works: %d", rec.Code)
		}
	})
	t.Run("http", func(t *testing.T) {
		a := newApp(t, options{baseURL: "http://localhost:8080"})
		a.addStaff()
		c := a.login("")
		if c.Name != "leadbook_staff" || c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Fatalf("cookie %+v", c)
		}
	})
}

func TestStaffPostNeedsSameOrigin(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	for _, h := range []map[string]string{{}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {"Origin": "https://evil.example"}} {
		req := httptest.NewRequest(http.MethodPost, "/staff/privacy/erase", strings.NewReader("email=x%40example.com&confirm=on"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		req.AddCookie(c)
		if rec := a.do(req); rec.Code != http.StatusForbidden {
			t.Errorf("headers %v: %d", h, rec.Code)
		}
	}
}

func TestStaffLoginSameAnswerForUnknownAccount(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	wrong := a.loginAs(staffEmail, "not the password at all", "198.51.100.1:1000")
	unknown := a.loginAs("nobody@consult.example", "not the password at all", "198.51.100.2:1000")
	if wrong.Code != http.StatusUnauthorized || unknown.Code != wrong.Code {
		t.Fatalf("status %d vs %d", wrong.Code, unknown.Code)
	}
	strip := func(r *httptest.ResponseRecorder) string { return r.Body.String() }
	if strip(wrong) != strip(unknown) {
		t.Fatalf("bodies differ:\n%s\n---\n%s", wrong.Body, unknown.Body)
	}
	if len(wrong.Result().Cookies()) != 0 {
		t.Fatal("a failed sign-in set a cookie")
	}
	entries, _ := a.store.ListAudit(context.Background(), 10)
	failed := 0
	for _, e := range entries {
		if e.Action == leads.AuditSignInFailed {
			failed++
			if strings.Contains(e.Detail+e.Subject, "@") {
				t.Errorf("audit entry names an address: %+v", e)
			}
		}
	}
	if failed != 2 {
		t.Fatalf("%d failures audited", failed)
	}
}

// hostileLeads are inserted with raw SQL, as data from an import or an
// older version might be: the export must guard them whatever the forms
// let through.
var hostileLeads = []struct{ name, email, company, phone, message string }{
	{"=HYPERLINK(\"http://evil.example\",\"click\")", "a@example.com", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)"},
	{"\tTabbed", "b@example.com", "\rReturn", "", "multi\nline, with \"quotes\" and, commas"},
	{"日本語 名前", "c@example.com", "Société Générale", "+81 3 1234 5678", "emoji 🙂👍 and ünïcödé"},
	{"Plain Person", "d@example.com", "", "", ""},
	{"'=already quoted", "e@example.com", "a=b", "", "=1+1\r\nsecond line"},
}

func seedHostile(t *testing.T, a *app) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+a.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, h := range hostileLeads {
		at := time.Date(2026, 2, 1+i*7, 10, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
		if _, err := db.Exec(`INSERT INTO leads (created_at, updated_at, name, email, company, phone, message, source, consent_version, consent_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'contact', 'v1', ?)`, at, at, h.name, h.email, h.company, h.phone, h.message, at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeadsCSVExport(t *testing.T) {
	a := newApp(t, options{})
	seedHostile(t, a)
	token, _, err := a.store.CreateToken(context.Background(), "export", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/staff/leads.csv"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := a.do(req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
		}
		return rec
	}
	rec := get("")
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="leads-2026-03-02.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	golden := filepath.Join("testdata", "leads_export.csv")
	if *update {
		if err := os.WriteFile(golden, rec.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("export differs from %s (run with -update to accept):\n%s", golden, rec.Body)
	}
	// Every record ends in CRLF, and the file reads back to the stored
	// values, guarded.
	if !bytes.HasSuffix(want, []byte("\r\n")) || bytes.Count(want, []byte("\r\n")) < len(hostileLeads)+1 {
		t.Error("not CRLF")
	}
	recs, err := csv.NewReader(bytes.NewReader(want)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "id,created_at,name,email,company,phone,message,source,consent_version,consent_at,status,owner,next_step_at,"+
		"article,landing_page,referrer,utm_source,utm_medium,utm_campaign,utm_term,utm_content,answers" {
		t.Fatalf("header %q", recs[0])
	}
	if len(recs) != len(hostileLeads)+1 {
		t.Fatalf("%d records", len(recs))
	}
	for i, h := range hostileLeads {
		got := recs[i+1]
		norm := func(s string) string { return strings.ReplaceAll(leads.GuardCell(s), "\r", "") }
		for j, w := range []string{h.name, h.email, h.company, h.phone, h.message} {
			if got[j+2] != norm(w) {
				t.Errorf("row %d col %d = %q, want %q", i, j+2, got[j+2], norm(w))
			}
		}
		for _, cell := range got {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d: cell %q would run as a formula", i, cell)
			}
		}
		if _, err := time.Parse(time.RFC3339, got[1]); err != nil || !strings.HasSuffix(got[1], "Z") {
			t.Errorf("created_at %q is not RFC 3339 UTC", got[1])
		}
	}
	// bom=1 prefixes the UTF-8 byte-order mark and nothing else changes.
	if bom := get("?bom=1").Body.Bytes(); !bytes.Equal(bom, append([]byte("\uFEFF"), want...)) {
		t.Error("bom=1 output is not BOM + the same bytes")
	}
	// from and to select by day, both inclusive.
	ranged, _ := csv.NewReader(get("?from=2026-02-08&to=2026-02-15").Body).ReadAll()
	if len(ranged) != 3 || ranged[1][3] != "b@example.com" || ranged[2][3] != "c@example.com" {
		t.Fatalf("from/to: %q", ranged)
	}
	if rec := a.do(func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/staff/leads.csv?from=yesterday", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		return r
	}()); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad date: %d", rec.Code)
	}
	// A session works as well as a token; both exports are audited.
	a.addStaff()
	if rec := a.staffGet("/staff/leads.csv", a.login("")); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("session export: %d", rec.Code)
	}
	if n := a.count(`SELECT COUNT(*) FROM audit WHERE action = 'export'`); n != 4 {
		t.Fatalf("%d exports audited", n)
	}
}

func TestStaffEraseEverywhere(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	const email = "grace@example.com"
	token := a.formToken("/book")
	if rec := a.postForm("/book", bookingValues(token, wednesday9)); rec.Code != http.StatusSeeOther {
		t.Fatalf("book: %d %s", rec.Code, rec.Body)
	}
	// A second visitor's message mentions her; a bot's held submission too.
	other := &leads.Lead{Name: "Colleague", Email: "colleague@example.com", Message: "Please also write to GRACE@example.com",
		Source: leads.SourceContact, ConsentVersion: "v1"}
	if _, err := a.store.CreateLead(context.Background(), other, a.composer.LeadMessages); err != nil {
		t.Fatal(err)
	}
	v := contactValues("")
	v.Set("email", email)
	v.Set("website", "http://spam.example")
	a.postForm("/contact", v)
	if n := a.count(`SELECT COUNT(*) FROM spam`); n != 1 {
		t.Fatal("no held spam")
	}
	// The subject access export holds it all first.
	rec := a.staffGet("/staff/privacy/export?email="+url.QueryEscape(email), c)
	var person leads.PersonData
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &person) != nil || len(person.Leads) != 1 || len(person.Bookings) != 1 ||
		len(person.Mail) < 2 || len(person.Spam) != 1 {
		t.Fatalf("person export: %d %s", rec.Code, rec.Body)
	}

	rec = a.staffPost("/staff/privacy/erase", url.Values{"email": {email}}, c)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("erase without confirmation: %d", rec.Code)
	}
	rec = a.staffPost("/staff/privacy/erase", url.Values{"email": {"Grace@Example.com"}, "confirm": {"on"}}, c)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	// The future call was cancelled with METHOD:CANCEL to her and the CEO,
	// queued before anything is scrubbed.
	ctx := context.Background()
	msgs, err := a.store.ClaimMail(ctx, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	cancels := map[string]bool{}
	for _, m := range msgs {
		if strings.Contains(string(m.Payload), "METHOD:CANCEL") {
			cancels[m.Recipient] = true
		}
		if err := a.store.MarkMailSent(ctx, m.ID, m.Attempts); err != nil {
			t.Fatal(err)
		}
	}
	if !cancels[email] || !cancels["ceo@example.com"] {
		t.Fatalf("cancellations to %v", cancels)
	}
	if n := a.count(`SELECT COUNT(*) FROM erasures WHERE status = 'pending'`); n != 1 {
		t.Fatal("erasure not pending while its cancellations are queued")
	}
	if n, err := a.store.FinishErasures(ctx); err != nil || n != 1 {
		t.Fatalf("FinishErasures = %d, %v", n, err)
	}
	assertAddressGone(t, a.dbPath, email)
	if n := a.count(`SELECT COUNT(*) FROM erasures WHERE status = 'done' AND by_staff LIKE 'staff:%'`); n != 1 {
		t.Fatal("no erasure record")
	}
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE email = 'colleague@example.com'`); n != 1 {
		t.Fatal("the other lead went too")
	}
	if _, err := a.store.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// assertAddressGone looks through every TEXT column of every table.
func assertAddressGone(t *testing.T, path, email string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	columns := 0
	for _, table := range tables {
		info, err := db.Query(`SELECT name, type FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var cols []string
		for info.Next() {
			var name, typ string
			info.Scan(&name, &typ)
			if strings.Contains(strings.ToUpper(typ), "TEXT") || typ == "" {
				cols = append(cols, name)
			}
		}
		info.Close()
		for _, col := range cols {
			var n int
			if err := db.QueryRow(fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE instr(lower("%s"), lower(?)) > 0`, table, col), email).Scan(&n); err != nil {
				t.Fatalf("%s.%s: %v", table, col, err)
			}
			columns++
			if n > 0 {
				t.Errorf("%s.%s still holds the address in %d rows", table, col, n)
			}
		}
	}
	if columns < 30 {
		t.Fatalf("only %d text columns checked", columns)
	}
}

func TestStaffSpamReleaseAndMailRetry(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	v := contactValues("")
	v.Set("website", "bot was here")
	if rec := a.postForm("/contact", v); rec.Code != http.StatusSeeOther {
		t.Fatalf("contact: %d", rec.Code)
	}
	rec := a.staffGet("/staff/spam", c)
	if !strings.Contains(rec.Body.String(), "Ada Lovelace") || !strings.Contains(rec.Body.String(), "/staff/spam/1/release") {
		t.Fatalf("spam page: %s", rec.Body)
	}
	if rec := a.staffPost("/staff/spam/1/release", nil, c); rec.Code != http.StatusSeeOther {
		t.Fatalf("release: %d %s", rec.Code, rec.Body)
	}
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE email = 'ada@example.com' AND consent_version != ''`); n != 1 {
		t.Fatal("no lead from the released submission")
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE status = 'queued'`); n != 2 {
		t.Fatalf("%d mails queued", n)
	}
	if rec := a.staffPost("/staff/spam/1/release", nil, c); rec.Code != http.StatusConflict {
		t.Fatalf("second release: %d", rec.Code)
	}
	ctx := context.Background()
	if err := a.store.MarkMailDead(ctx, 1, 0, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	if body := a.staffGet("/staff/outbox", c).Body.String(); !strings.Contains(body, "550 no such user") || !strings.Contains(body, "/staff/outbox/1/retry") {
		t.Fatalf("outbox page lacks the dead mail")
	}
	if rec := a.staffPost("/staff/outbox/1/retry", nil, c); rec.Code != http.StatusSeeOther {
		t.Fatalf("retry: %d", rec.Code)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE id = 1 AND status = 'queued'`); n != 1 {
		t.Fatal("not queued again")
	}
	if rec := a.staffPost("/staff/outbox/1/retry", nil, c); rec.Code != http.StatusNotFound {
		t.Fatalf("retry of a queued mail: %d", rec.Code)
	}
	for _, action := range []string{leads.AuditNotSpam, leads.AuditMailRetry, leads.AuditSignIn} {
		if n := a.count(`SELECT COUNT(*) FROM audit WHERE action = ? AND actor LIKE 'staff:%'`, action); n != 1 {
			t.Errorf("%s audited %d times", action, n)
		}
	}
	if n := a.count(`SELECT COUNT(*) FROM audit WHERE instr(subject || detail, '@') > 0`); n != 0 {
		t.Error("an audit entry holds an address")
	}
}
