package mailer

import (
	"bytes"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
)

func testBooking() *leads.Booking {
	return &leads.Booking{
		ID: 7, LeadID: 42, UID: "0f3a9c@www.example.com", Sequence: 0,
		Start:    time.Date(2026, 3, 5, 14, 0, 0, 0, time.UTC),
		End:      time.Date(2026, 3, 5, 14, 30, 0, 0, time.UTC),
		Timezone: "America/New_York", Message: "Our booking system.\nAnd our CRM.",
		Status: leads.BookingConfirmed, Name: "Zoë Müller", Email: "zoe@example.org", Company: "Acme GmbH",
	}
}

func bookingMail(b *leads.Booking, change string) BookingMail {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	return BookingMail{
		Booking: b, Change: change,
		ManageURL: "https://www.example.com/bookings/TOKEN", ICSURL: "https://www.example.com/bookings/TOKEN/invite.ics",
		CEO: calendar.Person{Name: "Dana Ceo", Email: "ceo@example.com"}, CEOZone: berlin,
		Reminder: 24 * time.Hour, Now: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
	}
}

// TestBookingMessagesGolden composes the mail of a booking's life, new,
// moved and cancelled, and compares each message's MIME tree, text and
// calendar with golden files; the independent parsers must accept every
// message as the .eml it is.
func TestBookingMessagesGolden(t *testing.T) {
	c, _ := testComposer(t)
	b := testBooking()
	steps := []struct {
		change string
		edit   func(b *leads.Booking)
		kinds  []string
	}{
		{ChangeCreated, func(*leads.Booking) {}, []string{KindInvitation, KindInvitationCEO, KindReminder}},
		{ChangeRescheduled, func(b *leads.Booking) {
			b.Sequence, b.Start, b.End = 1, b.Start.Add(24*time.Hour), b.End.Add(24*time.Hour)
		}, []string{KindInvitation, KindInvitationCEO, KindReminder}},
		{ChangeCancelled, func(b *leads.Booking) { b.Sequence, b.Status = 2, leads.BookingCancelled }, []string{KindInvitation, KindInvitationCEO}},
	}
	for _, st := range steps {
		st.edit(b)
		rows, err := c.BookingMessages(bookingMail(b, st.change))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(st.kinds) {
			t.Fatalf("%s: %d messages, want %v", st.change, len(rows), st.kinds)
		}
		for i, r := range rows {
			if r.Kind != st.kinds[i] || r.BookingID != b.ID || r.LeadID != b.LeadID {
				t.Errorf("%s row %d: kind %q booking %d lead %d", st.change, i, r.Kind, r.BookingID, r.LeadID)
			}
			m, err := c.Render(r.Payload)
			if err != nil {
				t.Fatal(err)
			}
			m.MessageID = fmt.Sprintf("<%s-%d@example.com>", st.change, i)
			name := st.change + "_" + r.Kind
			raw := writeMessage(t, m)
			golden(t, name+".tree", describe(t, raw, m.Calendar))
			golden(t, name+".txt", []byte(m.Subject+"\n\n"+m.Text))
			if m.Calendar != nil {
				golden(t, name+".ics", m.Calendar)
				if want := map[string]string{ChangeCancelled: "CANCEL"}[st.change]; want != "" && m.CalendarMethod != want {
					t.Errorf("%s: method %q", name, m.CalendarMethod)
				}
				icalcheck(t, name+".eml", raw)
			}
			if r.Kind == KindReminder && !r.NextAttemptAt.Equal(b.Start.Add(-24*time.Hour)) {
				t.Errorf("reminder due %v", r.NextAttemptAt)
			}
			// Times in the visitor's zone, the CEO's and UTC.
			if m.Calendar != nil && r.Kind == KindInvitation {
				for _, zone := range []string{"America/New_York", "Europe/Berlin", "(UTC)"} {
					if !strings.Contains(m.Text, zone) {
						t.Errorf("%s: text lacks %s", name, zone)
					}
				}
			}
		}
	}
}

func TestBookingMessagesNoLateReminder(t *testing.T) {
	c, _ := testComposer(t)
	b := testBooking()
	m := bookingMail(b, ChangeCreated)
	m.Now = b.Start.Add(-2 * time.Hour)
	rows, err := c.BookingMessages(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Kind == KindReminder {
			t.Fatal("a reminder was queued for a moment already past")
		}
	}
	if !strings.Contains(FormatSpan(b.Start, b.End, time.UTC), "Thursday, 5 March 2026, 14:00–14:30 (UTC)") {
		t.Errorf("FormatSpan: %s", FormatSpan(b.Start, b.End, time.UTC))
	}
}

// icalcheck runs ../shared/icalcheck/check on an email; without the tool
// the test fails in CI and is skipped elsewhere.
func icalcheck(t *testing.T, name string, raw []byte) {
	t.Helper()
	dir := os.Getenv("LEADBOOK_ICALCHECK_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "icalcheck")
	}
	check := filepath.Join(dir, "check")
	if _, err := os.Stat(check); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("icalcheck not found at %s", check)
		}
		t.Skipf("icalcheck not found at %s", check)
	}
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(check, f).CombinedOutput(); err != nil {
		t.Errorf("icalcheck rejects %s: %v\n%s", name, err, out)
	}
}

