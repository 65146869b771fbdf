package leads

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"leadbook/leads/leadstest"
)

// TestNextMailDue holds NextMailDue's walk of the head of the queue to
// the least due time over the whole queue, read by the query it stands
// for, as leases are taken and run past the next attempts: none, a few
// (the walk settles), and more than dueWalk (the walk gives up and asks
// the whole queue). The queue holds a thousand reminders due in days.
func TestNextMailDue(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, err := Open(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		now := time.Now().UTC().Truncate(time.Second)
		var msgs []*OutboxMessage
		for i := range 1000 {
			msgs = append(msgs, &OutboxMessage{Kind: "booking_reminder", Recipient: "v@example.com",
				MessageID: fmt.Sprintf("<reminder-%d@example.com>", i), Payload: []byte("{}"),
				NextAttemptAt: now.Add(72*time.Hour + time.Duration(i)*time.Minute)})
		}
		for i := range 2 * dueWalk {
			msgs = append(msgs, &OutboxMessage{Kind: "lead_confirmation", Recipient: "v@example.com",
				MessageID: fmt.Sprintf("<due-%d@example.com>", i), Payload: []byte("{}"),
				NextAttemptAt: now.Add(time.Duration(i) * time.Second)})
		}
		if err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return insertOutboxRows(ctx, tx, now, msgs) }); err != nil {
			t.Fatal(err)
		}
		whole := func() time.Time {
			var next string
			err := s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
				FROM outbox WHERE status = 'queued'`).Scan(&next)
			if err != nil {
				t.Fatal(err)
			}
			at, err := parseTime(next)
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
		// lease gives the n earliest rows a lease that runs past the due
		// time of every row not leased, each a second after the last.
		lease := func(n int) {
			t.Helper()
			for i, until := range []time.Time{now.Add(time.Hour), now.Add(2 * time.Hour)} {
				_, err := s.w.ExecContext(ctx, `UPDATE outbox SET lease_until = ? WHERE id % 2 = ? AND id IN
					(SELECT id FROM outbox WHERE status = 'queued' ORDER BY next_attempt_at, id LIMIT ?)`, formatTime(until), i, n)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, leased := range []int{0, 3, dueWalk - 1, dueWalk, dueWalk + 10, 2 * dueWalk} {
			lease(leased)
			got, ok, err := s.NextMailDue(ctx)
			if err != nil || !ok {
				t.Fatalf("%d leased: NextMailDue: %v %v", leased, ok, err)
			}
			if want := whole(); !got.Equal(want) {
				t.Errorf("%d leased: next mail due %v, want %v", leased, got, want)
			}
		}
		if _, err := s.w.ExecContext(ctx, `UPDATE outbox SET status = 'sent'`); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.NextMailDue(ctx); ok || err != nil {
			t.Errorf("an empty queue: next mail due %v, %v", ok, err)
		}
	})
}

// BenchmarkNextMailDue asks for the next due time with 10,000 reminders
// queued for days ahead and eight messages leased now, as when the worker
// goes idle on a busy site; "whole" is the query over the whole queue
// that NextMailDue used to run, for comparison.
func BenchmarkNextMailDue(b *testing.B) {
	for _, engine := range leadstest.Engines {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, leadstest.DB(b, engine), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now().UTC()
			var msgs []*OutboxMessage
			for i := range 10000 {
				msgs = append(msgs, &OutboxMessage{Kind: "booking_reminder", Recipient: "v@example.com",
					MessageID: fmt.Sprintf("<reminder-%d@example.com>", i), Payload: []byte("{}"),
					NextAttemptAt: now.Add(72*time.Hour + time.Duration(i)*time.Minute)})
			}
			for i := 0; i < len(msgs); i += 1000 {
				if err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return insertOutboxRows(ctx, tx, now, msgs[i:i+1000]) }); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.ClaimMail(ctx, time.Minute, 8); err != nil {
				b.Fatal(err)
			}
			if engine == "postgres" {
				if _, err := s.w.ExecContext(ctx, `VACUUM ANALYZE outbox`); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("walk", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := s.NextMailDue(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("whole", func(b *testing.B) {
				for b.Loop() {
					var next sql.NullString
					if err := s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
						FROM outbox WHERE status = 'queued'`).Scan(&next); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
