package leads_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

func newBooking(start time.Time, email, uid string) *leads.NewBooking {
	return &leads.NewBooking{
		Lead:  leads.Lead{Name: "Grace Hopper", Email: email, Company: "Navy", ConsentVersion: "v1"},
		Start: start, End: start.Add(30 * time.Minute), Timezone: "Europe/Berlin",
		UID: uid, TokenHash: "hash-" + uid, WindowFrom: start.Add(-24 * time.Hour), WindowTo: start.Add(24 * time.Hour),
	}
}

func bookingMail(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
	return []leads.OutboxMessage{
		{Kind: "invitation", Recipient: l.Email, MessageID: fmt.Sprintf("<inv-%s-%d@x>", b.UID, b.Sequence), Payload: []byte("{}")},
		{Kind: leads.KindReminder, Recipient: l.Email, MessageID: fmt.Sprintf("<rem-%s-%d@x>", b.UID, b.Sequence),
			Payload: []byte("{}"), NextAttemptAt: b.Start.Add(-24 * time.Hour)},
	}, nil
}

// noOverlap is the check a booking makes: the slot must not overlap a
// live booking.
func noOverlap(start, end time.Time) leads.BookingCheck {
	return func(live []leads.Booking) error {
		for _, b := range live {
			if b.Start.Before(end) && start.Before(b.End) {
				return leads.ErrSlotTaken
			}
		}
		return nil
	}
}

func TestBookingConcurrentSameSlot(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		const n = 50
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nb := newBooking(start, fmt.Sprintf("v%d@example.com", i), fmt.Sprintf("uid-%d", i))
				// Half of them skip the rule check: the unique index alone
				// must still refuse the second booking.
				check := noOverlap(nb.Start, nb.End)
				if i%2 == 1 {
					check = nil
				}
				_, _, errs[i] = s.CreateBooking(ctx, nb, check, bookingMail)
			}()
		}
		wg.Wait()
		if ok := countOK(t, errs); ok != 1 {
			t.Fatalf("%d bookings of one slot succeeded, want exactly 1", ok)
		}
		live, err := s.LiveBookings(ctx, start, start.Add(time.Hour))
		if err != nil || len(live) != 1 {
			t.Fatalf("live bookings %d err %v", len(live), err)
		}
		st, _ := s.MailStats(ctx)
		if st.Queued != 2 {
			t.Fatalf("%d mails queued, want the winner's 2", st.Queued)
		}
	})
}

func TestBookingIdempotentAndUpsertsLead(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		l := validLead()
		l.Email = "grace@example.com"
		if _, err := s.CreateLead(ctx, l, nil); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		nb := newBooking(start, "grace@example.com", "u1")
		nb.IdemKey = "idem"
		b1, created, err := s.CreateBooking(ctx, nb, nil, bookingMail)
		if err != nil || !created {
			t.Fatalf("first: %v %v", created, err)
		}
		if b1.LeadID != l.ID {
			t.Fatalf("booking made a new lead %d, want the existing %d", b1.LeadID, l.ID)
		}
		again := newBooking(start, "grace@example.com", "u2")
		again.IdemKey = "idem"
		b2, created, err := s.CreateBooking(ctx, again, nil, bookingMail)
		if err != nil || created || b2.ID != b1.ID {
			t.Fatalf("retry: created %v id %d err %v", created, b2.ID, err)
		}
		if n, _ := s.CountLeads(ctx); n != 1 {
			t.Fatalf("%d leads", n)
		}
		got, err := s.FindLead(ctx, l.ID)
		if err != nil || got.Name != "Grace Hopper" {
			t.Fatalf("lead not refreshed: %+v %v", got, err)
		}
		// A new visitor gets a lead with source booking.
		b3, _, err := s.CreateBooking(ctx, newBooking(start.Add(time.Hour), "new@example.com", "u3"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		nl, _ := s.FindLead(ctx, b3.LeadID)
		if nl.Source != leads.SourceBooking {
			t.Fatalf("source %q", nl.Source)
		}
	})
}

