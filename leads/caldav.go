package leads

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// KindCalDAV is the outbox kind of a write of a booking's event into the
// CEO's CalDAV calendar (mailer.CalDAV delivers it).
const KindCalDAV = "caldav"

// KindCalDAVDelete is the outbox kind of a deletion of an event from the
// CEO's CalDAV calendar: an erased person's. Its payload is a
// CalDAVDeletion, its Recipient CalDAVRecipient; it names no person.
const KindCalDAVDelete = "caldav_delete"

// CalDAVRecipient is the outbox Recipient of a KindCalDAVDelete row.
const CalDAVRecipient = "caldav"

// CalDAVDeletion is the payload of a KindCalDAVDelete row: the object to
// delete (Href, or where none was stored yet, the one the event's UID
// names) and the ETag it was last written with ("" when unknown).
type CalDAVDeletion struct {
	UID  string `json:"uid,omitempty"`
	Href string `json:"href,omitempty"`
	ETag string `json:"etag,omitempty"`
}

// calDAVDeleteRow is the outbox row that deletes del's object.
func calDAVDeleteRow(del CalDAVDeletion) OutboxMessage {
	payload, _ := json.Marshal(del)
	return OutboxMessage{Kind: KindCalDAVDelete, Recipient: CalDAVRecipient, MessageID: "caldav-delete-" + rand.Text(), Payload: payload}
}

// CalDAVEvent is where a booking's event lives in the CEO's CalDAV
// calendar, as the last successful write left it.
type CalDAVEvent struct {
	BookingID int64
	Href      string // the object's path on the server
	ETag      string // the server's ETag after the last write: the next write's If-Match
	Sequence  int    // the SEQUENCE written there
	UpdatedAt time.Time
}

// FindCalDAVEvent returns the stored place of a booking's event, or an
// ENOTFOUND error when none was written yet.
func (s *Store) FindCalDAVEvent(ctx context.Context, bookingID int64) (CalDAVEvent, error) {
	var (
		ev      CalDAVEvent
		updated string
	)
	err := s.r.QueryRowContext(ctx, `SELECT booking_id, href, etag, sequence, updated_at FROM caldav_events WHERE booking_id = ?`,
		bookingID).Scan(&ev.BookingID, &ev.Href, &ev.ETag, &ev.Sequence, &updated)
	if isNoRows(err) {
		return ev, Errorf(ENOTFOUND, "No calendar event stored for that booking.")
	}
	if err != nil {
		return ev, fmt.Errorf("leads: find caldav event: %w", err)
	}
	ev.UpdatedAt, err = parseTime(updated)
	return ev, err
}

// SaveCalDAVEvent records a write of a booking's event, unless a write
// of a higher SEQUENCE is recorded already (a slower delivery of an older
// change then keeps the newer record). It reports whether it saved.
//
// A booking that is gone (erased while its write was on the way, maybe
// after the erasure's own deletion was delivered) saves nothing: the
// object just written is queued for deletion instead (KindCalDAVDelete),
// so no write outlives an erasure.
func (s *Store) SaveCalDAVEvent(ctx context.Context, ev CalDAVEvent) (bool, error) {
	var saved bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		saved = false
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE id = ?`, ev.BookingID).Scan(&n); err != nil {
			return fmt.Errorf("leads: save caldav event: %w", err)
		}
		if n == 0 {
			row := calDAVDeleteRow(CalDAVDeletion{Href: ev.Href, ETag: ev.ETag})
			return insertOutbox(ctx, tx, s.now(), &row)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO caldav_events (booking_id, href, etag, sequence, updated_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (booking_id) DO UPDATE SET href = excluded.href, etag = excluded.etag,
				sequence = excluded.sequence, updated_at = excluded.updated_at
			WHERE caldav_events.sequence <= excluded.sequence`,
			ev.BookingID, ev.Href, ev.ETag, ev.Sequence, formatTime(s.now()))
		if err != nil {
			return fmt.Errorf("leads: save caldav event: %w", err)
		}
		saved = affected(res) > 0
		return nil
	})
	return saved, err
}

