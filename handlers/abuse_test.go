package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"leadbook/leads"
	"leadbook/mailer"
)

// Tests of issue 9, finding 5 ("one bot can fill the CEO's calendar and
// mail anyone") that need no new setting: form token age, the fast human's
// confirm step, display names in mail and invitations, and held bookings
// released from the spam quarantine.

// queued renders the queued outbox rows of the given kinds, in order.
func (a *app) queued(t *testing.T, kinds ...string) []*mailer.Message {
	t.Helper()
	rows, err := a.store.ListMail(context.Background(), leads.MailFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*mailer.Message
	for _, row := range rows {
		if !slices.Contains(kinds, row.Kind) {
			continue
		}
		m, err := a.composer.Render(row.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func wantJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	return m
}

// TestFormTokenExpires: a token older than the form's maximum age (24 hours
// by default) shows the form again with a notice, what was typed, and a
// fresh token; nothing is stored, nothing held as spam; sent again, it goes
// through. A 14-minute-old token is fine.
func TestFormTokenExpires(t *testing.T) {
	forms := []struct {
		name, page, post string
		values           func(token string) url.Values
		stored           string
	}{
		{"contact", "/articles/cto-vs-cio", "/contact", contactValues, `SELECT COUNT(*) FROM leads`},
		{"book", "/book", "/book", func(tok string) url.Values { return bookingValues(tok, wednesday9) }, `SELECT COUNT(*) FROM bookings`},
	}
	for _, f := range forms {
		for _, mode := range []string{"form", "json"} {
			t.Run(f.name+"/"+mode, func(t *testing.T) {
				a := newApp(t, options{minFill: 3 * time.Second})
				old := a.formToken(f.page)
				a.clock.Add(24*time.Hour + time.Minute)
				v := f.values(old)
				var fresh string
				if mode == "form" {
					rec := a.postForm(f.post, v)
					body := rec.Body.String()
					if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "has expired") {
						t.Fatalf("old token: %d, want 422 with the notice\n%s", rec.Code, body)
					}
					for _, want := range []string{`value="` + v.Get("email") + `"`, `value="` + v.Get("name") + `"`, v.Get("message")} {
						if !strings.Contains(body, want) {
							t.Errorf("the form shown again lacks %q", want)
						}
					}
					m := tokenRE.FindStringSubmatch(body)
					if m == nil {
						t.Fatal("no token in the form shown again")
					}
					fresh = m[1]
				} else {
					j := map[string]any{}
					for k := range v {
						j[k] = v.Get(k)
					}
					rec := a.postJSON(f.post, j)
					got := wantJSON(t, rec.Body.Bytes())
					if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(got["error"].(string), "has expired") {
						t.Fatalf("old token: %d %s", rec.Code, rec.Body)
					}
					fresh, _ = got["form_token"].(string)
				}
				if fresh == "" || fresh == old {
					t.Fatalf("no fresh token (%q)", fresh)
				}
				if n := a.count(f.stored); n != 0 {
					t.Fatalf("an expired form stored %d rows", n)
				}
				if n := a.count(`SELECT COUNT(*) FROM spam`); n != 0 {
					t.Fatal("an expired form was held as spam: the visitor would never know")
				}
				a.clock.Add(14 * time.Minute) // old enough for the fill time, and not too old
				if rec := a.postForm(f.post, f.values(fresh)); rec.Code != http.StatusSeeOther {
					t.Fatalf("sent again with the fresh token: %d %s", rec.Code, rec.Body)
				}
				if n := a.count(f.stored); n != 1 {
					t.Fatalf("%d rows after sending again", n)
				}
			})
		}
	}
}

// TestBookingTooFastGetsConfirmStep: a booking sent within the minimum fill
// time with the honeypot empty is not dropped into the quarantine: the page
// comes back with the input kept, a fresh token and one "Confirm booking"
// button, and confirming (however quickly) books the call.
func TestBookingTooFastGetsConfirmStep(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{minFill: 3 * time.Second})
			first := a.formToken("/book")
			a.clock.Add(time.Second)
			var again string
			if mode == "form" {
				rec := a.postForm("/book", bookingValues(first, wednesday9))
				body := rec.Body.String()
				if rec.Code != http.StatusOK || !strings.Contains(body, "Please check your booking and confirm it.") {
					t.Fatalf("too fast: %d, want the confirm step\n%s", rec.Code, body)
				}
				if n := strings.Count(body, `type="submit">Confirm booking</button>`); n != 1 {
					t.Errorf("%d Confirm booking buttons, want 1", n)
				}
				if strings.Contains(body, "Book this call</button>") {
					t.Error("the confirm step still offers Book this call")
				}
				for _, want := range []string{`value="grace@example.com"`, `value="Grace Hopper"`, `value="` + strings.ReplaceAll(wednesday9, "+", "&#43;") + `" checked`, "Compilers"} {
					if !strings.Contains(body, want) {
						t.Errorf("the confirm step lacks %q", want)
					}
				}
				m := tokenRE.FindStringSubmatch(body)
				if m == nil {
					t.Fatal("no token on the confirm step")
				}
				again = m[1]
			} else {
				rec := a.postJSON("/book", bookingJSON(first, wednesday9))
				got := wantJSON(t, rec.Body.Bytes())
				if rec.Code != http.StatusUnprocessableEntity || got["form_token"] == nil {
					t.Fatalf("too fast: %d %s", rec.Code, rec.Body)
				}
				again = got["form_token"].(string)
			}
			if again == first {
				t.Fatal("the confirm step kept the old token")
			}
			if a.count(`SELECT COUNT(*) FROM bookings`) != 0 || a.count(`SELECT COUNT(*) FROM spam`) != 0 {
				t.Fatal("the fast booking was stored or quarantined")
			}
			// A person confirms at once: the fill time does not apply again.
			if mode == "form" {
				rec := a.postForm("/book", bookingValues(again, wednesday9))
				if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/bookings/") {
					t.Fatalf("confirm: %d %q", rec.Code, rec.Header().Get("Location"))
				}
			} else if rec := a.postJSON("/book", bookingJSON(again, wednesday9)); rec.Code != http.StatusCreated {
				t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
			}
			if n := a.count(`SELECT COUNT(*) FROM bookings WHERE status = 'confirmed' AND start_at = '2026-03-04T08:00:00.000Z'`); n != 1 {
				t.Fatalf("%d bookings after confirming", n)
			}
			// The confirm token is no pass for the contact form's fill time:
			// the contact form asks for its own confirmation.
			v := contactValues(again)
			if rec := a.postForm("/contact", v); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Please check your details and confirm that you want to send them.") {
				t.Fatalf("a fast contact form with the booking's confirm token: %d", rec.Code)
			}
			if a.count(`SELECT COUNT(*) FROM leads WHERE source = 'contact'`) != 0 {
				t.Error("a fast contact form with the booking's confirm token was stored")
			}
		})
	}
}

