package leads

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// Outcomes of a call, marked by staff once it took place.
const (
	OutcomeCompleted = "completed"
	OutcomeNoShow    = "no_show"
)

// Audit actions on a booking, by staff or the command line. Their subject
// is BookingSubject(id).
const (
	AuditBookingCancel  = "booking_cancel"
	AuditBookingRebook  = "booking_rebook"
	AuditBookingMove    = "booking_move"
	AuditBookingOutcome = "booking_outcome"
)

// BookingSubject is the audit subject of a booking: "booking:42".
func BookingSubject(id int64) string { return "booking:" + strconv.FormatInt(id, 10) }

// HostCancel is the host's cancellation of a call.
type HostCancel struct {
	ID int64
	// RebookHash, when set, is the hash of the token of the "ask to
	// rebook" link the cancellation mail carries: a booking made with it
	// (NewBooking.RebookHash) keeps the visitor's details.
	RebookHash string
	By         Actor
}

// HostCancelBooking cancels a call on the host's side, in one transaction
// under the calendar's lock: it frees the slot, raises the sequence,
// withdraws queued reminders, queues compose's cancellations (none for a
// hold, whose visitor was never sent an invitation) and audits who did it.
// A cancelled call is ECONFLICT, as is one that has already ended.
func (s *Store) HostCancelBooking(ctx context.Context, hc HostCancel, compose BookingCompose) (*Booking, error) {
	var (
		b       *Booking
		version uint64
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		if b, err = findBooking(ctx, tx, hc.ID); err != nil {
			return err
		}
		now := s.now()
		switch {
		case !b.Live() || b.HoldExpired(now):
			return Errorf(ECONFLICT, "This call was cancelled already.")
		case !b.End.After(now):
			return Errorf(ECONFLICT, "This call has already taken place.")
		}
		held := b.Held()
		b.Status, b.Sequence, b.CancelledAt, b.UpdatedAt = BookingCancelled, b.Sequence+1, now, now
		if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'cancelled', sequence = ?, cancelled_at = ?, updated_at = ?,
			rebook_hash = ? WHERE id = ?`, b.Sequence, formatTime(now), formatTime(now), nullString(hc.RebookHash), b.ID); err != nil {
			return fmt.Errorf("leads: cancel booking: %w", err)
		}
		if err := withdrawReminders(ctx, tx, b.ID); err != nil {
			return err
		}
		action := AuditBookingCancel
		if hc.RebookHash != "" {
			action = AuditBookingRebook
		}
		if err := appendAudit(ctx, tx, now, hc.By, action, BookingSubject(b.ID), ""); err != nil {
			return err
		}
		if held {
			return nil
		}
		l, err := findLead(ctx, tx, b.LeadID)
		if err != nil {
			return err
		}
		if err := bookingEvent(ctx, tx, now, EventBookingCancelled, b, l); err != nil {
			return err
		}
		return queueBookingMail(ctx, tx, now, b, l, compose)
	})
	if err != nil {
		return nil, err
	}
	s.raiseBookingsVersion(version)
	return b, nil
}

// HostMove is the host's move of a call to a slot staff picked.
type HostMove struct {
	ID                   int64
	Start, End           time.Time
	WindowFrom, WindowTo time.Time
	// TokenHash is the hash of the visitor's new manage link, which the
	// updated invitation carries: only a hash of the old one is stored,
	// so the host cannot send it again, and the old link stops working.
	TokenHash string
	By        Actor
}

// HostMoveBooking moves a call to the host's slot, in one transaction
// under the calendar's lock, with the same checks as a visitor's move
// (check, then the database's constraints): the sequence is raised, the
// manage token replaced, queued reminders withdrawn, compose's updated
// invitations queued and the move audited. A cancelled call, a hold and a
// call that has ended are ECONFLICT; a taken slot ErrSlotTaken.
func (s *Store) HostMoveBooking(ctx context.Context, hm HostMove, check BookingCheck, compose BookingCompose) (*Booking, error) {
	if !hm.End.After(hm.Start) || hm.End.Sub(hm.Start) > MaxBookingLength || hm.TokenHash == "" {
		return nil, fmt.Errorf("leads: move booking: end must be after start, at most %v later, and a token hash is required", MaxBookingLength)
	}
	var (
		b       *Booking
		version uint64
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		if b, err = findBooking(ctx, tx, hm.ID); err != nil {
			return err
		}
		now := s.now()
		switch {
		case !b.Live() || b.HoldExpired(now):
			return Errorf(ECONFLICT, "This call was cancelled, so it cannot be moved.")
		case b.Held():
			return Errorf(ECONFLICT, "The visitor has not confirmed this call yet, so it cannot be moved.")
		case !b.End.After(now):
			return Errorf(ECONFLICT, "This call has already taken place.")
		}
		from := b.Start
		r := Reschedule{Start: hm.Start, End: hm.End, WindowFrom: hm.WindowFrom, WindowTo: hm.WindowTo}
		if err := moveBooking(ctx, tx, now, b, r, hm.TokenHash, check, compose); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, hm.By, AuditBookingMove, BookingSubject(b.ID),
			"from "+formatTime(from)+" to "+formatTime(b.Start))
	})
	if err != nil {
		return nil, err
	}
	s.raiseBookingsVersion(version)
	return b, nil
}

// SetBookingOutcome marks what became of a call once it ended:
// OutcomeCompleted or OutcomeNoShow (marking again replaces it). The call
// keeps its time. It sends no mail; it is audited. A cancelled call, a
// hold and a call still to come are ECONFLICT.
func (s *Store) SetBookingOutcome(ctx context.Context, id int64, outcome string, by Actor) (*Booking, error) {
	if outcome != OutcomeCompleted && outcome != OutcomeNoShow {
		return nil, Errorf(EINVALID, "Outcome must be %q or %q.", OutcomeCompleted, OutcomeNoShow)
	}
	var b *Booking
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if b, err = findBooking(ctx, tx, id); err != nil {
			return err
		}
		now := s.now()
		switch {
		case !b.Live() || b.Held():
			return Errorf(ECONFLICT, "Only a call that took place can be marked.")
		case b.End.After(now):
			return Errorf(ECONFLICT, "This call has not ended yet; mark it afterwards.")
		}
		b.Outcome, b.UpdatedAt = outcome, now
		if _, err := tx.ExecContext(ctx, `UPDATE bookings SET outcome = ?, updated_at = ? WHERE id = ?`,
			outcome, formatTime(now), b.ID); err != nil {
			return fmt.Errorf("leads: mark booking: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditBookingOutcome, BookingSubject(b.ID), outcome)
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// FindBookingByRebook returns the cancelled booking whose "ask to rebook"
// token hashes to hash, and its lead: what a new booking through the link
// keeps. A link used already is ENOTFOUND.
func (s *Store) FindBookingByRebook(ctx context.Context, hash string) (*Booking, *Lead, error) {
	b, err := scanBooking(s.r.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+`WHERE b.rebook_hash = ?`, hash))
	if err != nil {
		return nil, nil, err
	}
	l, err := findLead(ctx, s.r, b.LeadID)
	if err != nil {
		return nil, nil, err
	}
	return b, l, nil
}

// useRebook spends the rebook link whose token hashes to hash, inside the
// transaction of the booking made with it: a link books once.
func useRebook(ctx context.Context, tx *sql.Tx, hash string) error {
	res, err := tx.ExecContext(ctx, `UPDATE bookings SET rebook_hash = NULL WHERE rebook_hash = ?`, hash)
	if err != nil {
		return fmt.Errorf("leads: use rebook link: %w", err)
	}
	if affected(res) == 0 {
		return Errorf(ECONFLICT, "This link to book again was used already.")
	}
	return nil
}

// BookingHistory returns the audit entries about a booking, oldest first.
func (s *Store) BookingHistory(ctx context.Context, id int64) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit
		WHERE subject = ? ORDER BY id`, BookingSubject(id))
	if err != nil {
		return nil, fmt.Errorf("leads: booking history: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: booking history: %w", err)
	}
	return out, nil
}

func findBooking(ctx context.Context, q queryer, id int64) (*Booking, error) {
	return scanBooking(q.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+`WHERE b.id = ?`, id))
}
