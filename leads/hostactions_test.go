package leads_test

import (
	"context"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

var staffActor = leads.Actor{Kind: "staff", ID: 7}

func TestHostCancelBookingQueuesMailAndAudits(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "grace@example.com", "uid-1"), nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		v0 := s.BookingsVersion()
		got, err := s.HostCancelBooking(ctx, leads.HostCancel{ID: b.ID, RebookHash: "rebook-1", By: staffActor}, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != leads.BookingCancelled || got.Sequence != 1 {
			t.Errorf("cancelled booking %s seq %d", got.Status, got.Sequence)
		}
		if s.BookingsVersion() <= v0 {
			t.Error("the calendar's version did not rise")
		}
		mail, err := s.ListMail(ctx, leads.MailFilter{BookingID: b.ID})
		if err != nil {
			t.Fatal(err)
		}
		var queued, cancelled int
		for _, m := range mail {
			switch {
			case m.Status == leads.OutboxQueued && m.Kind == "invitation":
				queued++
			case m.Status == leads.OutboxCancelled && m.Kind == leads.KindReminder:
				cancelled++
			}
		}
		// The first invitation and the cancellation; the reminder withdrawn
		// (the cancellation's own reminder is queued too by this compose).
		if queued != 2 || cancelled != 1 {
			t.Errorf("mail for the booking: %d invitations queued, %d reminders withdrawn; want 2 and 1", queued, cancelled)
		}
		h, err := s.BookingHistory(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].Action != leads.AuditBookingRebook || h[0].Actor != "staff:7" {
			t.Errorf("history %+v, want one rebook entry by staff:7", h)
		}
		if _, err := s.HostCancelBooking(ctx, leads.HostCancel{ID: b.ID, By: staffActor}, bookingMail); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Errorf("cancelling again: %v, want ECONFLICT", err)
		}
		if _, err := s.HostCancelBooking(ctx, leads.HostCancel{ID: 999, By: staffActor}, bookingMail); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Errorf("cancelling a missing booking: %v, want ENOTFOUND", err)
		}

		// The rebook link finds the booking and its lead, and books once.
		old, l, err := s.FindBookingByRebook(ctx, "rebook-1")
		if err != nil || old.ID != b.ID || l.Email != "grace@example.com" {
			t.Fatalf("FindBookingByRebook = %v, %v, %v", old, l, err)
		}
		nb := newBooking(start.Add(time.Hour), l.Email, "uid-2")
		nb.RebookHash = "rebook-1"
		if _, _, err := s.CreateBooking(ctx, nb, nil, bookingMail); err != nil {
			t.Fatal(err)
		}
		nb = newBooking(start.Add(2*time.Hour), l.Email, "uid-3")
		nb.RebookHash = "rebook-1"
		if _, _, err := s.CreateBooking(ctx, nb, nil, bookingMail); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Errorf("second booking through one rebook link: %v, want ECONFLICT", err)
		}
		if _, _, err := s.FindBookingByRebook(ctx, "rebook-1"); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Errorf("a used rebook link: %v, want ENOTFOUND", err)
		}
		live, err := s.LiveBookings(ctx, start, start.Add(3*time.Hour))
		if err != nil || len(live) != 1 {
			t.Errorf("live bookings %d, %v; want the rebooked one only", len(live), err)
		}
	})
}

func TestHostMoveBooking(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "grace@example.com", "uid-1"), nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.CreateBooking(ctx, newBooking(start.Add(2*time.Hour), "ada@example.com", "uid-2"), nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		move := func(to time.Time, check leads.BookingCheck) (*leads.Booking, error) {
			return s.HostMoveBooking(ctx, leads.HostMove{ID: b.ID, Start: to, End: to.Add(30 * time.Minute),
				WindowFrom: to.Add(-time.Hour), WindowTo: to.Add(time.Hour), TokenHash: "hash-new", By: staffActor}, check, bookingMail)
		}
		// Onto the other call: the check refuses it, and without the check
		// the database does.
		for _, check := range []leads.BookingCheck{noOverlap(other.Start, other.End), nil} {
			if _, err := move(other.Start, check); err != leads.ErrSlotTaken {
				t.Errorf("move onto a taken slot: %v, want ErrSlotTaken", err)
			}
		}
		to := start.Add(24 * time.Hour)
		moved, err := move(to, noOverlap(to, to.Add(30*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		if !moved.Start.Equal(to) || moved.Sequence != 1 || moved.UID != b.UID {
			t.Errorf("moved %v seq %d uid %s", moved.Start, moved.Sequence, moved.UID)
		}
		if _, err := s.FindBookingByToken(ctx, "hash-uid-1"); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Errorf("old manage token after a host move: %v, want ENOTFOUND", err)
		}
		if got, err := s.FindBookingByToken(ctx, "hash-new"); err != nil || got.ID != b.ID {
			t.Errorf("new manage token: %v, %v", got, err)
		}
		h, err := s.BookingHistory(ctx, b.ID)
		if err != nil || len(h) != 1 || h[0].Action != leads.AuditBookingMove {
			t.Errorf("history %+v, %v", h, err)
		}
	})
}

func TestSetBookingOutcome(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "grace@example.com", "uid-1"), nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetBookingOutcome(ctx, b.ID, leads.OutcomeCompleted, staffActor); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Errorf("marking a call to come: %v, want ECONFLICT", err)
		}
		c.Add(9 * 24 * time.Hour)
		if _, err := s.SetBookingOutcome(ctx, b.ID, "won", staffActor); leads.ErrorCode(err) != leads.EINVALID {
			t.Errorf("an unknown outcome: %v, want EINVALID", err)
		}
		for _, o := range []string{leads.OutcomeNoShow, leads.OutcomeCompleted} {
			got, err := s.SetBookingOutcome(ctx, b.ID, o, staffActor)
			if err != nil {
				t.Fatal(err)
			}
			if got.State() != o || got.Status != leads.BookingConfirmed {
				t.Errorf("marked %s: state %s status %s", o, got.State(), got.Status)
			}
		}
		found, err := s.FindBooking(ctx, b.ID)
		if err != nil || found.Outcome != leads.OutcomeCompleted {
			t.Fatalf("stored outcome %v, %v", found, err)
		}
		// A marked call keeps its time: the database refuses another there.
		c.Add(-9 * 24 * time.Hour)
		if _, _, err := s.CreateBooking(ctx, newBooking(start, "ada@example.com", "uid-2"), nil, bookingMail); err != leads.ErrSlotTaken {
			t.Errorf("booking over a completed call: %v, want ErrSlotTaken", err)
		}
		h, err := s.BookingHistory(ctx, b.ID)
		if err != nil || len(h) != 2 || h[1].Detail != leads.OutcomeCompleted {
			t.Errorf("history %+v, %v", h, err)
		}
	})
}
