package handlers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"encoding/base64"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"

	"leadbook/calendar"
	"leadbook/handlers"
	"leadbook/leads"
	"leadbook/mailer"
)

// clock is a settable test clock shared by the server and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type options struct {
	rateLimit int
	minFill   time.Duration
	rules     func(r *calendar.Rules)
	busy      []string
	baseURL   string // https://consult.example when empty
	staff     func(st *handlers.Staff)
	store     func(o *leads.Options)
	booking   func(b *handlers.Booking) // limits and confirmation by email
	config    func(c *handlers.Config)  // privacy notice, contact details
	db        string                    // another app's database: a second instance on it
}

type app struct {
	t        testing.TB
	srv      *handlers.Server
	h        http.Handler
	store    *leads.Store
	dbPath   string
	mailDir  string
	direct   *mailer.Direct
	clock    *clock
	composer *mailer.Composer
}

func newApp(t testing.TB, o options) *app {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	dbPath := filepath.Join(dir, "leadbook.db")
	if o.db != "" {
		dbPath = o.db
	}
	storeOpts := leads.Options{Now: c.Now, Password: cheapPasswords}
	if o.store != nil {
		o.store(&storeOpts)
	}
	store, err := leads.Open(ctx, dbPath, storeOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	composer, err := mailer.NewComposer(mail.Address{Name: "Bookings", Address: "bookings@example.com"},
		mail.Address{Address: "staff@example.com"}, "https://consult.example", "Northwind Consulting")
	if err != nil {
		t.Fatal(err)
	}
	composer.Now = c.Now
	mailDir := filepath.Join(dir, "mail")
	if err := os.MkdirAll(mailDir, 0o755); err != nil {
		t.Fatal(err)
	}
	direct := mailer.NewDirect(mailer.DirSender{Dir: mailDir}, slog.New(slog.DiscardHandler))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		direct.Close(ctx)
	})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	hours, err := calendar.ParseHours("mon-fri 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	rules := calendar.Rules{Location: berlin, Hours: hours, Slot: 30 * time.Minute, MinNotice: 12 * time.Hour, HorizonDays: 30}
	if o.rules != nil {
		o.rules(&rules)
	}
	busy := calendar.NewFeeds(o.busy, calendar.FeedOptions{Now: c.Now, Floating: berlin})
	if len(o.busy) > 0 {
		if err := busy.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if o.baseURL == "" {
		o.baseURL = "https://consult.example"
	}
	staff := &handlers.Staff{Store: store, Accounts: store, Feeds: busy, API: store, Webhooks: store}
	if o.staff != nil {
		o.staff(staff)
	}
	booking := &handlers.Booking{
		Rules: rules, CEO: calendar.Person{Name: "Dana CEO", Email: "ceo@example.com"}, Reminder: 24 * time.Hour,
		FeedSecret: "feed-secret-0123456789", Store: store, Settings: store, Busy: busy, Composer: composer,
	}
	if o.booking != nil {
		o.booking(booking)
	}
	cfg := handlers.Config{
		BaseURL: o.baseURL, RateLimit: o.rateLimit, MinFill: o.minFill, Now: c.Now,
		Logger: slog.New(slog.DiscardHandler),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	srv, err := handlers.New(cfg, handlers.Deps{Store: store, Composer: composer, Direct: direct, FormKey: []byte("0123456789abcdef0123456789abcdef"),
		Booking: booking, Staff: staff, Views: store})
	if err != nil {
		t.Fatal(err)
	}
	return &app{t: t, srv: srv, h: srv.Handler(), store: store, dbPath: dbPath, mailDir: mailDir, direct: direct, clock: c, composer: composer}
}

func (a *app) do(req *http.Request) *httptest.ResponseRecorder {
	a.t.Helper()
	if req.RemoteAddr == "" || req.RemoteAddr == "192.0.2.1:1234" {
		req.RemoteAddr = "203.0.113.7:5555"
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec
}

func (a *app) get(path string) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.do(httptest.NewRequest(http.MethodGet, path, nil))
}

var tokenRE = regexp.MustCompile(`name="form_token" value="([^"]+)"`)

// formToken loads a page and returns the token its form carries, as a
// browser would submit it back.
func (a *app) formToken(path string) string {
	a.t.Helper()
	rec := a.get(path)
	m := tokenRE.FindStringSubmatch(rec.Body.String())
	if m == nil {
		a.t.Fatalf("no form token on %s", path)
	}
	return m[1]
}

// postForm posts url-encoded values as a same-origin browser would.
func (a *app) postForm(path string, v url.Values) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return a.do(req)
}

// postJSON posts a JSON body and asks for JSON.
func (a *app) postJSON(path string, body any) *httptest.ResponseRecorder {
	a.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return a.do(req)
}

func (a *app) count(query string, args ...any) int {
	a.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+a.dbPath+"?mode=ro")
	if err != nil {
		a.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

func contactValues(token string) url.Values {
	return url.Values{
		"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "company": {"Analytical Engines"},
		"phone": {"+44 20 7946 0000"}, "message": {"We need a CTO for a quarter."}, "consent": {"on"},
		"form_token": {token}, "page": {"cto-vs-cio"}, "website": {""},
	}
}

func contactJSON(token string) map[string]any {
	return map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com", "company": "Analytical Engines",
		"phone": "+44 20 7946 0000", "message": "We need a CTO for a quarter.", "consent": true,
		"form_token": token, "page": "cto-vs-cio",
	}
}

func TestPagesRender(t *testing.T) {
	a := newApp(t, options{})
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{"Latest articles", "CTO vs CIO: What&#39;s the Difference?", "Read the article", "/book"}},
		{"/articles/cto-vs-cio", 200, []string{"<h1>CTO vs CIO: What&#39;s the Difference?</h1>", "Daniel Gorlovetsky",
			`datetime="2025-06-05"`, "June 5, 2025", "Contact us", "automation partnership",
			"Skip the line and schedule a meeting directly with our CEO", `href="/book"`, "Free consultation call with our CEO",
			"Related articles", "Read the article", `name="form_token"`, `name="website"`, `aria-live="polite"`,
			`<label for="contact-email">`}},
		{"/articles/software-oriented-architecture", 200, []string{"<h1>Is Service-Oriented Architecture Your Next Step?</h1>", "Contact us"}},
		{"/articles/ui-design-tech-startups", 200, []string{"<h1>UI Design: Elevating Tech Startup Success</h1>"}},
		{"/articles/full-stack-developer-skills", 200, []string{"<h1>Important Skills for a Full Stack Developer</h1>"}},
		{"/contact", 200, []string{"<h1>Contact us</h1>", `name="consent"`}},
		{"/contact/thanks", 200, []string{"Thank you for leaving your details"}},
		{"/articles/no-such-article", 404, []string{"Page not found"}},
		{"/nowhere", 404, []string{"Page not found", "Go to the articles"}},
		{"/livez", 200, []string{"ok"}},
		{"/readyz", 200, []string{"ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := a.get(tt.path)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				if !strings.Contains(body, "</html>") {
					t.Error("page is not complete")
				}
				if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || strings.Contains(body, " style=") {
					t.Error("inline script or style: the CSP forbids them")
				}
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/articles/cto-vs-cio")
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
	} {
		if got := rec.Header().Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", h, got, want)
		}
	}
	// The request ID goes with answers whose request is logged: errors,
	// and every answer to a POST.
	if id := rec.Header().Get("X-Request-Id"); id != "" {
		t.Errorf("a good GET carries X-Request-Id %q", id)
	}
	if rec := a.get("/nowhere"); rec.Header().Get("X-Request-Id") == "" {
		t.Error("a 404 has no X-Request-Id")
	}
	if rec := a.postForm("/contact", url.Values{}); rec.Header().Get("X-Request-Id") == "" {
		t.Error("a POST answer has no X-Request-Id")
	}
}

