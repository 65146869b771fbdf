package mailer

import (
	"strings"
	"testing"

	"leadbook/leads"
)

// Spam a bot types into a form along with a third party's address.
const (
	spamName    = "Eve Claim your prize at https://spam.example/x"
	spamCompany = "Prize Co www.spam.example"
	spamMessage = "Claim your prize at https://spam.example/x today!"
)

// visitorText is everything of m a recipient reads: headers' names, the
// subject, both bodies and the unfolded calendar.
func visitorText(m *Message) string {
	cal := strings.ReplaceAll(string(m.Calendar), "\r\n ", "")
	return strings.Join([]string{m.To.Name, m.Subject, m.Text, m.HTML, cal}, "\n")
}

func assertNoVisitorText(t *testing.T, what string, m *Message) {
	t.Helper()
	got := visitorText(m)
	for _, bad := range []string{"spam.example", "today!", "Prize Co", spamMessage} {
		if strings.Contains(got, bad) {
			t.Errorf("%s to %s repeats %q:\n%s", what, m.To.Address, bad, got)
		}
	}
	if !strings.Contains(got, "Eve Claim your prize at") {
		t.Errorf("%s: the capped name is missing", what)
	}
}

// TestVisitorMailCarriesNoVisitorText: mail to the address a visitor typed,
// which may be anyone's, carries only what the firm writes and the capped
// name, never the visitor's message, company or links; the staff and the
// CEO get everything.
func TestVisitorMailCarriesNoVisitorText(t *testing.T) {
	c, _ := testComposer(t)
	l := testLead()
	l.Name, l.Company, l.Message = spamName, spamCompany, spamMessage
	confirm, notify := leadMessages(t, c, l)
	assertNoVisitorText(t, "lead confirmation", confirm)
	for _, want := range []string{spamMessage, spamCompany, spamName} {
		if !strings.Contains(notify.Text, want) {
			t.Errorf("staff notification lacks %q", want)
		}
	}

	b := testBooking()
	b.Name, b.Company, b.Message = spamName, spamCompany, spamMessage
	for _, change := range []string{ChangeCreated, ChangeRescheduled, ChangeCancelled} {
		if change == ChangeCancelled {
			b.Status = leads.BookingCancelled
		}
		rows, err := c.BookingMessages(bookingMail(b, change))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			m, err := c.Render(r.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind == KindInvitationCEO {
				for _, want := range []string{spamMessage, spamCompany} {
					if !strings.Contains(m.Text, want) || !strings.Contains(strings.ReplaceAll(string(m.Calendar), "\r\n ", ""), want) {
						t.Errorf("%s %s lacks %q", change, r.Kind, want)
					}
				}
				continue
			}
			assertNoVisitorText(t, change+" "+r.Kind, m)
		}
	}
	// The invitation a visitor downloads from the manage page.
	ics, err := c.Invitation(bookingMail(b, ChangeCreated)).Encode()
	if err != nil {
		t.Fatal(err)
	}
	assertNoVisitorText(t, "invite.ics", &Message{Calendar: ics})

	msgs, err := c.Fallback(Submission{Form: "contact", Email: "zoe@example.org", Reason: "database unavailable",
		Fields: [][2]string{{"name", spamName}, {"email", "zoe@example.org"}, {"company", spamCompany}, {"message", spamMessage}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("fallback: %d messages", len(msgs))
	}
	if !strings.Contains(msgs[0].Text, spamMessage) {
		t.Error("staff fallback lacks the message")
	}
	assertNoVisitorText(t, "fallback", msgs[1])
}
