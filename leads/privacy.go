package leads

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErasureCounts is what an erasure removed; it is the only trace an
// erasure leaves.
type ErasureCounts struct {
	Leads         int `json:"leads"`
	Bookings      int `json:"bookings"`
	Cancelled     int `json:"cancelled_bookings"`
	Mail          int `json:"mail"`
	Spam          int `json:"spam"`
	Mentions      int `json:"mentions_scrubbed"` // other people's rows whose text mentioned the address
	Cancellations int `json:"cancellations_queued"`
	// CalendarDeletes counts the deletions of their events from the CEO's
	// CalDAV calendar queued (KindCalDAVDelete).
	CalendarDeletes int `json:"calendar_deletions_queued"`
	Replies         int `json:"replies"` // their answers to invitations (booking_replies)
}

// Erasure is the record of one erasure: when, by whom, how much; never
// whose.
type Erasure struct {
	ID     int64
	At     time.Time
	By     string
	Counts ErasureCounts
	Status string // "pending" until its cancellations and calendar deletions are delivered, then "done"
	DoneAt time.Time
}

// erasureMailWait bounds how long an erasure waits for its cancellations:
// after it, they are scrubbed delivered or not.
const erasureMailWait = 72 * time.Hour

// EraseEmail erases everything held on the person with this address: their
// leads, bookings, mail and held spam, and mentions of the address in
// other people's rows. The address must be one valid address
// (SubjectEmail); rows are the person's when they match it exactly, in any
// letter case: their leads by email, their bookings by lead, their mail by
// lead, booking or recipient, their held spam by the address it gave.
// Nothing is matched by a search through payloads, so another person's
// rows are never deleted; where their text mentions the address, only that
// mention is replaced. It runs in this order, in one transaction:
//
//  1. an erasures row is made (counts filled in at the end);
//  2. each of their future live bookings is cancelled (sequence raised,
//     reminders withdrawn) and compose's METHOD:CANCEL messages, to the
//     visitor and the CEO, are queued, detached from the lead and booking
//     and tied to the erasure instead, so they survive the deletes;
//  3. every event of theirs in the CEO's CalDAV calendar (of any booking,
//     past or future, cancelled or not, written already or with a write
//     queued) gets a KindCalDAVDelete row, tied to the erasure, naming
//     only the object (href or UID, ETag);
//  4. every other outbox row of theirs is deleted, the queued calendar
//     writes with it (one in flight meanwhile finds the booking gone when
//     it records its write, and queues its own deletion: SaveCalDAVEvent);
//  5. their held spam is deleted;
//  6. their replies to invitations are deleted, with the record of the
//     mailbox messages that carried them (imap_messages: a Message-ID
//     names the sender's mail host);
//  7. their leads are deleted, and their bookings with them;
//  8. the address is cut out of other people's leads, bookings, mail and
//     held spam (redactMentions).
//
// The cancellations are the only rows still holding the address. Once none
// of them and no calendar deletion is queued any more (sent, dead, or
// after erasureMailWait), FinishErasures deletes the cancellations and
// marks the erasure done; with nothing to send, the erasure is done at
// once. The audit log records the erasure's id and counts, not the
// address.
func (s *Store) EraseEmail(ctx context.Context, email string, by Actor, compose BookingCompose) (*Erasure, error) {
	email, err := SubjectEmail(email)
	if err != nil {
		return nil, err
	}
	var (
		er      *Erasure
		version uint64
	)
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The person's future calls are cancelled: a booking write like
		// any other, under the calendar's lock.
		var err error
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		now := s.now()
		er = &Erasure{At: now, By: by.String(), Status: "pending"}
		err = tx.QueryRowContext(ctx, `INSERT INTO erasures (at, by_staff, counts) VALUES (?, ?, '{}') RETURNING id`, formatTime(now), er.By).Scan(&er.ID)
		if err != nil {
			return fmt.Errorf("leads: erase: %w", err)
		}
		c := &er.Counts
		ids, err := int64s(ctx, tx, `SELECT id FROM leads WHERE `+s.d.emailKey("email")+` = ?`, asciiLower(email))
		if err != nil {
			return err
		}
		c.Leads = len(ids)
		in := idList(ids)
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE lead_id IN (`+in+`)`).Scan(&c.Bookings); err != nil {
			return fmt.Errorf("leads: erase: count bookings: %w", err)
		}
		future, err := queryBookings(ctx, tx, `WHERE b.lead_id IN (`+in+`) AND b.status = 'confirmed' AND b.end_at > ?`, formatTime(now))
		if err != nil {
			return err
		}
		for i := range future {
			b := &future[i]
			// A hold was never confirmed: nobody was invited, so its
			// cancellation sends nothing.
			held := b.Held()
			b.Status, b.Sequence, b.CancelledAt, b.UpdatedAt = BookingCancelled, b.Sequence+1, now, now
			if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'cancelled', sequence = ?, cancelled_at = ?, updated_at = ?
				WHERE id = ?`, b.Sequence, formatTime(now), formatTime(now), b.ID); err != nil {
				return fmt.Errorf("leads: erase: cancel booking: %w", err)
			}
			c.Cancelled++
			if compose == nil || held {
				continue
			}
			l, err := findLead(ctx, tx, b.LeadID)
			if err != nil {
				return err
			}
			msgs, err := compose(b, l)
			if err != nil {
				return fmt.Errorf("leads: erase: compose cancellation: %w", err)
			}
			for j := range msgs {
				m := &msgs[j]
				if m.Kind == KindReminder || m.Kind == KindCalDAV {
					continue // the calendar's copy is deleted below
				}
				m.LeadID, m.BookingID = 0, 0
				if err := insertOutbox(ctx, tx, now, m); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET erasure_id = ? WHERE id = ?`, er.ID, m.ID); err != nil {
					return fmt.Errorf("leads: erase: %w", err)
				}
				c.Cancellations++
			}
		}
		dels, err := calDAVDeletions(ctx, tx, in)
		if err != nil {
			return err
		}
		for _, del := range dels {
			row := calDAVDeleteRow(del)
			if err := insertOutbox(ctx, tx, now, &row); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET erasure_id = ? WHERE id = ?`, er.ID, row.ID); err != nil {
				return fmt.Errorf("leads: erase: %w", err)
			}
			c.CalendarDeletes++
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE (erasure_id IS NULL OR erasure_id != ?) AND (
			lead_id IN (`+in+`) OR booking_id IN (SELECT id FROM bookings WHERE lead_id IN (`+in+`))
			OR `+s.d.emailKey("recipient")+` = ?)`, er.ID, asciiLower(email))
		if err != nil {
			return fmt.Errorf("leads: erase: mail: %w", err)
		}
		c.Mail = affected(res)
		res, err = tx.ExecContext(ctx, `DELETE FROM spam WHERE `+s.d.emailKey("email")+` = ?`, asciiLower(email))
		if err != nil {
			return fmt.Errorf("leads: erase: spam: %w", err)
		}
		c.Spam = affected(res)
		theirs := `SELECT id FROM bookings WHERE lead_id IN (` + in + `)`
		if _, err := tx.ExecContext(ctx, `DELETE FROM imap_messages WHERE message_id IN (
			SELECT message_id FROM booking_replies WHERE booking_id IN (`+theirs+`))`); err != nil {
			return fmt.Errorf("leads: erase: mailbox messages: %w", err)
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM booking_replies WHERE booking_id IN (`+theirs+`)`)
		if err != nil {
			return fmt.Errorf("leads: erase: replies: %w", err)
		}
		c.Replies = affected(res)
		if _, err := tx.ExecContext(ctx, `DELETE FROM leads WHERE id IN (`+in+`)`); err != nil {
			return fmt.Errorf("leads: erase: leads: %w", err)
		}
		if c.Mentions, err = redactMentions(ctx, tx, s.d, email, er.ID); err != nil {
			return err
		}
		counts, _ := json.Marshal(c)
		done := c.Cancellations == 0 && c.CalendarDeletes == 0
		if done {
			er.Status, er.DoneAt = "done", now
		}
		if _, err := tx.ExecContext(ctx, `UPDATE erasures SET counts = ?, status = ?, done_at = ? WHERE id = ?`,
			string(counts), er.Status, nullTime(er.DoneAt), er.ID); err != nil {
			return fmt.Errorf("leads: erase: %w", err)
		}
		subject := "erasure:" + strconv.FormatInt(er.ID, 10)
		if err := appendAudit(ctx, tx, now, by, AuditErasure, subject, string(counts)); err != nil {
			return err
		}
		if done {
			return appendAudit(ctx, tx, now, ActorSystem, AuditErasureDone, subject, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.raiseBookingsVersion(version)
	if er.Status == "done" {
		// Merge the search index so the erased words leave it too.
		if err := s.scrubErased(ctx); err != nil {
			return er, err
		}
	}
	return er, nil
}

// FinishErasures completes pending erasures whose cancellations and
// calendar deletions are no longer queued (or have waited
// erasureMailWait): it deletes the cancellations, the last rows holding
// the address, and marks the erasure done. The calendar deletions, which
// name no one, stay in the outbox like any delivery (a dead one can be
// retried). It returns how many it finished.
func (s *Store) FinishErasures(ctx context.Context) (int, error) {
	var n int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		now := s.now()
		ids, err := int64s(ctx, tx, `SELECT id FROM erasures e WHERE status = 'pending' AND (at < ? OR NOT EXISTS (
			SELECT 1 FROM outbox o WHERE o.erasure_id = e.id AND o.status = 'queued'))`, formatTime(now.Add(-erasureMailWait)))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE erasure_id = ? AND kind != ?`, id, KindCalDAVDelete); err != nil {
				return fmt.Errorf("leads: finish erasure: %w", err)
			}
			// Only while still pending: another instance finishing the same
			// erasure at the same moment makes this one a no-op.
			res, err := tx.ExecContext(ctx, `UPDATE erasures SET status = 'done', done_at = ? WHERE id = ? AND status = 'pending'`, formatTime(now), id)
			if err != nil {
				return fmt.Errorf("leads: finish erasure: %w", err)
			}
			if affected(res) == 0 {
				continue
			}
			if err := appendAudit(ctx, tx, now, ActorSystem, AuditErasureDone, "erasure:"+strconv.FormatInt(id, 10), ""); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		if err := s.scrubErased(ctx); err != nil {
			return n, err
		}
	}
	return n, nil
}

// calDAVDeletions returns the deletions from the CEO's calendar of the
// events of the bookings of the leads in (an idList): every booking with
// an event stored or a calendar write in the outbox (queued, in flight or
// done), one each.
func calDAVDeletions(ctx context.Context, tx *sql.Tx, in string) ([]CalDAVDeletion, error) {
	rows, err := tx.QueryContext(ctx, `SELECT b.uid, COALESCE(e.href, ''), COALESCE(e.etag, '') FROM bookings b
		LEFT JOIN caldav_events e ON e.booking_id = b.id
		WHERE b.lead_id IN (`+in+`) AND (e.id IS NOT NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.booking_id = b.id AND o.kind = ?))
		ORDER BY b.id`, KindCalDAV)
	if err != nil {
		return nil, fmt.Errorf("leads: erase: calendar events: %w", err)
	}
	defer rows.Close()
	var out []CalDAVDeletion
	for rows.Next() {
		var d CalDAVDeletion
		if err := rows.Scan(&d.UID, &d.Href, &d.ETag); err != nil {
			return nil, fmt.Errorf("leads: erase: calendar events: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: erase: calendar events: %w", err)
	}
	return out, nil
}

// scrubErased makes the erased rows' bytes go from the database's files,
// as far as the engine allows, with the dialect's statements (on SQLite:
// merge the search index, checkpoint and truncate the WAL; on PostgreSQL:
// vacuum the tables, so dead tuples give their space back to be
// overwritten). They run outside any transaction, on the writer.
func (s *Store) scrubErased(ctx context.Context) error {
	for _, q := range s.d.scrub {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("leads: scrub after erasure: %w", err)
		}
	}
	return nil
}

// ListErasures returns the erasure records, newest first.
func (s *Store) ListErasures(ctx context.Context, limit int) ([]Erasure, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, by_staff, counts, status, done_at FROM erasures ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("leads: list erasures: %w", err)
	}
	defer rows.Close()
	var out []Erasure
	for rows.Next() {
		var (
			e          Erasure
			at, counts string
			doneAt     sql.NullString
		)
		if err := rows.Scan(&e.ID, &at, &e.By, &counts, &e.Status, &doneAt); err != nil {
			return nil, fmt.Errorf("leads: list erasures: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		if doneAt.Valid {
			if e.DoneAt, err = parseTime(doneAt.String); err != nil {
				return nil, err
			}
		}
		_ = json.Unmarshal([]byte(counts), &e.Counts)
		out = append(out, e)
	}
	return out, rows.Err()
}

// retentionBatch bounds one purge transaction, so the writer is never held
// for long while old leads go.
const retentionBatch = 500

// PurgeExpired deletes leads whose last activity (creation or update) is
// older than days, unless they have a call still to come; their bookings
// and mail go with them. Held spam older than days goes too. It returns the
// number of leads deleted and records a non-zero purge in the audit log.
func (s *Store) PurgeExpired(ctx context.Context, days int) (int, error) {
	if days <= 0 {
		return 0, nil
	}
	cutoff := formatTime(s.now().AddDate(0, 0, -days))
	total := 0
	for {
		var n int
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM leads WHERE id IN (
				SELECT l.id FROM leads l WHERE l.created_at < ?1 AND l.updated_at < ?1
				AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.lead_id = l.id AND b.status = 'confirmed' AND b.end_at > ?2)
				LIMIT ?3)`, cutoff, formatTime(s.now()), retentionBatch)
			if err != nil {
				return fmt.Errorf("leads: purge: %w", err)
			}
			n = affected(res)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < retentionBatch {
			break
		}
	}
	var spam int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM spam WHERE created_at < ?`, cutoff)
		if err != nil {
			return fmt.Errorf("leads: purge spam: %w", err)
		}
		spam = affected(res)
		if total == 0 && spam == 0 {
			return nil
		}
		return appendAudit(ctx, tx, s.now(), ActorSystem, AuditRetention, "",
			fmt.Sprintf(`{"leads":%d,"spam":%d,"days":%d}`, total, spam, days))
	})
	if err != nil {
		return total, err
	}
	if total > 0 {
		// Only leads without a call to come go, so no open slot changes.
		if err := s.scrubErased(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

// PersonData is everything held on one person, for a subject access
// request.
type PersonData struct {
	Email       string         `json:"email"`
	GeneratedAt time.Time      `json:"generated_at"`
	Leads       []PersonLead   `json:"leads"`
	Bookings    []PersonCall   `json:"bookings"`
	Mail        []PersonMail   `json:"mail"`
	Spam        []PersonSubmit `json:"held_submissions"`
	Timeline    []PersonEvent  `json:"timeline"`
}

// PersonEvent is an entry of their leads' timelines: the notes staff
// wrote about them and the changes of status and next step. Which staff
// member did it is left out (it is the staff's data, not theirs), and so
// are the owners' addresses of an owner change.
type PersonEvent struct {
	ID     int64     `json:"id"`
	LeadID int64     `json:"lead_id"`
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`
	Old    string    `json:"old,omitempty"`
	New    string    `json:"new,omitempty"`
	Body   string    `json:"body,omitempty"`
}