func TestArticleGzipAndETag(t *testing.T) {
	a := newApp(t, options{})
	plain := a.get("/articles/cto-vs-cio")
	req := httptest.NewRequest(http.MethodGet, "/articles/cto-vs-cio", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	gz := a.do(req)
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers %v", gz.Header())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Fatal("gzip body differs from the plain one")
	}
	req = httptest.NewRequest(http.MethodGet, "/articles/cto-vs-cio", nil)
	req.Header.Set("If-None-Match", plain.Header().Get("ETag"))
	if rec := a.do(req); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("conditional GET: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	// A second later the page carries a fresh form token.
	a.clock.Add(2 * time.Second)
	if later := a.get("/articles/cto-vs-cio"); later.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Fatal("page was not re-rendered with a new token")
	}
}

func TestStaticAssets(t *testing.T) {
	a := newApp(t, options{})
	page := a.get("/").Body.String()
	m := regexp.MustCompile(`href="(/static/site\.css\?v=[^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no fingerprinted stylesheet link")
	}
	rec := a.get(m[1])
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d %v", rec.Code, rec.Header())
	}
	if rec := a.get("/static/site.css"); rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("unfingerprinted css cached: %q", rec.Header().Get("Cache-Control"))
	}
	if rec := a.get("/static/nope.js"); rec.Code != 404 {
		t.Fatalf("missing asset: %d", rec.Code)
	}
}

func TestContactCreate(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{minFill: 3 * time.Second, rateLimit: 100})
			token := a.formToken("/articles/cto-vs-cio")
			a.clock.Add(10 * time.Second)
			var rec *httptest.ResponseRecorder
			if mode == "form" {
				rec = a.postForm("/contact", contactValues(token))
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/contact/thanks" {
					t.Fatalf("status %d location %q", rec.Code, rec.Header().Get("Location"))
				}
			} else {
				rec = a.postJSON("/contact", contactJSON(token))
				if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), "Thank you for leaving your details") {
					t.Fatalf("status %d body %s", rec.Code, rec.Body)
				}
			}
			if n := a.count(`SELECT COUNT(*) FROM leads WHERE email = 'ada@example.com' AND source = 'contact' AND consent_version != ''`); n != 1 {
				t.Fatalf("%d leads stored, want 1", n)
			}
			if n := a.count(`SELECT COUNT(*) FROM outbox WHERE status = 'queued'`); n != 2 {
				t.Fatalf("%d messages queued, want 2 (visitor and staff)", n)
			}
			if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'lead_notification' AND recipient = 'staff@example.com'`); n != 1 {
				t.Fatal("no staff notification queued")
			}
		})
	}
}

