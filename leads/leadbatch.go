package leads

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
)

// On PostgreSQL each write is a transaction of its own, and a lead costs
// the server three inserted rows (the lead and its two messages), each
// with its indexes, plus a begin and a commit. Submissions come in bursts,
// so a PostgreSQL store gathers the ones that wait at the same moment and
// writes them together, as SQLite's writer does with every write: one
// transaction, one multi-row insert of the leads and one of their
// messages. Each submission is acknowledged only once the transaction
// holding it has committed.

// leadBatchers is how many batches of one store may be in flight at once.
const leadBatchers = 2

// batchTimeout bounds one batch's transaction, which runs on no
// caller's context (its callers' contexts end at different times).
const batchTimeout = 30 * time.Second

type leadReq struct {
	ctx     context.Context
	l       *Lead
	in      Lead
	compose Compose
	done    chan leadResult
}

type leadResult struct {
	created bool
	err     error
}

// startBatchers starts the goroutines that write gathered leads and
// bookings, as the dialect asks; Close stops them.
func (s *Store) startBatchers() {
	s.closing = make(chan struct{})
	s.batchersDone = make(chan struct{})
	var wg sync.WaitGroup
	if s.d.gatherLeads {
		s.leadReqs = make(chan *leadReq)
		for range leadBatchers {
			wg.Go(func() { batchLoop(s.leadReqs, s.closing, s.runLeadBatch) })
		}
	}
	if s.d.gatherBookings {
		s.bookingReqs = make(chan *bookingReq)
		for range bookingBatchers {
			wg.Go(func() { batchLoop(s.bookingReqs, s.closing, s.runBookingBatch) })
		}
	}
	go func() {
		wg.Wait()
		close(s.batchersDone)
	}()
}

// createLeadGathered queues l for the next batch and waits for the
// outcome of the transaction that holds it.
func (s *Store) createLeadGathered(ctx context.Context, l *Lead, compose Compose) (bool, error) {
	req := &leadReq{ctx: ctx, l: l, in: *l, compose: compose, done: make(chan leadResult, 1)}
	if err := enqueue(ctx, s.leadReqs, s.closing, req); err != nil {
		return false, err
	}
	// Once queued, wait whatever ctx does: the lead may be committed, and
	// the caller must know whether it was.
	r := <-req.done
	return r.created, r.err
}

// runLeadBatch writes batch in one transaction and answers each request.
// When a statement of the batch fails, each lead is written again on its
// own, so that one bad submission cannot fail its neighbours. (A failed
// commit is not retried: it may have committed.)
func (s *Store) runLeadBatch(batch []*leadReq) {
	live := batch[:0:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.done <- leadResult{err: err}
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var (
		inserted map[int64]bool
		failed   map[*leadReq]error
		rolled   bool // the batch's statements failed: nothing of it committed
	)
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		inserted, failed, err = insertLeads(ctx, tx, s.now(), live)
		rolled = err != nil
		return err
	})
	if err != nil && rolled && len(live) > 1 {
		for _, req := range live {
			created, err := s.createLeadAlone(ctx, req)
			req.done <- leadResult{created: created, err: err}
		}
		return
	}
	for _, req := range live {
		switch {
		case err != nil:
			req.done <- leadResult{err: err}
		case failed[req] != nil:
			req.done <- leadResult{err: failed[req]}
		case inserted[req.l.ID]:
			req.done <- leadResult{created: true}
		default:
			// Another lead holds the idempotency key: the first answer
			// stands (the insert waited for it to commit).
			existing, err := findLeadByIdemKey(ctx, s.r, req.in.IdemKey)
			if err == nil {
				*req.l = *existing
			}
			req.done <- leadResult{err: err}
		}
	}
}

// createLeadAlone writes one gathered lead in a transaction of its own.
func (s *Store) createLeadAlone(ctx context.Context, req *leadReq) (bool, error) {
	created := false
	err := s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*req.l = req.in
		var err error
		created, err = s.insertLeadTx(ctx, tx, req.l, req.compose)
		return err
	})
	return created, err
}