// PersonLead is a lead as a subject access export shows it.
type PersonLead struct {
	ID             int64     `json:"id"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Name           string    `json:"name"`
	Email          string    `json:"email"`
	Company        string    `json:"company"`
	Phone          string    `json:"phone"`
	Message        string    `json:"message"`
	Source         string    `json:"source"`
	ConsentVersion string    `json:"consent_version"`
	ConsentAt      time.Time `json:"consent_at"`
	// Attribution is held with the lead; its referrer can say something
	// about the person.
	Attribution Attribution `json:"attribution"`
}

// PersonCall is a booking as a subject access export shows it.
type PersonCall struct {
	ID        int64     `json:"id"`
	LeadID    int64     `json:"lead_id"`
	CreatedAt time.Time `json:"created_at"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Timezone  string    `json:"timezone"`
	Message   string    `json:"message"`
	Status    string    `json:"status"`
	// Attribution is held with the booking.
	Attribution Attribution `json:"attribution"`
	Answers     []Answer    `json:"answers"`
	// Replies are the answers to the call's invitation read from the
	// organizer's mailbox, theirs and the CEO's.
	Replies []PersonReply `json:"replies"`
	// InCEOCalendar says that an event for the call sits in the CEO's
	// CalDAV calendar (written there, with their name, address and
	// answers); an erasure deletes it.
	InCEOCalendar bool `json:"in_ceo_calendar"`
}