func TestBookingCancelAndReschedule(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "a@example.com", "ua"), nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		v0 := s.BookingsVersion()
		other, _, err := s.CreateBooking(ctx, newBooking(start.Add(time.Hour), "b@example.com", "ub"), nil, bookingMail)
		if err != nil || s.BookingsVersion() == v0 {
			t.Fatal("version did not change", err)
		}
		// Moving onto a taken slot is refused by the index.
		_, err = s.RescheduleBooking(ctx, leads.Reschedule{TokenHash: b.TokenHash, Start: other.Start, End: other.End,
			WindowFrom: start.Add(-time.Hour), WindowTo: start.Add(3 * time.Hour)}, nil, bookingMail)
		if leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("reschedule onto a taken slot: %v", err)
		}
		moved, err := s.RescheduleBooking(ctx, leads.Reschedule{TokenHash: b.TokenHash, Start: start.Add(2 * time.Hour), End: start.Add(150 * time.Minute),
			WindowFrom: start.Add(-time.Hour), WindowTo: start.Add(3 * time.Hour)}, nil, bookingMail)
		if err != nil || moved.UID != b.UID || moved.Sequence != 1 {
			t.Fatalf("reschedule: %+v %v", moved, err)
		}
		// The old slot is free again.
		if _, _, err := s.CreateBooking(ctx, newBooking(start, "c@example.com", "uc"), noOverlap(start, start.Add(30*time.Minute)), nil); err != nil {
			t.Fatalf("old slot not released: %v", err)
		}
		if n := countMail(t, s, leads.OutboxCancelled); n != 1 {
			t.Fatalf("%d reminders withdrawn by the move, want 1", n)
		}
		c, err := s.CancelBooking(ctx, b.TokenHash, bookingMail)
		if err != nil || c.Status != leads.BookingCancelled || c.Sequence != 2 {
			t.Fatalf("cancel: %+v %v", c, err)
		}
		if n := countMail(t, s, leads.OutboxCancelled); n != 2 {
			t.Fatalf("%d reminders withdrawn, want 2", n)
		}
		again, err := s.CancelBooking(ctx, b.TokenHash, bookingMail)
		if err != nil || again.Sequence != 2 {
			t.Fatalf("second cancel changed something: %+v %v", again, err)
		}
		if _, err := s.RescheduleBooking(ctx, leads.Reschedule{TokenHash: b.TokenHash, Start: start, End: start.Add(time.Hour)}, nil, nil); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("reschedule of a cancelled booking: %v", err)
		}
		if _, err := s.FindBookingByToken(ctx, "nope"); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("unknown token: %v", err)
		}
	})
}

func countMail(t *testing.T, s *leads.Store, status string) int {
	t.Helper()
	msgs, err := s.ListMail(context.Background(), leads.MailFilter{Status: status, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

// TestEraseHeldBookingSendsNothing erases a person whose only call is a
// hold awaiting confirmation: nobody was invited, so nothing is sent, and
// the erasure is done at once.
func TestEraseHeldBookingSendsNothing(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		nb := newBooking(c.Now().Add(48*time.Hour), "held@example.com", "uid-held")
		nb.HoldUntil = c.Now().Add(30 * time.Minute)
		if _, _, err := s.CreateBooking(ctx, nb, nil, nil); err != nil {
			t.Fatal(err)
		}
		composed := 0
		er, err := s.EraseEmail(ctx, "held@example.com", leads.Actor{Kind: "staff", ID: 1}, func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
			composed++
			return bookingMail(b, l)
		})
		if err != nil {
			t.Fatal(err)
		}
		if composed != 0 || er.Counts.Cancellations != 0 || er.Counts.Cancelled != 1 || er.Status != "done" {
			t.Fatalf("erasure of a hold: %d composed, counts %+v, status %s", composed, er.Counts, er.Status)
		}
	})
}