// ForgetCalDAVEvent removes the record of the event at href, once it
// is deleted from the calendar.
func (s *Store) ForgetCalDAVEvent(ctx context.Context, href string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM caldav_events WHERE href = ?`, href); err != nil {
			return fmt.Errorf("leads: forget caldav event: %w", err)
		}
		return nil
	})
}

// FindBookingByUID returns the booking with that iCalendar UID.
func (s *Store) FindBookingByUID(ctx context.Context, uid string) (*Booking, error) {
	return scanBooking(s.r.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+`WHERE b.uid = ?`, uid))
}

// Reply roles: who answered an invitation.
const (
	ReplyVisitor = "visitor"
	ReplyCEO     = "ceo"
)

// BookingReply is one iTIP reply (REPLY or COUNTER) matched to a booking.
type BookingReply struct {
	ID         int64
	BookingID  int64
	ReceivedAt time.Time
	Method     string // REPLY or COUNTER
	Attendee   string // the address that answered, equal to the message's From
	Role       string // ReplyVisitor or ReplyCEO
	PartStat   string // ACCEPTED, DECLINED, TENTATIVE, ... as sent
	Sequence   int    // the SEQUENCE the reply answers
	MessageID  string
}

// MessageProcessed reports whether the mailbox message with that
// Message-ID was acted on already.
func (s *Store) MessageProcessed(ctx context.Context, messageID string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM imap_messages WHERE message_id = ?`, messageID).Scan(&n); err != nil {
		return false, fmt.Errorf("leads: message processed: %w", err)
	}
	return n > 0, nil
}

// RecordReply records in one transaction that the mailbox message
// messageID was acted on (with outcome, a word for the logs), the reply it
// carried (when reply is not nil) and the mail it sends. A message
// recorded already changes nothing: it reports false.
func (s *Store) RecordReply(ctx context.Context, messageID, outcome string, reply *BookingReply, msgs ...OutboxMessage) (bool, error) {
	if messageID == "" {
		return false, fmt.Errorf("leads: record reply: a message id is required")
	}
	var first bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		first = false
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO imap_messages (message_id, processed_at, outcome) VALUES (?, ?, ?)
			ON CONFLICT (message_id) DO NOTHING`, messageID, formatTime(now), outcome)
		if err != nil {
			return fmt.Errorf("leads: record reply: %w", err)
		}
		if affected(res) == 0 {
			return nil
		}
		if reply != nil {
			reply.ReceivedAt, reply.MessageID = now, messageID
			if err := tx.QueryRowContext(ctx, `INSERT INTO booking_replies
				(booking_id, received_at, method, attendee, role, partstat, sequence, message_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				reply.BookingID, formatTime(now), reply.Method, reply.Attendee, reply.Role, reply.PartStat, reply.Sequence,
				messageID).Scan(&reply.ID); err != nil {
				return fmt.Errorf("leads: record reply: %w", err)
			}
		}
		for i := range msgs {
			if err := insertOutbox(ctx, tx, now, &msgs[i]); err != nil {
				return err
			}
		}
		first = true
		return nil
	})
	return first, err
}

// BookingReplies returns the replies recorded for a booking, oldest first.
func (s *Store) BookingReplies(ctx context.Context, bookingID int64) ([]BookingReply, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, booking_id, received_at, method, attendee, role, partstat, sequence, message_id
		FROM booking_replies WHERE booking_id = ? ORDER BY id`, bookingID)
	if err != nil {
		return nil, fmt.Errorf("leads: booking replies: %w", err)
	}
	defer rows.Close()
	var out []BookingReply
	for rows.Next() {
		var (
			r        BookingReply
			received string
		)
		if err := rows.Scan(&r.ID, &r.BookingID, &received, &r.Method, &r.Attendee, &r.Role, &r.PartStat, &r.Sequence, &r.MessageID); err != nil {
			return nil, fmt.Errorf("leads: booking replies: %w", err)
		}
		if r.ReceivedAt, err = parseTime(received); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: booking replies: %w", err)
	}
	return out, nil
}