var hostileName = "Claim your prize at https://spam.example/x www.win.example bit.ly/abc " + strings.Repeat("Prize ", 20) + "end"

// TestVisitorNameBoundedInMailAndInvitations: the name a bot types reaches
// third parties as a To name and in the invitation's SUMMARY and CN; there
// it is capped at 64 characters and stripped of anything like a link.
func TestVisitorNameBoundedInMailAndInvitations(t *testing.T) {
	a := newApp(t, options{})
	if utf8.RuneCountInString(hostileName) > leads.MaxName {
		t.Fatalf("the name must pass validation: %d characters", utf8.RuneCountInString(hostileName))
	}
	j := bookingJSON(a.formToken("/book"), wednesday9)
	j["name"] = hostileName
	if rec := a.postJSON("/book", j); rec.Code != http.StatusCreated {
		t.Fatalf("book: %d %s", rec.Code, rec.Body)
	}
	c := contactValues(a.formToken("/contact"))
	c.Set("name", hostileName)
	if rec := a.postForm("/contact", c); rec.Code != http.StatusSeeOther {
		t.Fatalf("contact: %d", rec.Code)
	}
	urlish := regexp.MustCompile(`(?i)https?:|://|spam\.example|win\.example|bit\.ly|www\.`)
	msgs := a.queued(t, "invitation", "invitation_ceo", "reminder", "lead_confirmation", "lead_notification")
	if len(msgs) != 5 {
		t.Fatalf("%d messages queued, want 5", len(msgs))
	}
	names, summaries, cns := 0, 0, 0
	for _, m := range msgs {
		for _, addr := range []*struct{ name, what string }{{m.To.Name, "To"}, {replyName(m), "Reply-To"}} {
			if addr.name == "" || strings.Contains(m.To.Address, "ceo@") && addr.what == "To" {
				continue
			}
			names++
			if urlish.MatchString(addr.name) {
				t.Errorf("%s %s name carries a link: %q", m.Subject, addr.what, addr.name)
			}
			if n := utf8.RuneCountInString(addr.name); n > 64 {
				t.Errorf("%s %s name has %d characters", m.Subject, addr.what, n)
			}
			if !strings.HasPrefix(addr.name, "Claim your prize at Prize") {
				t.Errorf("%s %s name %q lost the words that are no link", m.Subject, addr.what, addr.name)
			}
		}
		if len(m.Calendar) == 0 {
			continue
		}
		ics := strings.ReplaceAll(string(m.Calendar), "\r\n ", "")
		for _, ln := range strings.Split(ics, "\r\n") {
			prop, _, _ := strings.Cut(ln, ":")
			switch {
			case strings.HasPrefix(ln, "SUMMARY:"):
				v := strings.TrimPrefix(ln, "SUMMARY:")
				summaries++
				if urlish.MatchString(v) || utf8.RuneCountInString(v) > 64+len("Free consultation call:  and Dana CEO") {
					t.Errorf("SUMMARY %q", v)
				}
			case strings.HasPrefix(ln, "ATTENDEE") && strings.Contains(prop, "CN="):
				cn := prop[strings.Index(prop, "CN=")+3:]
				cns++
				if urlish.MatchString(cn) || utf8.RuneCountInString(cn) > 66 {
					t.Errorf("CN %q", cn)
				}
			}
		}
	}
	if names < 5 || summaries != 2 || cns != 4 {
		t.Fatalf("checked %d display names, %d SUMMARY, %d CN; want at least 5, 2, 4", names, summaries, cns)
	}
	// Staff still see the whole name where they read it.
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE name = ?`, hostileName); n != 2 {
		t.Errorf("the stored lead lost its name (%d)", n)
	}
}

func replyName(m *mailer.Message) string {
	if m.ReplyTo == nil {
		return ""
	}
	return m.ReplyTo.Name
}

// TestSpamReleaseBooksTheCall: "Not spam" on a held booking request books
// the call it asked for when that time is still free, and otherwise keeps
// the lead and tells staff the time is gone.
func TestSpamReleaseBooksTheCall(t *testing.T) {
	a := newApp(t, options{minFill: 3 * time.Second})
	a.addStaff()
	cookie := a.login("")
	hold := func(email, start string) {
		t.Helper()
		v := bookingValues(a.formToken("/book"), start)
		v.Set("email", email)
		v.Set("website", "autofill was here")
		a.clock.Add(10 * time.Second)
		if rec := a.postForm("/book", v); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/book/received" {
			t.Fatalf("held booking: %d %q", rec.Code, rec.Header().Get("Location"))
		}
	}
	hold("grace@example.com", tuesday9)
	hold("bob@example.com", wednesday9)
	if n := a.count(`SELECT COUNT(*) FROM spam WHERE form = 'booking' AND status = 'held'`); n != 2 {
		t.Fatalf("%d held", n)
	}
	// Still free: booked.
	rec := a.staffPost("/staff/spam/1/release", nil, cookie)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "notice=booked") {
		t.Fatalf("release 1: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings b JOIN leads l ON l.id = b.lead_id
		WHERE l.email = 'grace@example.com' AND b.status = 'confirmed' AND b.start_at = '2026-03-03T08:00:00.000Z'`); n != 1 {
		t.Fatal("releasing the held booking did not book its slot")
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'invitation_ceo' AND status = 'queued'`); n != 1 {
		t.Fatalf("%d CEO invitations queued", n)
	}
	if page := a.staffGet(rec.Header().Get("Location"), cookie).Body.String(); !strings.Contains(page, "the call it asked for is booked") {
		t.Error("the spam page does not say the call was booked")
	}
	// Taken in the meantime: the lead is kept, staff are told.
	other := bookingJSON(a.formToken("/book"), wednesday9)
	other["email"] = "carol@example.com"
	a.clock.Add(10 * time.Second)
	if rec := a.postJSON("/book", other); rec.Code != http.StatusCreated {
		t.Fatalf("carol: %d %s", rec.Code, rec.Body)
	}
	rec = a.staffPost("/staff/spam/2/release", nil, cookie)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "notice=gone") {
		t.Fatalf("release 2: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	page := a.staffGet(rec.Header().Get("Location"), cookie).Body.String()
	if !strings.Contains(page, "no longer free") {
		t.Errorf("staff are not told the time is gone:\n%s", page)
	}
	if n := a.count(`SELECT COUNT(*) FROM leads WHERE email = 'bob@example.com' AND source = 'booking'`); n != 1 {
		t.Fatal("the lead of the request whose time was gone was not kept")
	}
	if n := a.count(`SELECT COUNT(*) FROM bookings b JOIN leads l ON l.id = b.lead_id WHERE l.email = 'bob@example.com'`); n != 0 {
		t.Fatal("a booking was made for a taken time")
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE recipient = 'bob@example.com' AND kind = 'lead_confirmation'`); n != 1 {
		t.Errorf("no lead mail for the kept lead (%d)", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM spam WHERE status = 'released'`); n != 2 {
		t.Fatalf("%d released", n)
	}
	if n := a.count(`SELECT COUNT(*) FROM audit WHERE action = ?`, leads.AuditNotSpam); n != 2 {
		t.Errorf("%d releases audited", n)
	}
}

// TestContactTooFastGetsConfirmStep: a contact form sent within the
// minimum fill time with the honeypot empty is not dropped into the
// quarantine: the form comes back with the input kept, a fresh token and
// one "Confirm and send" button, and confirming (however quickly) stores
// the lead. Its token is no pass for the booking form's fill time.
func TestContactTooFastGetsConfirmStep(t *testing.T) {
	for _, mode := range []string{"form", "json"} {
		t.Run(mode, func(t *testing.T) {
			a := newApp(t, options{minFill: 3 * time.Second})
			first := a.formToken("/contact")
			a.clock.Add(time.Second)
			v := contactValues(first)
			var again string
			if mode == "form" {
				rec := a.postForm("/contact", v)
				body := rec.Body.String()
				if rec.Code != http.StatusOK || !strings.Contains(body, "Please check your details and confirm that you want to send them.") {
					t.Fatalf("too fast: %d, want the confirm step\n%s", rec.Code, body)
				}
				if n := strings.Count(body, `type="submit">Confirm and send</button>`); n != 1 {
					t.Errorf("%d Confirm and send buttons, want 1", n)
				}
				if strings.Contains(body, "Send my details</button>") {
					t.Error("the confirm step still offers Send my details")
				}
				for _, want := range []string{`value="` + v.Get("email") + `"`, `value="` + v.Get("name") + `"`, v.Get("message")} {
					if !strings.Contains(body, want) {
						t.Errorf("the confirm step lacks %q", want)
					}
				}
				m := tokenRE.FindStringSubmatch(body)
				if m == nil {
					t.Fatal("no token on the confirm step")
				}
				again = m[1]
			} else {
				j := map[string]any{}
				for k := range v {
					j[k] = v.Get(k)
				}
				j["consent"] = true
				rec := a.postJSON("/contact", j)
				got := wantJSON(t, rec.Body.Bytes())
				if rec.Code != http.StatusUnprocessableEntity || got["form_token"] == nil || got["confirm"] != true {
					t.Fatalf("too fast: %d %s", rec.Code, rec.Body)
				}
				again = got["form_token"].(string)
			}
			if again == first {
				t.Fatal("the confirm step kept the old token")
			}
			if a.count(`SELECT COUNT(*) FROM leads`) != 0 || a.count(`SELECT COUNT(*) FROM spam`) != 0 {
				t.Fatal("the fast contact form was stored or quarantined")
			}
			// The contact's confirm token is no pass for the booking form.
			if rec := a.postForm("/book", bookingValues(again, wednesday9)); rec.Code != http.StatusOK ||
				!strings.Contains(rec.Body.String(), "Please check your booking and confirm it.") {
				t.Fatalf("a fast booking with the contact's confirm token: %d", rec.Code)
			}
			// A person confirms at once: the fill time does not apply again.
			if rec := a.postForm("/contact", contactValues(again)); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/contact/thanks" {
				t.Fatalf("confirm: %d %q", rec.Code, rec.Header().Get("Location"))
			}
			if n := a.count(`SELECT COUNT(*) FROM leads WHERE source = 'contact'`); n != 1 {
				t.Fatalf("%d leads after confirming", n)
			}
		})
	}
}
