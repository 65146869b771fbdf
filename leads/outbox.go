package leads

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outbox statuses.
const (
	OutboxQueued    = "queued"
	OutboxSent      = "sent"
	OutboxDead      = "dead"
	OutboxCancelled = "cancelled"
)

// OutboxMessage is one email waiting to be sent, or the record of one that
// was. The payload is opaque to this package: the mailer writes and reads
// it. MessageID is fixed when the row is written, so a retried delivery is
// recognisable as the same message.
type OutboxMessage struct {
	ID        int64
	CreatedAt time.Time
	Kind      string
	// Recipient is the To address, normalised as a lead's email is
	// (NormalizeEmail) when the row is written: erasure and subject access
	// find a person's mail by it.
	Recipient     string
	MessageID     string
	Payload       []byte
	LeadID        int64
	BookingID     int64
	Status        string
	Attempts      int
	NextAttemptAt time.Time // zero when queued: send now
	LeaseUntil    time.Time
	LastError     string
	SentAt        time.Time
}

func insertOutbox(ctx context.Context, tx *sql.Tx, now time.Time, m *OutboxMessage) error {
	if err := m.prepare(now); err != nil {
		return err
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO outbox
		(created_at, kind, recipient, message_id, payload, lead_id, booking_id, status, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?) RETURNING id`,
		formatTime(now), m.Kind, m.Recipient, m.MessageID, string(m.Payload),
		nullID(m.LeadID), nullID(m.BookingID), formatTime(m.NextAttemptAt)).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("leads: queue mail: %w", err)
	}
	return nil
}

// prepare normalizes m and fills in what queueing it at now sets.
func (m *OutboxMessage) prepare(now time.Time) error {
	m.Recipient = NormalizeEmail(m.Recipient)
	if m.Kind == "" || m.Recipient == "" || m.MessageID == "" {
		return fmt.Errorf("leads: queue mail: kind, recipient and message id are required")
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = now
	}
	m.CreatedAt, m.Status = now, OutboxQueued
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// QueueMail stores messages in the outbox on their own, outside any other
// change (a "not spam" release or a staff action, say).
func (s *Store) QueueMail(ctx context.Context, msgs ...OutboxMessage) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		for i := range msgs {
			if err := insertOutbox(ctx, tx, now, &msgs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

const outboxColumns = `id, created_at, kind, recipient, message_id, payload, lead_id, booking_id, status,
	attempts, next_attempt_at, lease_until, last_error, sent_at`

func scanOutbox(row rowScanner) (OutboxMessage, error) {
	var (
		m                  OutboxMessage
		created, next      string
		payload            string
		leadID, bookingID  sql.NullInt64
		leaseUntil, sentAt sql.NullString
	)
	if err := row.Scan(&m.ID, &created, &m.Kind, &m.Recipient, &m.MessageID, &payload, &leadID, &bookingID,
		&m.Status, &m.Attempts, &next, &leaseUntil, &m.LastError, &sentAt); err != nil {
		return m, fmt.Errorf("leads: scan outbox: %w", err)
	}
	m.Payload = []byte(payload)
	m.LeadID, m.BookingID = leadID.Int64, bookingID.Int64
	var err error
	if m.CreatedAt, err = parseTime(created); err != nil {
		return m, err
	}
	if m.NextAttemptAt, err = parseTime(next); err != nil {
		return m, err
	}
	if leaseUntil.Valid {
		if m.LeaseUntil, err = parseTime(leaseUntil.String); err != nil {
			return m, err
		}
	}
	if sentAt.Valid {
		if m.SentAt, err = parseTime(sentAt.String); err != nil {
			return m, err
		}
	}
	return m, nil
}

// ClaimMail leases up to limit queued messages that are due and not leased
// by anyone else, and returns them. A worker that dies leaves its lease to
// run out, after which another claims the message again.
//
// Each claim raises the message's Attempts, and Attempts is the claim's
// fence: MarkMailSent, MarkMailSentAll, MarkMailRetry and MarkMailDead
// change the row only while it is still the claim they name, so a worker
// whose lease ran out (and whose message another worker took over) cannot
// overwrite the newer claim's outcome. On PostgreSQL the rows that a
// concurrent claim is taking are skipped rather than claimed twice. They
// come in the order they fell due (then by id), on both engines: RETURNING
// promises no order.
func (s *Store) ClaimMail(ctx context.Context, lease time.Duration, limit int) ([]OutboxMessage, error) {
	var msgs []OutboxMessage
	err := s.bookkeepPlanned(ctx, s.d.claimPlan, func(ctx context.Context, q querier) error {
		msgs = msgs[:0]
		now := s.now()
		rows, err := q.QueryContext(ctx, claimQuery(s.d), formatTime(now.Add(lease)), formatTime(now), formatTime(now), limit)
		if err != nil {
			return fmt.Errorf("leads: claim mail: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanOutbox(rows)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("leads: claim mail: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(msgs, func(a, b OutboxMessage) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return msgs, nil
}

// claimQuery is ClaimMail's statement; its parameters are the lease's
// end, now twice and the limit. It walks the queue index (outbox_queue)
// from its head.
func claimQuery(d *dialect) string {
	return `UPDATE outbox
		SET lease_until = ?, attempts = attempts + 1
		WHERE id IN (
			SELECT id FROM outbox
			WHERE status = 'queued' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at, id
			LIMIT ?` + d.skipLocked + `)
		RETURNING ` + outboxColumns
}

// MarkMailSent records a delivered message, if attempt is still its claim.
func (s *Store) MarkMailSent(ctx context.Context, id int64, attempt int) error {
	stale, err := s.MarkMailSentAll(ctx, []MailClaim{{ID: id, Attempt: attempt}})
	if err != nil {
		return err
	}
	if len(stale) > 0 {
		return Errorf(ENOTFOUND, "No such message in that state (or its claim was taken over).")
	}
	return nil
}

// MailClaim names one claim of an outbox message: the row and the
// Attempts that ClaimMail returned it with, which fences the claim.
type MailClaim struct {
	ID      int64
	Attempt int
}

// markChunk bounds the claims that one statement of MarkMailSentAll names
// (three parameters each).
const markChunk = 256

// MarkMailSentAll records delivered messages, each only while its claim is
// still the row's, as MarkMailSent does, in one statement for up to 256
// claims. It returns the ids of the claims that changed nothing: the row's
// claim was taken over, it is no longer queued, or there is no such row.
// On an error, the statements before the failed one have taken effect.
func (s *Store) MarkMailSentAll(ctx context.Context, claims []MailClaim) (stale []int64, err error) {
	for len(claims) > 0 {
		n := min(len(claims), markChunk)
		st, err := s.markSent(ctx, claims[:n])
		stale = append(stale, st...)
		if err != nil {
			return stale, err
		}
		claims = claims[n:]
	}
	return stale, nil
}

func (s *Store) markSent(ctx context.Context, claims []MailClaim) ([]int64, error) {
	// The list is padded to a power of two with its last claim again (a
	// repeated term changes nothing), so that a handful of query texts, and
	// of prepared statements on each connection, serve every length.
	size := 1
	for size < len(claims) {
		size *= 2
	}
	args := make([]any, 0, 1+3*size)
	for i := range size {
		args = append(args, claims[min(i, len(claims)-1)].ID)
	}
	args = append(args, formatTime(s.now()))
	for i := range size {
		c := claims[min(i, len(claims)-1)]
		args = append(args, c.ID, c.Attempt)
	}
	query := markQuery(s.d, size)
	marked := make(map[int64]bool, len(claims))
	err := s.bookkeep(ctx, func(ctx context.Context, q querier) error {
		clear(marked)
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("leads: mark mail sent: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("leads: mark mail sent: %w", err)
			}
			marked[id] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("leads: mark mail sent: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var stale []int64
	for _, c := range claims {
		if !marked[c.ID] {
			stale = append(stale, c.ID)
		}
	}
	return stale, nil
}

// markQuery is markSent's statement for size claims; its parameters are
// the claims' ids, the time sent, then each claim's id and attempt.
//
// The rows are found, and on PostgreSQL locked, by id alone and in id
// order, in a materialised CTE; the claims are checked outside it, on
// what it returns (the newest row version, on PostgreSQL).
//
// The order: a mark whose claim was taken over since its snapshot waits
// for the newer claim's row and keeps its lock until the statement
// ends, so two marks that locked in different orders (each holding a
// claim the other took over) would deadlock.
//
// The CTE: with the claims' conditions in reach, the planner served
// status = 'queued' from the queue index, and where the statistics were
// from before a burst it read every queued row, thousands, for a mark
// of sixteen. A materialised CTE takes no condition from outside.
//
// An OR of (id, attempts) pairs, rather than a row-value IN: SQLite
// walks the primary key for each term of the OR but scans the table for
// IN (VALUES ...), and PostgreSQL types VALUES' parameters as text.
func markQuery(d *dialect, size int) string {
	return `WITH l AS MATERIALIZED (
			SELECT id, status, attempts FROM outbox WHERE id IN (?` + strings.Repeat(`, ?`, size-1) + `)
			ORDER BY id` + d.forUpdate + `)
		UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = ''
		FROM l
		WHERE outbox.id = l.id AND l.status = 'queued'
			AND ((l.id = ? AND l.attempts = ?)` + strings.Repeat(` OR (l.id = ? AND l.attempts = ?)`, size-1) + `)
		RETURNING outbox.id`
}

// MarkMailRetry records a temporary failure of the claim attempt and when
// to try again.
func (s *Store) MarkMailRetry(ctx context.Context, id int64, attempt int, next time.Time, reason string) error {
	return s.updateOutbox(ctx, `UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ?
		WHERE id = ? AND status = 'queued' AND attempts = ?`, formatTime(next), truncate(reason, 1000), id, attempt)
}

// MarkMailDead records a permanent failure of the claim attempt; the
// message is not tried again until staff retry it.
func (s *Store) MarkMailDead(ctx context.Context, id int64, attempt int, reason string) error {
	return s.updateOutbox(ctx, `UPDATE outbox SET status = 'dead', lease_until = NULL, last_error = ?
		WHERE id = ? AND status = 'queued' AND attempts = ?`, truncate(reason, 1000), id, attempt)
}

// RetryMail puts a dead message back in the queue, due now.
func (s *Store) RetryMail(ctx context.Context, id int64) error {
	return s.updateOutbox(ctx, `UPDATE outbox SET status = 'queued', next_attempt_at = ?, lease_until = NULL
		WHERE id = ? AND status = 'dead'`, formatTime(s.now()), id)
}

func (s *Store) updateOutbox(ctx context.Context, query string, args ...any) error {
	return s.bookkeep(ctx, func(ctx context.Context, q querier) error {
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("leads: update outbox: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("leads: update outbox: %w", err)
		}
		if n == 0 {
			return Errorf(ENOTFOUND, "No such message in that state (or its claim was taken over).")
		}
		return nil
	})
}

// NextMailDue returns when the earliest queued message is due (or its lease
// runs out), and false when nothing is queued.
//
// A row is due at the later of its next attempt and its lease, so the
// answer is the least of those over the queue. The queue index gives the
// rows in order of their next attempts, and once a row's next attempt is
// no earlier than the least so far, no later row can beat it: the walk
// reads the leased rows at the head of the queue and one more, not the
// whole queue (every booking's reminder waits in it until days before
// the call). When dueWalk rows do not settle it, which takes as many
// leases running past their next attempts, one query over the queue does.
func (s *Store) NextMailDue(ctx context.Context) (time.Time, bool, error) {
	var (
		best    time.Time
		read    int
		settled bool
	)
	err := s.readPlanned(ctx, s.d.claimPlan, func(ctx context.Context, q rowsQueryer) (err error) {
		best, read, settled, err = walkDue(ctx, q)
		return err
	})
	if err != nil {
		return time.Time{}, false, err
	}
	if settled {
		return best, read > 0, nil
	}
	var next sql.NullString
	err = s.r.QueryRowContext(ctx, `SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
		FROM outbox WHERE status = 'queued'`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("leads: next mail due: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	t, err := parseTime(next.String)
	return t, err == nil, err
}

// walkDue reads the head of the queue for NextMailDue: the least due time
// of the rows read, how many were read, and whether they settle it.
func walkDue(ctx context.Context, q rowsQueryer) (best time.Time, read int, settled bool, err error) {
	rows, err := q.QueryContext(ctx, dueQuery, dueWalk)
	if err != nil {
		return best, 0, false, fmt.Errorf("leads: next mail due: %w", err)
	}
	defer rows.Close()
	var last time.Time // the last row's next attempt
	for rows.Next() {
		var (
			next  string
			lease sql.NullString
		)
		if err := rows.Scan(&next, &lease); err != nil {
			return best, read, false, fmt.Errorf("leads: next mail due: %w", err)
		}
		read++
		if last, err = parseTime(next); err != nil {
			return best, read, false, err
		}
		if !best.IsZero() && !last.Before(best) {
			return best, read, true, nil // every later row is due later still
		}
		due := last
		if lease.Valid {
			l, err := parseTime(lease.String)
			if err != nil {
				return best, read, false, err
			}
			if l.After(due) {
				due = l
			}
		}
		if best.IsZero() || due.Before(best) {
			best = due
		}
	}
	if err := rows.Err(); err != nil {
		return best, read, false, fmt.Errorf("leads: next mail due: %w", err)
	}
	// The whole queue was read, or the rows after the last are due after it.
	return best, read, read < dueWalk || !best.After(last), nil
}

// readPlanned runs fn, a read, after plan (a statement that settles the
// plans of the queries that follow it) in one read-only transaction, or
// on the read pool when plan is empty.
func (s *Store) readPlanned(ctx context.Context, plan string, fn func(ctx context.Context, q rowsQueryer) error) error {
	if plan == "" {
		return fn(ctx, s.r)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("leads: read: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, plan); err != nil {
		return fmt.Errorf("leads: read: %w", err)
	}
	return fn(ctx, tx) // a read commits nothing: the rollback ends it
}

// dueQuery reads the head of the queue, in the queue index's order.
const dueQuery = `SELECT next_attempt_at, lease_until FROM outbox WHERE status = 'queued'
	ORDER BY next_attempt_at, id LIMIT ?`

// dueWalk is how many rows at the head of the queue NextMailDue reads
// before it asks the whole queue.
const dueWalk = 64

// FindMail returns one outbox row.
func (s *Store) FindMail(ctx context.Context, id int64) (OutboxMessage, error) {
	m, err := scanOutbox(s.r.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if err != nil && isNoRows(err) {
		return m, Errorf(ENOTFOUND, "Message not found.")
	}
	return m, err
}

// MailFilter selects outbox rows.
type MailFilter struct {
	Status string // "" for all
	LeadID int64  // 0 for all
	Limit  int    // 100 when zero
	// BookingID, when set, keeps the rows about that booking.
	BookingID int64
}

// ListMail returns outbox rows, newest first.
func (s *Store) ListMail(ctx context.Context, f MailFilter) ([]OutboxMessage, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE (? = '' OR status = ?) AND (? = 0 OR lead_id = ?) AND (? = 0 OR booking_id = ?)
		ORDER BY id DESC LIMIT ?`, f.Status, f.Status, f.LeadID, f.LeadID, f.BookingID, f.BookingID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("leads: list mail: %w", err)
	}
	defer rows.Close()
	var msgs []OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: list mail: %w", err)
	}
	return msgs, nil
}