// PersonReply is a reply to a call's invitation as a subject access
// export shows it: who answered (Role: "visitor" is them, "ceo" the host,
// whose address is left out), what and when.
type PersonReply struct {
	ReceivedAt time.Time `json:"received_at"`
	Role       string    `json:"role"`
	Method     string    `json:"method"`
	PartStat   string    `json:"partstat"`
	Attendee   string    `json:"attendee,omitempty"`
}

// PersonMail is an email we sent or will send them, with its full text:
// Message is the outbox payload (see FindPerson).
type PersonMail struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Kind      string    `json:"kind"`
	Recipient string    `json:"recipient"`
	Status    string    `json:"status"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	Message   string    `json:"message"`
}

// PersonSubmit is a held submission they made (by the address it gave).
type PersonSubmit struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Form      string    `json:"form"`
	Payload   string    `json:"payload"`
}

// FindPerson collects everything held on the person with this address,
// matched as EraseEmail matches it: one valid address (SubjectEmail), their
// leads by that exact email in any letter case, their bookings by lead,
// their mail by lead, booking or recipient, their held spam by the address
// it gave. Other people's rows, even ones that mention the address, are
// not theirs to see. Mail comes with its payload as queued, manage links
// and all: whoever shows it must pass it through mailer.Readable first.
func (s *Store) FindPerson(ctx context.Context, email string) (*PersonData, error) {
	email, err := SubjectEmail(email)
	if err != nil {
		return nil, err
	}
	p := &PersonData{Email: email, GeneratedAt: s.now(), Leads: []PersonLead{}, Bookings: []PersonCall{}, Mail: []PersonMail{}, Spam: []PersonSubmit{},
		Timeline: []PersonEvent{}}
	rows, err := s.r.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE `+s.d.emailKey("email")+` = ? ORDER BY id`, asciiLower(email))
	if err != nil {
		return nil, fmt.Errorf("leads: find person: %w", err)
	}
	var ids []int64
	for rows.Next() {
		l, err := scanLead(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, l.ID)
		p.Leads = append(p.Leads, PersonLead{ID: l.ID, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt, Name: l.Name, Email: l.Email,
			Company: l.Company, Phone: l.Phone, Message: l.Message, Source: l.Source, ConsentVersion: l.ConsentVersion, ConsentAt: l.ConsentAt,
			Attribution: l.Attribution})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: find person: %w", err)
	}
	in := idList(ids)
	bs, err := queryBookings(ctx, s.r, `WHERE b.lead_id IN (`+in+`) ORDER BY b.id`)
	if err != nil {
		return nil, err
	}
	events, err := queryEvents(ctx, s.r, `WHERE e.lead_id IN (`+in+`) ORDER BY e.id`)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		pe := PersonEvent{ID: e.ID, LeadID: e.LeadID, At: e.At, Kind: e.Kind, Old: e.Old, New: e.New, Body: e.Body}
		if e.Kind == EventOwner {
			pe.Old, pe.New = "", ""
		}
		p.Timeline = append(p.Timeline, pe)
	}
	replies, inCalendar, err := s.personReplies(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		rs := replies[b.ID]
		if rs == nil {
			rs = []PersonReply{}
		}
		p.Bookings = append(p.Bookings, PersonCall{ID: b.ID, LeadID: b.LeadID, CreatedAt: b.CreatedAt, Start: b.Start, End: b.End,
			Timezone: b.Timezone, Message: b.Message, Status: b.Status, Attribution: b.Attribution, Answers: b.Answers,
			Replies: rs, InCEOCalendar: inCalendar[b.ID]})
	}
	mrows, err := s.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE lead_id IN (`+in+`)
		OR booking_id IN (SELECT id FROM bookings WHERE lead_id IN (`+in+`)) OR `+s.d.emailKey("recipient")+` = ? ORDER BY id`, asciiLower(email))
	if err != nil {
		return nil, fmt.Errorf("leads: find person: mail: %w", err)
	}
	for mrows.Next() {
		m, err := scanOutbox(mrows)
		if err != nil {
			mrows.Close()
			return nil, err
		}
		p.Mail = append(p.Mail, PersonMail{ID: m.ID, CreatedAt: m.CreatedAt, Kind: m.Kind, Recipient: m.Recipient, Status: m.Status,
			SentAt: m.SentAt, Message: string(m.Payload)})
	}
	mrows.Close()
	if err := mrows.Err(); err != nil {
		return nil, fmt.Errorf("leads: find person: mail: %w", err)
	}
	srows, err := s.r.QueryContext(ctx, `SELECT id, created_at, form, payload FROM spam WHERE `+s.d.emailKey("email")+` = ? ORDER BY id`, asciiLower(email))
	if err != nil {
		return nil, fmt.Errorf("leads: find person: spam: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var (
			sp      PersonSubmit
			created string
		)
		if err := srows.Scan(&sp.ID, &created, &sp.Form, &sp.Payload); err != nil {
			return nil, fmt.Errorf("leads: find person: spam: %w", err)
		}
		if sp.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		p.Spam = append(p.Spam, sp)
	}
	if err := srows.Err(); err != nil {
		return nil, fmt.Errorf("leads: find person: spam: %w", err)
	}
	return p, nil
}

// personReplies returns, by booking, the replies to the invitations of the
// bookings of the leads in (an idList), oldest first, and which of those
// bookings have an event in the CEO's calendar.
func (s *Store) personReplies(ctx context.Context, in string) (map[int64][]PersonReply, map[int64]bool, error) {
	theirs := `SELECT id FROM bookings WHERE lead_id IN (` + in + `)`
	rows, err := s.r.QueryContext(ctx, `SELECT booking_id, received_at, role, method, partstat, attendee FROM booking_replies
		WHERE booking_id IN (`+theirs+`) ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("leads: find person: replies: %w", err)
	}
	defer rows.Close()
	replies := map[int64][]PersonReply{}
	for rows.Next() {
		var (
			id       int64
			r        PersonReply
			received string
		)
		if err := rows.Scan(&id, &received, &r.Role, &r.Method, &r.PartStat, &r.Attendee); err != nil {
			return nil, nil, fmt.Errorf("leads: find person: replies: %w", err)
		}
		if r.ReceivedAt, err = parseTime(received); err != nil {
			return nil, nil, err
		}
		if r.Role != ReplyVisitor {
			r.Attendee = ""
		}
		replies[id] = append(replies[id], r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("leads: find person: replies: %w", err)
	}
	ids, err := int64s(ctx, s.r, `SELECT booking_id FROM caldav_events WHERE booking_id IN (`+theirs+`)`)
	if err != nil {
		return nil, nil, err
	}
	inCalendar := map[int64]bool{}
	for _, id := range ids {
		inCalendar[id] = true
	}
	return replies, inCalendar, nil
}