func TestContactIdempotency(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{minFill: time.Second})
			token := a.formToken("/contact")
			a.clock.Add(5 * time.Second)
			post := func(v url.Values) int {
				if mode == "form" {
					return a.postForm("/contact", v).Code
				}
				m := map[string]any{}
				for k := range v {
					m[k] = v.Get(k)
				}
				return a.postJSON("/contact", m).Code
			}
			first, retry := post(contactValues(token)), post(contactValues(token))
			if first != retry {
				t.Fatalf("retry answered %d, first %d", retry, first)
			}
			if n := a.count(`SELECT COUNT(*) FROM leads`); n != 1 {
				t.Fatalf("a retried POST made %d leads", n)
			}
			// The same token with other content (back button, edit, send
			// again) is a new submission and is never dropped.
			edited := contactValues(token)
			edited.Set("message", "Actually, we need a CIO.")
			post(edited)
			if n := a.count(`SELECT COUNT(*) FROM leads`); n != 2 {
				t.Fatalf("edited resubmission: %d leads, want 2", n)
			}
			if n := a.count(`SELECT COUNT(*) FROM outbox`); n != 4 {
				t.Fatalf("%d outbox rows, want 4", n)
			}
		})
	}
}

func TestContactInvalid(t *testing.T) {
	a := newApp(t, options{})
	v := contactValues(a.formToken("/articles/cto-vs-cio"))
	v.Set("email", "ada-at-example")
	v.Set("name", "Ada <b>Lovelace</b>")
	v.Del("consent")
	rec := a.postForm("/contact", v)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`value="ada-at-example"`,                  // the visitor's input is kept
		`value="Ada &lt;b&gt;Lovelace&lt;/b&gt;"`, // and escaped
		"We need a CTO for a quarter.",
		"Please enter a valid email address", "Please agree",
		`aria-invalid="true"`, "CTO vs CIO", // shown again on the article it came from
	} {
		if !strings.Contains(body, want) {
			t.Errorf("422 page lacks %q", want)
		}
	}
	rec = a.postJSON("/contact", map[string]any{"name": "", "email": "x", "consent": false, "form_token": a.formToken("/contact")})
	var got struct {
		Error  string
		Fields map[string]string
	}
	if rec.Code != http.StatusUnprocessableEntity || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
		t.Fatalf("json: %d %s", rec.Code, rec.Body)
	}
	for _, f := range []string{"name", "email", "consent"} {
		if got.Fields[f] == "" {
			t.Errorf("no error for %s in %v", f, got.Fields)
		}
	}
	if n := a.count(`SELECT COUNT(*) FROM leads`); n != 0 {
		t.Fatalf("invalid submissions stored %d leads", n)
	}
}

