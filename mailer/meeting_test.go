package mailer

import (
	"net/url"
	"strings"
	"testing"

	"leadbook/leads"
)

func TestParseMeeting(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Meeting
		ok   bool
	}{
		{"", Meeting{}, true},
		{"phone", Meeting{Phone: true}, true},
		{"https://meet.jit.si/northwind-{room}", Meeting{Link: "https://meet.jit.si/northwind-{room}"}, true},
		{"https://zoom.us/j/123456?pwd=abc", Meeting{Link: "https://zoom.us/j/123456?pwd=abc"}, true},
		{"https://{room}.example.com/", Meeting{}, false},
		{"https://meet.example/{room}/{room}", Meeting{}, false},
		{"ftp://meet.example/x", Meeting{}, false},
		{"meet.jit.si/x", Meeting{}, false},
		{"https://meet.example/a b", Meeting{}, false},
		{"https://meet.example/a\r\nX:y", Meeting{}, false},
		{"telephone", Meeting{}, false},
	} {
		got, err := ParseMeeting(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseMeeting(%q) = %+v, %v", c.in, got, err)
		}
	}
}

// meetingBooking is a booking with a room, a phone and answers, one of
// which names the visitor's own secret project.
func meetingBooking() *leads.Booking {
	b := testBooking()
	b.Room, b.Phone = "k7qz3m9x2wd5", "+1 212 555 0100"
	b.Answers = []leads.Answer{{ID: "goal", Label: "What should the call be about?", Value: "Project Bluebird; budget, timeline"},
		{ID: "size", Label: "Team size", Value: "10-50"}}
	return b
}

// TestBookingMessagesMeeting: with a link template, each call's own link is
// the LOCATION and CONFERENCE of both invitations and the Where row of both
// mails; the CEO's mail and invitation carry the answers, the visitor's
// mail and invitation and its add-to-calendar links none of them (nor the
// phone); all of it passes the independent parsers.
func TestBookingMessagesMeeting(t *testing.T) {
	c, _ := testComposer(t)
	c.Meeting = Meeting{Link: "https://meet.jit.si/northwind-{room}"}
	b := meetingBooking()
	rows, err := c.BookingMessages(bookingMail(b, ChangeCreated))
	if err != nil {
		t.Fatal(err)
	}
	link := "https://meet.jit.si/northwind-k7qz3m9x2wd5"
	for _, r := range rows {
		m, err := c.Render(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		m.MessageID = "<meeting-" + r.Kind + "@example.com>"
		raw := writeMessage(t, m)
		name := "meeting_" + r.Kind
		golden(t, name+".txt", []byte(m.Subject+"\n\n"+m.Text))
		if !strings.Contains(m.Text, "Where:") || !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, link) {
			t.Errorf("%s: no Where row with the link:\n%s", name, m.Text)
		}
		private := []string{"Bluebird", "Team size", "555 0100"}
		if r.Kind == KindInvitationCEO {
			for _, want := range []string{"Project Bluebird; budget, timeline", "Team size\n    10-50"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("CEO mail lacks %q:\n%s", want, m.Text)
				}
			}
			if !strings.Contains(m.HTML, "Project Bluebird") || !strings.Contains(m.Text, "Phone:     +1 212 555 0100") {
				t.Errorf("CEO mail lacks the answers or the phone")
			}
		} else {
			for _, p := range private {
				if strings.Contains(string(raw), p) {
					t.Errorf("%s carries the visitor's %q", name, p)
				}
			}
		}
		if m.Calendar == nil {
			continue
		}
		golden(t, name+".ics", m.Calendar)
		ics := string(unfoldICS(m.Calendar))
		for _, want := range []string{"LOCATION:" + link + "\r\n", "CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Video call:" + link + "\r\n"} {
			if !strings.Contains(ics, want) {
				t.Errorf("%s invitation lacks %q", name, want)
			}
		}
		if r.Kind == KindInvitationCEO && !strings.Contains(ics, `Project Bluebird\; budget\, timeline`) {
			t.Errorf("CEO invitation lacks the answers:\n%s", ics)
		}
		icalcheck(t, name+".eml", raw)
	}
	// Add-to-calendar links: the visitor's mail only, with the place and
	// none of the visitor's words, nor the manage link.
	links := c.AddToCalendar(bookingMail(b, ChangeCreated))
	for _, l := range []string{links.Google, links.Outlook, links.Office} {
		u, err := url.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("location") != link || strings.Contains(l, "Bluebird") || strings.Contains(l, "TOKEN") || strings.Contains(l, "Acme") {
			t.Errorf("add-to-calendar link %s", l)
		}
	}
	cancelled := *b
	cancelled.Status = leads.BookingCancelled
	if got := c.AddToCalendar(bookingMail(&cancelled, ChangeCancelled)); got != (CalendarLinks{}) {
		t.Errorf("a cancelled call has add-to-calendar links: %+v", got)
	}
}

// TestBookingMessagesPhone: by phone, the CEO gets the number to call (in
// LOCATION and in the mail); the visitor is told they will be called,
// without the number they typed.
func TestBookingMessagesPhone(t *testing.T) {
	c, _ := testComposer(t)
	c.Meeting = Meeting{Phone: true}
	b := meetingBooking()
	m := bookingMail(b, ChangeCreated)
	ceo, err := c.CEOInvitation(m).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(unfoldICS(ceo)); !strings.Contains(s, `LOCATION:By phone: call +1 212 555 0100`) || strings.Contains(s, "CONFERENCE") {
		t.Errorf("CEO invitation by phone:\n%s", s)
	}
	vis, err := c.Invitation(m).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(unfoldICS(vis)); !strings.Contains(s, "LOCATION:By phone: Dana Ceo will call you on the number you gave us.") || strings.Contains(s, "555") {
		t.Errorf("visitor invitation by phone:\n%s", s)
	}
	// Without a meeting setting the CEO still sees the phone.
	c.Meeting = Meeting{}
	ceo, _ = c.CEOInvitation(m).Encode()
	if s := string(unfoldICS(ceo)); !strings.Contains(s, `Phone: +1 212 555 0100`) || strings.Contains(s, "LOCATION") {
		t.Errorf("CEO invitation without a meeting setting:\n%s", s)
	}
}

func unfoldICS(b []byte) []byte {
	return []byte(strings.ReplaceAll(string(b), "\r\n ", ""))
}
