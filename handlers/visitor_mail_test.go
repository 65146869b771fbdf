package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"leadbook/leads"
)

// TestVisitorMailCarriesNoVisitorText: a bot that types a third party's
// address with its own text into the contact and booking forms makes that
// person receive the firm's words and a capped name only: not the message,
// the company or a link. Staff and the CEO still get everything.
func TestVisitorMailCarriesNoVisitorText(t *testing.T) {
	const (
		name    = "Eve Claim your prize at https://spam.example/x"
		company = "Prize Co www.spam.example"
		message = "Claim your prize at https://spam.example/x today!"
	)
	a := newApp(t, options{})
	v := contactValues(a.formToken("/contact"))
	v.Set("name", name)
	v.Set("company", company)
	v.Set("message", message)
	v.Set("email", "victim@example.net")
	if rec := a.postForm("/contact", v); rec.Code != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", rec.Code, rec.Body)
	}
	j := bookingJSON(a.formToken("/book"), wednesday9) // far enough ahead for a reminder
	j["name"], j["company"], j["message"], j["email"] = name, company, message, "other-victim@example.net"
	rec := a.postJSON("/book", j)
	if rec.Code != http.StatusCreated {
		t.Fatalf("book: %d %s", rec.Code, rec.Body)
	}
	var booked struct {
		ManageURL string `json:"manage_url"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &booked); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(booked.ManageURL)
	if err != nil {
		t.Fatal(err)
	}

	rows, err := a.store.ListMail(context.Background(), leads.MailFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, row := range rows {
		m, err := a.composer.Render(row.Payload)
		if err != nil {
			t.Fatal(err)
		}
		read := strings.Join([]string{m.To.Name, m.Subject, m.Text, m.HTML, strings.ReplaceAll(string(m.Calendar), "\r\n ", "")}, "\n")
		kinds[row.Kind] = true
		switch row.Kind {
		case "lead_notification", "invitation_ceo":
			if !strings.Contains(m.Text, message) || !strings.Contains(m.Text, company) {
				t.Errorf("%s to %s lacks the visitor's message or company:\n%s", row.Kind, row.Recipient, m.Text)
			}
		default:
			if !strings.HasSuffix(row.Recipient, "victim@example.net") {
				t.Fatalf("%s went to %s", row.Kind, row.Recipient)
			}
			for _, bad := range []string{"spam.example", "today!", "Prize Co"} {
				if strings.Contains(read, bad) {
					t.Errorf("%s to %s repeats %q:\n%s", row.Kind, row.Recipient, bad, read)
				}
			}
		}
	}
	for _, k := range []string{"lead_confirmation", "lead_notification", "invitation", "invitation_ceo", "reminder"} {
		if !kinds[k] {
			t.Errorf("no %s was queued", k)
		}
	}
	// The calendar file on the manage page is the visitor's copy; the
	// CEO's feed has the topic.
	if ics := a.get(u.Path + "/invite.ics").Body.String(); strings.Contains(strings.ReplaceAll(ics, "\r\n ", ""), "spam.example") {
		t.Errorf("invite.ics repeats the visitor's text:\n%s", ics)
	}
	if feed := a.get("/calendar/feed-secret-0123456789.ics").Body.String(); !strings.Contains(strings.ReplaceAll(feed, "\r\n ", ""), message) {
		t.Errorf("the CEO's feed lacks the topic:\n%s", feed)
	}
}