func TestContactCrossOrigin(t *testing.T) {
	a := newApp(t, options{})
	for _, mode := range []string{"form", "json"} {
		body, ctype := contactValues(a.formToken("/contact")).Encode(), "application/x-www-form-urlencoded"
		if mode == "json" {
			b, _ := json.Marshal(contactJSON(a.formToken("/contact")))
			body, ctype = string(b), "application/json"
		}
		for name, hdr := range map[string][2]string{
			"sec-fetch-site": {"Sec-Fetch-Site", "cross-site"},
			"origin":         {"Origin", "https://evil.example"},
		} {
			req := httptest.NewRequest(http.MethodPost, "/contact", strings.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			req.Header.Set(hdr[0], hdr[1])
			if rec := a.do(req); rec.Code != http.StatusForbidden {
				t.Errorf("%s %s: status %d, want 403", mode, name, rec.Code)
			}
		}
	}
	if n := a.count(`SELECT COUNT(*) FROM leads`); n != 0 {
		t.Fatalf("cross-origin posts stored %d leads", n)
	}
}

func TestContactBodyLimit(t *testing.T) {
	a := newApp(t, options{})
	big := strings.Repeat("x", 200<<10)
	v := contactValues(a.formToken("/contact"))
	v.Set("message", big)
	if rec := a.postForm("/contact", v); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("form: status %d, want 413", rec.Code)
	}
	j := contactJSON(a.formToken("/contact"))
	j["message"] = big
	if rec := a.postJSON("/contact", j); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("json: status %d, want 413", rec.Code)
	}
	// Without a Content-Length, the limit holds while reading.
	req := httptest.NewRequest(http.MethodPost, "/contact", io.MultiReader(strings.NewReader(`{"message":"`), strings.NewReader(big), strings.NewReader(`"}`)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if rec := a.do(req); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked json: status %d, want 413", rec.Code)
	}
}

func TestContactRateLimit(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{rateLimit: 2})
			codes := []int{}
			for i := range 3 {
				v := contactValues(a.formToken("/contact"))
				v.Set("message", fmt.Sprint("message ", i))
				var rec *httptest.ResponseRecorder
				if mode == "form" {
					rec = a.postForm("/contact", v)
				} else {
					j := contactJSON(v.Get("form_token"))
					j["message"] = v.Get("message")
					rec = a.postJSON("/contact", j)
				}
				codes = append(codes, rec.Code)
				if rec.Code == http.StatusTooManyRequests {
					if rec.Header().Get("Retry-After") == "" {
						t.Error("429 without Retry-After")
					}
					if mode == "form" && !strings.Contains(rec.Body.String(), ">message 2</textarea>") {
						t.Error("429 page lost the visitor's input")
					}
				}
			}
			if codes[2] != http.StatusTooManyRequests {
				t.Fatalf("codes %v, want the third to be 429", codes)
			}
			// Another address is not limited; X-Forwarded-For from an
			// untrusted peer does not change the address.
			v := contactValues(a.formToken("/contact"))
			req := httptest.NewRequest(http.MethodPost, "/contact", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", "198.51.100.9")
			if rec := a.do(req); rec.Code != http.StatusTooManyRequests {
				t.Errorf("spoofed X-Forwarded-For: %d, want 429", rec.Code)
			}
			req = httptest.NewRequest(http.MethodPost, "/contact", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = "198.51.100.9:4444"
			if rec := a.do(req); rec.Code == http.StatusTooManyRequests {
				t.Error("another address was limited")
			}
			// The bucket refills with time.
			a.clock.Add(time.Minute)
			if rec := a.postForm("/contact", contactValues(a.formToken("/contact"))); rec.Code == http.StatusTooManyRequests {
				t.Error("still limited a minute later")
			}
		})
	}
}

