package handlers_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"leadbook/leads"
)

// FuzzContactSubmission posts arbitrary field values (FuzzContactForm
// fuzzes whole bodies) through the whole
// router, as a form and as JSON: the answer is always success or a 422
// (never a 500 or a panic), and whatever was stored is normalized and valid.
func FuzzContactSubmission(f *testing.F) {
	f.Add("Ada Lovelace", "ada@example.com", "Analytical Engines", "+44 20 7946 0000", "Hello", "on", false)
	f.Add("", "", "", "", "", "", true)
	f.Add("Eve\u202e\x00", "eve@exa mple.com", "=HYPERLINK(\"x\")", "call me", strings.Repeat("x", 6000), "true", true)
	f.Add("名前", "ünïcode@exämple.com", "Ω", "(0) 123-456", "line\r\nbreak", "yes", false)
	f.Add("a\xffb", "a@b.co", "\t", "+1", "\x1b[31m", "1", true)
	a := newApp(f, options{})
	db, err := sql.Open("sqlite3", "file:"+a.dbPath+"?mode=ro")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, name, email, company, phone, message, consent string, asJSON bool) {
		a.t = t // the app's helpers report through the current iteration
		var rec interface{ Result() *http.Response }
		if asJSON {
			body := map[string]any{"name": name, "email": email, "company": company, "phone": phone, "message": message, "consent": consent}
			r := a.postJSON("/contact", body)
			rec = r
		} else {
			v := url.Values{"name": {name}, "email": {email}, "company": {company}, "phone": {phone}, "message": {message}, "consent": {consent}}
			rec = a.postForm("/contact", v)
		}
		res := rec.Result()
		switch res.StatusCode {
		case http.StatusCreated, http.StatusSeeOther, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge:
		case http.StatusBadRequest:
			// JSON cannot carry invalid UTF-8 faithfully; form bodies can.
			if !asJSON {
				t.Fatalf("form answered 400")
			}
		default:
			t.Fatalf("status %d", res.StatusCode)
		}
		if res.StatusCode == http.StatusCreated || res.StatusCode == http.StatusSeeOther {
			// What was stored is normalized and valid.
			var l leads.Lead
			if err := db.QueryRow(`SELECT name, email, company, phone, message, source, consent_version FROM leads ORDER BY id DESC LIMIT 1`).
				Scan(&l.Name, &l.Email, &l.Company, &l.Phone, &l.Message, &l.Source, &l.ConsentVersion); err != nil {
				t.Fatal(err)
			}
			again := l
			again.Normalize()
			if again != l || l.Validate() != nil || !utf8.ValidString(l.Name+l.Email+l.Company+l.Phone+l.Message) {
				t.Fatalf("stored lead not normalized or not valid: %+v", l)
			}
		}
		if res.StatusCode == http.StatusUnprocessableEntity && asJSON {
			var got struct{ Fields map[string]string }
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil || len(got.Fields) == 0 {
				t.Fatalf("422 without field errors: %v", err)
			}
		}
	})
}
