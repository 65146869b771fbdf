package leads_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// TestBookingRoomAndAnswers: a booking keeps its room and the answers as
// asked, and the lead's phone comes with it; a move keeps both; the subject
// access export and the CSV carry the answers; erasing someone else cuts
// their address out of them, and erasing the visitor removes them.
func TestBookingRoomAndAnswers(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		nb := newBooking(start, "grace@example.com", "u1")
		nb.Lead.Phone = "+49 30 1234567"
		nb.Room = "k7qz3m9x2w"
		answers := []leads.Answer{
			{ID: "goal", Label: "What should the call be about?", Value: "  Moving off COBOL,\r\nask ada@example.com too  "},
			{ID: "size", Label: "Team size", Value: "10-50"},
		}
		nb.Answers = answers
		b, _, err := s.CreateBooking(ctx, nb, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []leads.Answer{
			{ID: "goal", Label: "What should the call be about?", Value: "Moving off COBOL,\nask ada@example.com too"},
			{ID: "size", Label: "Team size", Value: "10-50"},
		}
		got, err := s.FindBooking(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Room != "k7qz3m9x2w" || !reflect.DeepEqual(got.Answers, want) || got.Phone != "+49 30 1234567" {
			t.Fatalf("stored room %q answers %+v phone %q", got.Room, got.Answers, got.Phone)
		}
		moved, err := s.RescheduleBooking(ctx, leads.Reschedule{TokenHash: "hash-u1", Start: start.Add(time.Hour), End: start.Add(90 * time.Minute),
			WindowFrom: start, WindowTo: start.Add(3 * time.Hour)}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ = s.FindBooking(ctx, moved.ID); got.Room != "k7qz3m9x2w" || !reflect.DeepEqual(got.Answers, want) {
			t.Fatalf("after a move: room %q answers %+v", got.Room, got.Answers)
		}
		// A booking without questions stores none.
		plain, _, err := s.CreateBooking(ctx, newBooking(start.Add(3*time.Hour), "plain@example.com", "u2"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindBooking(ctx, plain.ID); got.Answers != nil || got.Room != "" {
			t.Fatalf("plain booking: %+v %q", got.Answers, got.Room)
		}

		p, err := s.FindPerson(ctx, "grace@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Bookings) != 1 || !reflect.DeepEqual(p.Bookings[0].Answers, want) {
			t.Fatalf("subject access: %+v", p.Bookings)
		}

		var buf bytes.Buffer
		if _, err := s.ExportCSV(ctx, &buf, leads.ExportFilter{}, false); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if h := recs[0]; h[len(h)-1] != "answers" {
			t.Fatalf("header %v: answers is not last", h)
		}
		cells := map[string]string{}
		for _, r := range recs[1:] {
			cells[r[3]] = r[len(r)-1]
		}
		if !strings.Contains(cells["grace@example.com"], `"label":"Team size","value":"10-50"`) || cells["plain@example.com"] != "" {
			t.Fatalf("answers cells %q", cells)
		}

		// Ada is mentioned in Grace's answers: erasing Ada cuts her out.
		if _, err := s.EraseEmail(ctx, "ada@example.com", leads.Actor{Kind: "staff", ID: 1}, nil); err != nil {
			t.Fatal(err)
		}
		got, _ = s.FindBooking(ctx, b.ID)
		if strings.Contains(got.Answers[0].Value, "ada@example.com") || got.Answers[1].Value != "10-50" {
			t.Fatalf("after erasing the address mentioned: %+v", got.Answers)
		}
		// Erasing Grace removes her booking, answers and all.
		if _, err := s.EraseEmail(ctx, "grace@example.com", leads.Actor{Kind: "staff", ID: 1}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindBooking(ctx, b.ID); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("erased booking still found: %v", err)
		}
	})
}

// TestBookingWeekLimit: one address may make PerEmailWeek bookings in 7
// days, counted whatever became of them, in any letter case; after a week
// it may book again, and other addresses are not counted.
func TestBookingWeekLimit(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		start := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
		limits := leads.BookingLimits{PerEmailWeek: 2}
		book := func(i int, email string) error {
			nb := newBooking(start.Add(time.Duration(i)*time.Hour), email, "w"+string(rune('a'+i)))
			nb.Limits = limits
			_, _, err := s.CreateBooking(ctx, nb, nil, nil)
			return err
		}
		if err := book(0, "grace@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelBooking(ctx, "hash-wa", nil); err != nil {
			t.Fatal(err)
		}
		if err := book(1, "Grace@Example.com"); err != nil {
			t.Fatal(err)
		}
		if err := book(2, "grace@example.com"); !errors.Is(err, leads.ErrWeekLimit) {
			t.Fatalf("third booking in a week: %v, want ErrWeekLimit", err)
		}
		if err := book(3, "other@example.com"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		c.Add(7*24*time.Hour + time.Minute)
		if err := book(4, "grace@example.com"); err != nil {
			t.Fatalf("a week later: %v", err)
		}
	})
}
