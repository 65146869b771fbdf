package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// allowedPOST are the answers a POST may get from outside input; a 500
// would mean the input broke something on our side.
var allowedPOST = map[int]bool{
	http.StatusCreated: true, http.StatusSeeOther: true, http.StatusBadRequest: true,
	http.StatusRequestEntityTooLarge: true, http.StatusUnsupportedMediaType: true,
	http.StatusUnprocessableEntity: true, http.StatusConflict: true, http.StatusTooManyRequests: true,
	http.StatusNotFound: true, http.StatusForbidden: true,
}

const (
	ctForm = "application/x-www-form-urlencoded"
	ctJSON = "application/json"
)

func fuzzPost(t *testing.T, a *app, path, contentType string, body []byte, accept string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", contentType)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := serveFuzz(a, req)
	if !allowedPOST[rec.Code] {
		t.Fatalf("POST %s (%s) %q: status %d %s", path, contentType, body, rec.Code, rec.Body)
	}
}

// serveFuzz is app.do without the test helpers, which belong to the
// *testing.F that made the app and must not be called inside the target.
func serveFuzz(a *app, req *http.Request) *httptest.ResponseRecorder {
	req.RemoteAddr = "203.0.113.7:5555"
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec
}

// FuzzContactForm posts arbitrary bodies, as a form and as JSON, through
// the whole router to POST /contact.
func FuzzContactForm(f *testing.F) {
	f.Add([]byte(contactValues("").Encode()), false)
	f.Add([]byte(`{"name":"Ada","email":"ada@example.com","consent":true}`), true)
	f.Add([]byte(`{"name":"Ada","email":"ada@example.com","consent":"yes","message":"\u202e=cmd|' /C calc'!A0"}`), true)
	f.Add([]byte(`{"consent":3}`), true)
	f.Add([]byte("name=%ZZ&email=a@b"), false)
	f.Add([]byte("name=Ada&name=Bob&email=ada%40example.com&consent=on&website="), false)
	f.Add([]byte(`[1,2,3]`), true)
	a := newApp(f, options{})
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := ctForm
		if asJSON {
			ct = ctJSON
		}
		fuzzPost(t, a, "/contact", ct, body, "")
		fuzzPost(t, a, "/contact", ct, body, "application/json")
	})
}

// FuzzBookingForm does the same for POST /book.
func FuzzBookingForm(f *testing.F) {
	f.Add([]byte(bookingValues("", wednesday10).Encode()), false)
	f.Add([]byte(`{"start":"2026-03-04T10:00:00+01:00","name":"Grace","email":"grace@example.com","consent":true,"tz":"America/New_York"}`), true)
	f.Add([]byte(`{"start":"2026-03-04T10:00:00Z","name":"Grace","email":"grace@example.com","tz":"../../etc/passwd"}`), true)
	f.Add([]byte(`{"start":"9999-99-99","tz":"Local"}`), true)
	f.Add([]byte("start=2026-03-04T10%3A00%3A00%2B01%3A00&tz=Europe%2FBerlin&name=G&email=g%40example.com&consent=on"), false)
	a := newApp(f, options{})
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := ctForm
		if asJSON {
			ct = ctJSON
		}
		fuzzPost(t, a, "/book", ct, body, "")
		fuzzPost(t, a, "/book", ct, body, "application/json")
	})
}

// FuzzManageToken sends arbitrary manage tokens to every /bookings/{token}
// route: none may answer 500 or find a booking it was not given.
func FuzzManageToken(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("short")
	f.Add("../../etc/passwd")
	f.Add("%00%ff")
	f.Add(strings.Repeat("-", 43))
	f.Add(strings.Repeat("é", 22))
	a := newApp(f, options{})
	f.Fuzz(func(t *testing.T, token string) {
		p := "/bookings/" + url.PathEscape(token)
		for _, path := range []string{p, p + "/invite.ics"} {
			rec := serveFuzz(a, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
				t.Fatalf("GET %s: %d", path, rec.Code)
			}
		}
		for _, path := range []string{p + "/cancel", p + "/reschedule"} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("start="+url.QueryEscape(time.Now().Format(time.RFC3339))))
			req.Header.Set("Content-Type", ctForm)
			rec := serveFuzz(a, req)
			if rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
				t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
			}
		}
	})
}