// MailStats counts outbox rows by status and gives the creation time of the
// oldest queued one.
type MailStats struct {
	Queued, Sent, Dead, Cancelled int
	OldestQueued                  time.Time
}

// MailStats returns the outbox counts.
func (s *Store) MailStats(ctx context.Context) (MailStats, error) {
	var st MailStats
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*), MIN(created_at) FROM outbox GROUP BY status`)
	if err != nil {
		return st, fmt.Errorf("leads: mail stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status, oldest string
			n              int
		)
		if err := rows.Scan(&status, &n, &oldest); err != nil {
			return st, fmt.Errorf("leads: mail stats: %w", err)
		}
		switch status {
		case OutboxQueued:
			st.Queued = n
			if st.OldestQueued, err = parseTime(oldest); err != nil {
				return st, err
			}
		case OutboxSent:
			st.Sent = n
		case OutboxDead:
			st.Dead = n
		case OutboxCancelled:
			st.Cancelled = n
		}
	}
	return st, rows.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !validStart(s[n]) {
		n--
	}
	return s[:n]
}

// validStart reports whether b can start a UTF-8 sequence.
func validStart(b byte) bool { return b&0xC0 != 0x80 }

// querier runs statements: a transaction, or a pool whose every statement
// is a transaction of its own.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// bookkeep runs fn, one of the outbox's own bookkeeping (a claim, an
// outcome), which must be a single statement. Where the dialect allows it
// (PostgreSQL), it runs on a pool of its own whose sessions commit without
// waiting for the log to reach the disk (synchronous_commit off: each
// statement is still atomic, and durable a fraction of a second later),
// outside any explicit transaction, in one round trip. Losing one to a
// crash of the database server can only make a message go out again, with
// its Message-ID, which at-least-once delivery allows; the leads, bookings
// and messages themselves are always durable before they are
// acknowledged. Elsewhere fn runs in a write transaction.
func (s *Store) bookkeep(ctx context.Context, fn func(ctx context.Context, q querier) error) error {
	if s.bk == nil {
		return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx) })
	}
	return fn(ctx, s.bk)
}

// bookkeepPlanned is bookkeep for a statement that needs the planner
// settings plan (a dialect's, or none): on the bookkeeping pool it runs
// in a transaction of its own that sets them first.
func (s *Store) bookkeepPlanned(ctx context.Context, plan string, fn func(ctx context.Context, q querier) error) error {
	if s.bk == nil || plan == "" {
		return s.bookkeep(ctx, fn)
	}
	tx, err := s.bk.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("leads: bookkeeping: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, plan); err != nil {
		return fmt.Errorf("leads: bookkeeping: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("leads: bookkeeping: %w", err)
	}
	return nil
}