func TestContactSpam(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(a *app, v url.Values)
		reason string
	}{
		{"honeypot", func(a *app, v url.Values) { a.clock.Add(time.Minute); v.Set("website", "http://spam.example") }, "honeypot"},
		{"no token", func(a *app, v url.Values) { a.clock.Add(time.Minute); v.Del("form_token") }, "no form token"},
		{"forged token", func(a *app, v url.Values) {
			a.clock.Add(time.Minute)
			tok := []byte(v.Get("form_token"))
			tok[5] ^= 1
			v.Set("form_token", string(tok))
		}, "bad form token"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"form", "json"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				a := newApp(t, options{minFill: 3 * time.Second})
				v := contactValues(a.formToken("/articles/cto-vs-cio"))
				tt.edit(a, v)
				if mode == "form" {
					rec := a.postForm("/contact", v)
					if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/contact/thanks" {
						t.Fatalf("a bot must see success: %d %q", rec.Code, rec.Header().Get("Location"))
					}
				} else {
					m := map[string]any{}
					for k := range v {
						m[k] = v.Get(k)
					}
					if rec := a.postJSON("/contact", m); rec.Code != http.StatusCreated {
						t.Fatalf("a bot must see success: %d", rec.Code)
					}
				}
				if n := a.count(`SELECT COUNT(*) FROM leads`); n != 0 {
					t.Fatalf("spam stored as %d leads", n)
				}
				if n := a.count(`SELECT COUNT(*) FROM outbox`); n != 0 {
					t.Fatalf("spam queued %d mails", n)
				}
				if n := a.count(`SELECT COUNT(*) FROM spam WHERE reason = ? AND form = 'contact' AND payload LIKE '%ada@example.com%'`, tt.reason); n != 1 {
					t.Fatalf("spam not held with reason %q", tt.reason)
				}
			})
		}
	}
}

func TestContactBadRequests(t *testing.T) {
	a := newApp(t, options{})
	req := httptest.NewRequest(http.MethodPost, "/contact", strings.NewReader(`{"name": `))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if rec := a.do(req); rec.Code != http.StatusBadRequest {
		t.Errorf("malformed JSON: %d", rec.Code)
	}
	req = httptest.NewRequest(http.MethodPost, "/contact", strings.NewReader(`<lead/>`))
	req.Header.Set("Content-Type", "application/xml")
	if rec := a.do(req); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("xml: %d", rec.Code)
	}
}

// TestContactStoreFailure breaks the real database under the server: the
// visitor sees the Oops message with their input kept, and staff get the
// whole submission by the fallback mail.
func TestContactStoreFailure(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{})
			db, err := sql.Open("sqlite3", a.dbPath)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`ALTER TABLE leads RENAME TO leads_gone`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			var rec *httptest.ResponseRecorder
			if mode == "form" {
				rec = a.postForm("/contact", contactValues(a.formToken("/articles/cto-vs-cio")))
			} else {
				rec = a.postJSON("/contact", contactJSON(a.formToken("/articles/cto-vs-cio")))
			}
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d", rec.Code)
			}
			body := rec.Body.String()
			if !strings.Contains(body, "Oops! Something went wrong while submitting the form.") {
				t.Fatalf("no Oops message in %s", body)
			}
			if mode == "form" && !strings.Contains(body, `value="ada@example.com"`) {
				t.Error("the visitor's input was not kept")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.direct.Close(ctx); err != nil {
				t.Fatal(err)
			}
			files, _ := filepath.Glob(filepath.Join(a.mailDir, "*.eml"))
			var staff string
			for _, f := range files {
				to, text := readMail(t, f)
				if to == "staff@example.com" {
					staff = text
				}
			}
			if staff == "" {
				t.Fatalf("no fallback mail to staff among %d files", len(files))
			}
			for _, want := range []string{"Ada Lovelace", "ada@example.com", "Analytical Engines", "We need a CTO for a quarter."} {
				if !strings.Contains(staff, want) {
					t.Errorf("fallback mail lacks %q", want)
				}
			}
			if len(files) != 2 {
				t.Errorf("%d fallback mails, want 2 (staff and visitor)", len(files))
			}
		})
	}
}

func TestReadyzWhileDraining(t *testing.T) {
	a := newApp(t, options{})
	a.srv.StartDraining()
	if rec := a.get("/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d", rec.Code)
	}
	if rec := a.get("/livez"); rec.Code != http.StatusOK {
		t.Fatalf("livez while draining: %d", rec.Code)
	}
}

// readMail parses an .eml file and returns its recipient and its decoded
// text/plain part.
func readMail(t *testing.T, path string) (to, text string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil {
		t.Fatal(err)
	}
	return addr.Address, plainPart(t, textproto.MIMEHeader(m.Header), m.Body)
}

func plainPart(t *testing.T, h textproto.MIMEHeader, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err != nil {
				return ""
			}
			if s := plainPart(t, p.Header, p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
