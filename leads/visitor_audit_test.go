package leads_test

import (
	"context"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// TestVisitorChangesAudited: a visitor's move and cancel, by manage
// token, each add an entry by "visitor" to the booking's history (the
// move with its times), chained like any other; a cancel repeated adds
// none.
func TestVisitorChangesAudited(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "vera@example.com", "uid-v1"), nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		moved := start.Add(time.Hour)
		if _, err := s.RescheduleBooking(ctx, leads.Reschedule{TokenHash: "hash-uid-v1", Start: moved, End: moved.Add(30 * time.Minute),
			WindowFrom: start.Add(-24 * time.Hour), WindowTo: start.Add(24 * time.Hour)}, nil, bookingMail); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.CancelBooking(ctx, "hash-uid-v1", bookingMail); err != nil {
				t.Fatal(err)
			}
		}
		h, err := s.BookingHistory(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Actor != "visitor" || h[0].Action != leads.AuditBookingMove ||
			h[0].Detail != "from 2026-03-10T14:00:00.000Z to 2026-03-10T15:00:00.000Z" ||
			h[1].Actor != "visitor" || h[1].Action != leads.AuditBookingCancel {
			t.Fatalf("history %+v", h)
		}
		if _, err := s.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