// ReleaseSpam stores a held submission as the lead l ("not spam"), queues
// compose's mail for it and marks the submission released, in one
// transaction.
func (s *Store) ReleaseSpam(ctx context.Context, id int64, l *Lead, compose Compose, by Actor) error {
	l.Normalize()
	if l.ConsentAt.IsZero() && l.ConsentVersion != "" {
		l.ConsentAt = s.now()
	}
	if err := l.Validate(); err != nil {
		return err
	}
	in := *l
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*l = in
		if err := checkHeldSpam(ctx, tx, id); err != nil {
			return err
		}
		now := s.now()
		l.CreatedAt, l.UpdatedAt = now, now
		if err := insertLead(ctx, tx, l); err == errIdemTaken {
			return Errorf(ECONFLICT, "This submission was already received.")
		} else if err != nil {
			return err
		}
		if err := leadEvent(ctx, tx, now, EventLeadCreated, l); err != nil {
			return err
		}
		if compose != nil {
			msgs, err := compose(l)
			if err != nil {
				return fmt.Errorf("leads: release spam: compose: %w", err)
			}
			for i := range msgs {
				msgs[i].LeadID = l.ID
				if err := insertOutbox(ctx, tx, now, &msgs[i]); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE spam SET status = 'released' WHERE id = ?`, id); err != nil {
			return fmt.Errorf("leads: release spam: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditNotSpam, "spam:"+strconv.FormatInt(id, 10), "lead:"+strconv.FormatInt(l.ID, 10))
	})
}

// RetryDeadMail puts a dead message back in the queue and records who did.
func (s *Store) RetryDeadMail(ctx context.Context, id int64, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'queued', next_attempt_at = ?, lease_until = NULL
			WHERE id = ? AND status = 'dead'`, formatTime(now), id)
		if err != nil {
			return fmt.Errorf("leads: retry mail: %w", err)
		}
		if affected(res) == 0 {
			return Errorf(ENOTFOUND, "No dead message with that id.")
		}
		return appendAudit(ctx, tx, now, by, AuditMailRetry, "mail:"+strconv.FormatInt(id, 10), "")
	})
}

func int64s(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("leads: query ids: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("leads: query ids: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// idList renders ids for an IN (...) list; they are integers from the
// database, so no quoting is needed. An empty list matches nothing.
func idList(ids []int64) string {
	if len(ids) == 0 {
		return "NULL"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// marks returns n placeholders separated by commas.
func marks(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func affected(res sql.Result) int {
	n, _ := res.RowsAffected()
	return int(n)
}
