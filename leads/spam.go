package leads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Spam is a submission held back as probably automated. Its payload is the
// submission as the handler received it (JSON), so staff can review it and
// release it as a lead.
type Spam struct {
	ID        int64
	CreatedAt time.Time
	Form      string // "contact" or "booking"
	Reason    string // "honeypot", "too fast", "bad token"
	// Email is the address the submission gave, normalised as a lead's
	// (NormalizeEmail) when it is held; erasure and subject access find a
	// person's held submissions by it, never by a search of payloads.
	Email   string
	Payload []byte
	Status  string
}

// HoldSpam stores a suspected bot submission in the quarantine.
func (s *Store) HoldSpam(ctx context.Context, sp *Spam) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		sp.CreatedAt = s.now()
		sp.Status = "held"
		sp.Email = NormalizeEmail(sp.Email)
		err := tx.QueryRowContext(ctx, `INSERT INTO spam (created_at, form, reason, email, payload) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			formatTime(sp.CreatedAt), sp.Form, sp.Reason, sp.Email, string(sp.Payload)).Scan(&sp.ID)
		if err != nil {
			return fmt.Errorf("leads: hold spam: %w", err)
		}
		return nil
	})
}

// ListSpam returns held submissions, newest first.
func (s *Store) ListSpam(ctx context.Context, limit int) ([]Spam, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, created_at, form, reason, email, payload, status FROM spam
		WHERE status = 'held' ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("leads: list spam: %w", err)
	}
	defer rows.Close()
	var out []Spam
	for rows.Next() {
		var (
			sp               Spam
			created, payload string
		)
		if err := rows.Scan(&sp.ID, &created, &sp.Form, &sp.Reason, &sp.Email, &payload, &sp.Status); err != nil {
			return nil, fmt.Errorf("leads: list spam: %w", err)
		}
		if sp.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		sp.Payload = []byte(payload)
		out = append(out, sp)
	}
	return out, rows.Err()
}

// SpamBookingRelease is what releasing a held booking request made: the
// lead always, and the booking when its time was still free.
type SpamBookingRelease struct {
	Lead    Lead
	Booking *Booking // nil: the time was taken or is no longer offered
}

// ReleaseSpamBooking stores a held booking request as what it asked for
// ("not spam"), in one transaction: when check finds the slot still free
// (and the unique index agrees), the booking is made as CreateBooking
// would make it (without nb.Limits: a person decided) and compose's mail
// is queued; otherwise only the lead is stored and leadCompose's mail
// queued, so that staff can offer another time. The submission is marked
// released and the release audited either way.
func (s *Store) ReleaseSpamBooking(ctx context.Context, id int64, nb *NewBooking, check BookingCheck,
	compose BookingCompose, leadCompose Compose, by Actor) (*SpamBookingRelease, error) {
	if err := nb.prepare(); err != nil {
		return nil, err
	}
	var (
		out     *SpamBookingRelease
		version uint64
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = &SpamBookingRelease{}
		if err := checkHeldSpam(ctx, tx, id); err != nil {
			return err
		}
		// A booking write like any other: the address's lock, so that a
		// booking by the same visitor on another instance does not make a
		// second lead for them meanwhile, then the calendar's lock before
		// the rules are checked (the order every booking takes them in).
		if err := s.lockAddresses(ctx, tx, nb.Lead.Email); err != nil {
			return err
		}
		var err error
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		now := s.now()
		if _, err := releaseExpiredHolds(ctx, tx, now); err != nil {
			return err
		}
		b, booked, err := tryBooking(ctx, tx, nb, now, check, compose)
		if err != nil {
			return err
		}
		var detail string
		if booked {
			l, err := findLead(ctx, tx, b.LeadID)
			if err != nil {
				return err
			}
			out.Lead, out.Booking, detail = *l, b, "booking:"+strconv.FormatInt(b.ID, 10)
		} else {
			l := nb.Lead
			if err := upsertLead(ctx, tx, &l, now); err != nil {
				return err
			}
			if err := queueLeadMail(ctx, tx, now, &l, leadCompose); err != nil {
				return err
			}
			out.Lead, detail = l, "lead:"+strconv.FormatInt(l.ID, 10)+" time gone"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spam SET status = 'released' WHERE id = ?`, id); err != nil {
			return fmt.Errorf("leads: release spam: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditNotSpam, "spam:"+strconv.FormatInt(id, 10), detail)
	})
	if err != nil {
		return nil, err
	}
	if out.Booking != nil {
		s.raiseBookingsVersion(version)
	}
	return out, nil
}

// tryBooking makes nb's booking if check passes and its start is free;
// booked is false when the slot is taken. The insert runs in a savepoint,
// so a failed one leaves the transaction usable.
func tryBooking(ctx context.Context, tx *sql.Tx, nb *NewBooking, now time.Time, check BookingCheck, compose BookingCompose) (b *Booking, booked bool, err error) {
	if err := checkBooking(ctx, tx, nb, now, check, 0); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, false, nil
		}
		return nil, false, err
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT try_booking"); err != nil {
		return nil, false, fmt.Errorf("leads: savepoint: %w", err)
	}
	b, err = insertBooking(ctx, tx, nb, now, compose)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO try_booking"); rerr != nil {
			return nil, false, fmt.Errorf("leads: rollback to savepoint: %w", rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE try_booking"); rerr != nil {
		return nil, false, fmt.Errorf("leads: release savepoint: %w", rerr)
	}
	switch {
	case errors.Is(err, ErrSlotTaken):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	if err := addConversion(ctx, tx, now, b.Attribution, "bookings"); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// checkHeldSpam checks that submission id is still held.
func checkHeldSpam(ctx context.Context, tx *sql.Tx, id int64) error {
	var status string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM spam WHERE id = ?`, id).Scan(&status); err != nil {
		if isNoRows(err) {
			return Errorf(ENOTFOUND, "No such held submission.")
		}
		return fmt.Errorf("leads: release spam: %w", err)
	}
	if status != "held" {
		return Errorf(ECONFLICT, "That submission was already handled.")
	}
	return nil
}

// queueLeadMail queues compose's mail for lead l.
func queueLeadMail(ctx context.Context, tx *sql.Tx, now time.Time, l *Lead, compose Compose) error {
	if compose == nil {
		return nil
	}
	msgs, err := compose(l)
	if err != nil {
		return fmt.Errorf("leads: lead mail: %w", err)
	}
	for i := range msgs {
		msgs[i].LeadID = l.ID
		if err := insertOutbox(ctx, tx, now, &msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Secret returns the named secret, creating it with gen on first use. It
// keeps keys (the form-token signing key, say) stable across restarts.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("leads: secret %s: %w", name, err)
	}
	v, err = gen()
	if err != nil {
		return nil, fmt.Errorf("leads: secret %s: %w", name, err)
	}
	// A concurrent first start may have stored one: keep whichever is there.
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, name, v); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("leads: secret %s: %w", name, err)
	}
	return v, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
