package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

var (
	carryLinkRE  = regexp.MustCompile(`href="(/[a-z/-]*\?a=[A-Za-z0-9_-]+)"`)
	carryInputRE = regexp.MustCompile(`<input type="hidden" name="a" value="([A-Za-z0-9_-]+)">`)
)

// browse GETs path as a browser that came from referer.
func (a *app) browse(path, referer string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("User-Agent", browserUA)
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	rec := a.do(req)
	if rec.Code != http.StatusOK {
		a.t.Fatalf("GET %s: %d", path, rec.Code)
	}
	return rec
}

// link returns the page's own link that starts with prefix.
func link(t *testing.T, body, prefix string) string {
	t.Helper()
	for _, m := range carryLinkRE.FindAllStringSubmatch(body, -1) {
		if strings.HasPrefix(m[1], prefix) && (strings.HasSuffix(prefix, "/") || strings.HasPrefix(m[1], prefix+"?")) {
			return m[1]
		}
	}
	t.Fatalf("no carried link to %s", prefix)
	return ""
}

// submit posts a page's form with its hidden inputs, as a browser does
// without JavaScript (js false) or as site.js does (js true).
func (a *app) submit(path, body string, v url.Values, js bool) *httptest.ResponseRecorder {
	a.t.Helper()
	if m := tokenRE.FindStringSubmatch(body); m != nil {
		v.Set("form_token", m[1])
	}
	if m := carryInputRE.FindStringSubmatch(body); m != nil {
		v.Set("a", m[1])
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("User-Agent", browserUA)
	if js {
		req.Header.Set("Accept", "application/json")
	}
	rec := a.do(req)
	if rec.Code >= 400 {
		a.t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	return rec
}

const landing = "/articles/cto-vs-cio?utm_source=Newsletter&utm_medium=email&utm_campaign=winter&utm_term=cto&utm_content=top"

var wantFirstTouch = leads.Attribution{Article: "cto-vs-cio", LandingPage: "/articles/cto-vs-cio",
	Referrer: "https://mail.example/inbox", UTMSource: "Newsletter", UTMMedium: "email", UTMCampaign: "winter",
	UTMTerm: "cto", UTMContent: "top"}

// TestAttributionAcrossNavigation follows a visit from a landing page with
// utm_* parameters and an external referrer through the site's own links
// to each form, and finds the first touch on the lead or booking it made.
func TestAttributionAcrossNavigation(t *testing.T) {
	for _, js := range []bool{false, true} {
		name := "no-js"
		if js {
			name = "js"
		}
		t.Run(name+"/booking", func(t *testing.T) {
			a := newApp(t, options{})
			page := a.browse(landing, "https://mail.example/inbox?user=ada@example.com").Body.String()
			book := a.browse(link(t, page, "/book"), "https://consult.example"+landing).Body.String()
			// The booking page passes the value on in its own links too.
			if !strings.Contains(book, `href="/?a=`) {
				t.Fatal("booking page links do not carry the first touch")
			}
			a.submit("/book", book, bookingValues("", wednesday9), js)
			b, err := a.store.FindBooking(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if b.Attribution != wantFirstTouch {
				t.Fatalf("booking attribution %+v\nwant %+v", b.Attribution, wantFirstTouch)
			}
			l, err := a.store.FindLead(context.Background(), b.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if l.Attribution != wantFirstTouch {
				t.Fatalf("booking's lead attribution %+v", l.Attribution)
			}
		})
		t.Run(name+"/contact", func(t *testing.T) {
			a := newApp(t, options{})
			page := a.browse(landing, "https://mail.example/inbox").Body.String()
			// Another article, then the contact page, by the site's links.
			next := a.browse(link(t, page, "/articles/"), "https://consult.example"+landing).Body.String()
			contact := a.browse(link(t, next, "/contact"), "https://consult.example/").Body.String()
			v := contactValues("")
			v.Set("page", "")
			a.submit("/contact", contact, v, js)
			l, err := a.store.FindLead(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if l.Attribution != wantFirstTouch {
				t.Fatalf("lead attribution %+v\nwant %+v", l.Attribution, wantFirstTouch)
			}
		})
		t.Run(name+"/landing form", func(t *testing.T) {
			a := newApp(t, options{})
			page := a.browse("/articles/ui-design-tech-startups?utm_source=linkedin", "").Body.String()
			v := contactValues("")
			v.Set("page", "ui-design-tech-startups")
			a.submit("/contact", page, v, js)
			l, err := a.store.FindLead(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			want := leads.Attribution{Article: "ui-design-tech-startups", LandingPage: "/articles/ui-design-tech-startups", UTMSource: "linkedin"}
			if l.Attribution != want {
				t.Fatalf("lead attribution %+v\nwant %+v", l.Attribution, want)
			}
		})
	}
}

// TestAttributionTampered ignores a carried value whose signature fails:
// the page does not pass it on and the lead does not store it.
func TestAttributionTampered(t *testing.T) {
	a := newApp(t, options{})
	page := a.browse(landing, "").Body.String()
	href := link(t, page, "/contact")
	v := href[strings.Index(href, "a=")+2:]
	b := []byte(v)
	if b[8] == 'A' {
		b[8] = 'B'
	} else {
		b[8] = 'A'
	}
	forged := string(b)
	contact := a.browse("/contact?a="+forged, "https://consult.example/").Body.String()
	if strings.Contains(contact, forged) || carryInputRE.MatchString(contact) {
		t.Fatal("a forged value is passed on")
	}
	vals := contactValues("")
	vals.Set("page", "")
	vals.Set("a", forged)
	req := httptest.NewRequest(http.MethodPost, "/contact", strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if rec := a.do(req); rec.Code != http.StatusSeeOther {
		t.Fatalf("POST: %d", rec.Code)
	}
	l, err := a.store.FindLead(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Attribution.Empty() {
		t.Fatalf("forged attribution stored: %+v", l.Attribution)
	}
}

// TestAttributionOffTheCache keeps the cached page for a visit without a
// first touch, and internal navigation adds none.
func TestAttributionOffTheCache(t *testing.T) {
	a := newApp(t, options{})
	// A visit with a first touch gets its own copy, not cached.
	carried := a.browse("/articles/cto-vs-cio", "https://news.example/item?id=7")
	if body := carried.Body.String(); !strings.Contains(body, `href="/contact?a=`) || strings.Contains(body, "news.example/item?id=7") ||
		carried.Header().Get("Cache-Control") != "no-store" || carried.Header().Get("ETag") != "" {
		t.Fatal("a visit from another site is served the cached page")
	}
	for _, ref := range []string{"", "https://consult.example/", "http://example.com/"} {
		req := httptest.NewRequest(http.MethodGet, "/articles/cto-vs-cio", nil)
		req.Host = "example.com"
		if ref != "" {
			req.Header.Set("Referer", ref)
		}
		rec := a.do(req)
		if strings.Contains(rec.Body.String(), "?a=") || rec.Header().Get("ETag") == "" {
			t.Fatalf("referer %q: page carries a value or is not the cached copy", ref)
		}
	}
}

func TestViewCounting(t *testing.T) {
	a := newApp(t, options{})
	ctx := context.Background()
	view := func(method, path string, h map[string]string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("User-Agent", browserUA)
		for k, v := range h {
			if v == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, v)
			}
		}
		if rec := a.do(req); rec.Code != http.StatusOK {
			t.Fatalf("%s %s: %d", method, path, rec.Code)
		}
	}
	view("GET", "/articles/cto-vs-cio", nil)
	view("GET", "/articles/cto-vs-cio", nil)
	view("GET", "/articles/cto-vs-cio?utm_source=newsletter", nil)
	view("GET", "/articles/cto-vs-cio", map[string]string{"Referer": "https://www.Search.example/q?x=1"})
	// Not people viewing: none of these count.
	view("HEAD", "/articles/cto-vs-cio", nil)
	view("GET", "/articles/cto-vs-cio", map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"})
	view("GET", "/articles/cto-vs-cio", map[string]string{"User-Agent": "curl/8.5.0"})
	view("GET", "/articles/cto-vs-cio", map[string]string{"User-Agent": ""})
	view("GET", "/articles/cto-vs-cio", map[string]string{"Sec-Purpose": "prefetch;prerender"})
	view("GET", "/articles/cto-vs-cio", map[string]string{"Purpose": "prefetch"})
	view("GET", "/articles/cto-vs-cio", map[string]string{"X-Moz": "prefetch"})
	// Nothing reaches the database before a flush.
	st, err := a.store.ArticleStats(ctx, a.clock.Now(), a.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Total.Views != 0 {
		t.Fatalf("views stored before a flush: %+v", st.Total)
	}
	if err := a.srv.FlushViews(ctx); err != nil {
		t.Fatal(err)
	}
	view("GET", "/articles/cto-vs-cio", nil)
	if err := a.srv.FlushViews(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.srv.FlushViews(ctx); err != nil { // nothing new: adds nothing
		t.Fatal(err)
	}
	if st, err = a.store.ArticleStats(ctx, a.clock.Now().Add(-time.Hour), a.clock.Now()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"direct": 3, "newsletter": 1, "search.example": 1}
	if st.Total.Views != 5 || len(st.Sources) != len(want) {
		t.Fatalf("stats %+v", st)
	}
	for _, r := range st.Sources {
		if want[r.Name] != r.Views {
			t.Errorf("source %s: %d views, want %d", r.Name, r.Views, want[r.Name])
		}
	}
}

// TestStaffAnalyticsAndAttribution shows a visit's first touch on the
// lead's and the booking's staff pages, and its view, lead and call on
// the analytics page, per article and per source, within the period only.
func TestStaffAnalyticsAndAttribution(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	ctx := context.Background()
	page := a.browse(landing, "https://mail.example/inbox").Body.String()
	v := contactValues("")
	a.submit("/contact", page, v, false)
	book := a.browse(link(t, page, "/book"), "https://consult.example/").Body.String()
	a.submit("/book", book, bookingValues("", wednesday9), false)
	a.browse("/articles/ui-design-tech-startups", "")
	if err := a.srv.FlushViews(ctx); err != nil {
		t.Fatal(err)
	}
	c := a.login("")
	lead := a.staffGet("/staff/leads/1", c).Body.String()
	for _, want := range []string{"Came from", "newsletter", "/articles/cto-vs-cio", "https://mail.example/inbox", "winter"} {
		if !strings.Contains(lead, want) {
			t.Errorf("lead page lacks %q", want)
		}
	}
	if bookings := a.staffGet("/staff/bookings", c).Body.String(); !strings.Contains(bookings, `<dl class="attribution">`) ||
		!strings.Contains(bookings, "https://mail.example/inbox") {
		t.Error("bookings page does not show where the call came from")
	}
	rec := a.staffGet("/staff/analytics?from=2026-03-02&to=2026-03-02", c)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "<svg") || !strings.Contains(body, `class="bar-leads"`) {
		t.Fatalf("analytics: %d, no chart", rec.Code)
	}
	// Views 1 (the landing; the visit's other pages are not articles),
	// one lead and one call: 200%.
	for _, want := range []string{
		`<tr><td data-label="Name">cto-vs-cio</td><td data-label="Views">1</td><td data-label="Leads">1</td><td data-label="Calls booked">1</td><td data-label="Conversion">200.0%</td></tr>`,
		`<tr><td data-label="Name">ui-design-tech-startups</td><td data-label="Views">1</td><td data-label="Leads">0</td><td data-label="Calls booked">0</td><td data-label="Conversion">0.0%</td></tr>`,
		`<tr><td data-label="Name">newsletter</td><td data-label="Views">1</td><td data-label="Leads">1</td><td data-label="Calls booked">1</td><td data-label="Conversion">200.0%</td></tr>`,
		`<tr><td data-label="Name">direct</td><td data-label="Views">1</td><td data-label="Leads">0</td><td data-label="Calls booked">0</td><td data-label="Conversion">0.0%</td></tr>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("analytics lacks %s", want)
		}
	}
	if body := a.staffGet("/staff/analytics?from=2026-02-01&to=2026-03-01", c).Body.String(); !strings.Contains(body, "None in this period.") {
		t.Error("an earlier period shows this day's figures")
	}
	if rec := a.staffGet("/staff/analytics?from=2026-03-02&to=2026-03-01", c); rec.Code != http.StatusBadRequest {
		t.Errorf("reversed period: %d", rec.Code)
	}
}