// insertLeads writes the leads of batch with ids taken from the leads'
// sequence, and the messages their composers return, in two statements. It
// returns the ids that were inserted (a lead whose idempotency key another
// lead holds is not) and the requests whose composer failed, which are
// left out.
func insertLeads(ctx context.Context, tx *sql.Tx, now time.Time, batch []*leadReq) (map[int64]bool, map[*leadReq]error, error) {
	rows, err := tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, ?)`, len(batch))
	if err != nil {
		return nil, nil, fmt.Errorf("leads: create leads: take ids: %w", err)
	}
	ids := make([]int64, 0, len(batch))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("leads: create leads: take ids: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) != len(batch) {
		return nil, nil, fmt.Errorf("leads: create leads: take ids: got %d of %d: %v", len(ids), len(batch), err)
	}

	failed := map[*leadReq]error{}
	msgs := make([][]OutboxMessage, len(batch))
	var (
		q    strings.Builder
		args []any
	)
	q.WriteString(`INSERT INTO leads (id, ` + leadInsertColumns + `) VALUES `)
	n := 0
	for i, req := range batch {
		*req.l = req.in
		l := req.l
		l.ID, l.CreatedAt, l.UpdatedAt = ids[i], now, now
		if l.ConsentAt.IsZero() {
			l.ConsentAt = now
		}
		if req.compose != nil {
			if msgs[i], err = req.compose(l); err != nil {
				failed[req] = fmt.Errorf("leads: create lead: compose mail: %w", err)
				continue
			}
		}
		if n > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, " + leadInsertMarks + ")")
		args = append(append(args, l.ID), leadInsertArgs(l)...)
		n++
	}
	inserted := map[int64]bool{}
	if n == 0 {
		return inserted, failed, nil
	}
	q.WriteString(` ON CONFLICT (idem_key) DO NOTHING RETURNING id`)
	rows, err = tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("leads: create leads: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("leads: create leads: %w", err)
		}
		inserted[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("leads: create leads: %w", err)
	}

	hooks, err := webhookTargets(ctx, tx, EventLeadCreated)
	if err != nil {
		return nil, nil, err
	}
	var out []*OutboxMessage
	for i, req := range batch {
		if failed[req] != nil || !inserted[req.l.ID] {
			continue
		}
		req.l.stored()
		if err := enqueueWebhooksTo(ctx, tx, now, hooks, EventLeadCreated, NewWebhookLead(req.l), req.l.ID, 0); err != nil {
			return nil, nil, err
		}
		for j := range msgs[i] {
			msgs[i][j].LeadID = req.l.ID
			out = append(out, &msgs[i][j])
		}
	}
	if err := insertOutboxRows(ctx, tx, now, out); err != nil {
		return nil, nil, err
	}
	var counted []Attribution
	for _, req := range batch {
		if failed[req] == nil && inserted[req.l.ID] {
			counted = append(counted, req.l.Attribution)
		}
	}
	if err := addConversionsOf(ctx, tx, now, counted, "leads"); err != nil {
		return nil, nil, err
	}
	return inserted, failed, nil
}

// insertOutboxRows queues msgs in one statement (none: no statement).
func insertOutboxRows(ctx context.Context, tx *sql.Tx, now time.Time, msgs []*OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	var (
		q    strings.Builder
		args []any
	)
	q.WriteString(`INSERT INTO outbox (created_at, kind, recipient, message_id, payload, lead_id, booking_id, status, next_attempt_at) VALUES `)
	for i, m := range msgs {
		if err := m.prepare(now); err != nil {
			return err
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, 'queued', ?)")
		args = append(args, formatTime(now), m.Kind, m.Recipient, m.MessageID, string(m.Payload),
			nullID(m.LeadID), nullID(m.BookingID), formatTime(m.NextAttemptAt))
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("leads: queue mail: %w", err)
	}
	return nil
}