// TestHostBookingMessagesGolden composes a host's move and cancellation:
// the visitor reads our words and the message, gets a link to book again
// with their details kept; the CEO's copy links to the dashboard page of
// the call. The independent parsers must accept every message.
func TestHostBookingMessagesGolden(t *testing.T) {
	c, _ := testComposer(t)
	b := testBooking()
	const (
		staffURL  = "https://www.example.com/staff/bookings/7"
		rebookURL = "https://www.example.com/bookings/REBOOKTOKENREBOOKTOKEN/rebook"
		note      = "Dana is ill this week.\nSorry for the trouble."
	)
	for _, st := range []struct {
		change string
		edit   func(b *leads.Booking)
	}{
		{ChangeRescheduled, func(b *leads.Booking) {
			b.Sequence, b.Start, b.End = 1, b.Start.Add(48*time.Hour), b.End.Add(48*time.Hour)
		}},
		{ChangeCancelled, func(b *leads.Booking) { b.Sequence, b.Status = 2, leads.BookingCancelled }},
	} {
		st.edit(b)
		bm := bookingMail(b, st.change)
		bm.ByHost, bm.StaffURL = true, staffURL
		if st.change == ChangeCancelled {
			bm.HostMessage, bm.RebookURL = note, rebookURL
		}
		rows, err := c.BookingMessages(bm)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows[:2] {
			m, err := c.Render(r.Payload)
			if err != nil {
				t.Fatal(err)
			}
			m.MessageID = fmt.Sprintf("<host-%s-%d@example.com>", st.change, i)
			name := "host_" + st.change + "_" + r.Kind
			raw := writeMessage(t, m)
			golden(t, name+".txt", []byte(m.Subject+"\n\n"+m.Text))
			golden(t, name+".ics", m.Calendar)
			icalcheck(t, name+".eml", raw)
			wantMethod := map[string]string{ChangeCancelled: "CANCEL", ChangeRescheduled: "REQUEST"}[st.change]
			if m.CalendarMethod != wantMethod || !strings.Contains(string(m.Calendar), fmt.Sprintf("SEQUENCE:%d", b.Sequence)) {
				t.Errorf("%s: method %q, want %s with SEQUENCE:%d", name, m.CalendarMethod, wantMethod, b.Sequence)
			}
			switch r.Kind {
			case KindInvitation:
				if strings.Contains(m.Text, staffURL) || strings.Contains(m.HTML, staffURL) {
					t.Errorf("%s: the visitor's mail links to the dashboard", name)
				}
				if st.change == ChangeCancelled {
					if !strings.Contains(m.Text, rebookURL) || !strings.Contains(m.Text, "Sorry for the trouble.") {
						t.Errorf("%s: text lacks the rebook link or the message:\n%s", name, m.Text)
					}
					if strings.Contains(string(Readable(r.Payload)), "REBOOKTOKEN") {
						t.Errorf("%s: the readable payload keeps the rebook token", name)
					}
				}
			case KindInvitationCEO:
				if !strings.Contains(m.Text, staffURL) || !strings.Contains(m.HTML, staffURL) {
					t.Errorf("%s: the CEO's mail lacks the dashboard link", name)
				}
				if strings.Contains(m.Text, "TOKEN") {
					t.Errorf("%s: the CEO's mail carries a visitor's link", name)
				}
			}
		}
	}
}

// TestBookingMessagesReplies: invitations ask for a reply only where
// replies are read, and say to use the manage link where they are not;
// with CalDAV each change queues one calendar write.
func TestBookingMessagesReplies(t *testing.T) {
	for _, read := range []bool{false, true} {
		c, _ := testComposer(t)
		c.RepliesRead, c.CalDAV = read, read
		rows, err := c.BookingMessages(bookingMail(testBooking(), ChangeCreated))
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Render(rows[0].Payload)
		if err != nil {
			t.Fatal(err)
		}
		rsvp := strings.Contains(string(unfoldICS(m.Calendar)), "RSVP=TRUE")
		hint := strings.Contains(m.Text, "does not reach us") && strings.Contains(m.HTML, "does not reach us")
		if rsvp != read || hint == read {
			t.Errorf("replies read %v: RSVP=TRUE %v, manage-link hint %v", read, rsvp, hint)
		}
		caldav := 0
		for _, r := range rows {
			if r.Kind == KindCalDAV {
				caldav++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[read]; caldav != want {
			t.Errorf("caldav rows %d, want %d", caldav, want)
		}
	}
}

// TestBookingUpdatesReplyToInvitation: a moved or cancelled call's mail
// names the first invitation to the same person in In-Reply-To and
// References, so clients thread them; the reminder names nothing.
func TestBookingUpdatesReplyToInvitation(t *testing.T) {
	c, _ := testComposer(t)
	b := testBooking()
	first := map[string]string{}
	rows, err := c.BookingMessages(bookingMail(b, ChangeCreated))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		first[r.Kind] = r.MessageID
	}
	for _, change := range []string{ChangeRescheduled, ChangeCancelled} {
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
			raw, err := m.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			want := first[r.Kind]
			if r.Kind == KindReminder {
				want = ""
			}
			if got := msg.Header.Get("In-Reply-To"); got != want || msg.Header.Get("References") != want {
				t.Errorf("%s %s: In-Reply-To %q References %q, want %q", change, r.Kind, got, msg.Header.Get("References"), want)
			}
			if r.MessageID == first[r.Kind] {
				t.Errorf("%s %s: same Message-ID as the invitation", change, r.Kind)
			}
		}
	}
}
