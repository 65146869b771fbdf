package leads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Every booking write takes the calendar's row lock, so on PostgreSQL the
// bookings of the whole site, on any number of instances, queue for it one
// after another, and each holds it for the statements that check its rules
// and for its commit. A PostgreSQL store therefore gathers the bookings
// that wait at the same moment, as SQLite's writer does with every write,
// and writes them in one transaction that takes the lock once:
//
//  1. each booking is written as on its own (its lead, the booking, its
//     mail), before the lock, as CreateBooking does, but with the leads
//     of all their addresses looked up in one query and all their mail
//     queued in one statement;
//  2. the lock is taken, and every rule is checked for all of them with
//     one query per rule: the live bookings over all their windows, and
//     the per-address counts grouped by address;
//  3. the transaction commits, and each is acknowledged.
//
// Each booking's checks see the others of its batch (they are written
// already), so a batch is never more lenient than the same bookings made
// one after another, and as every rule only refuses more when there are
// more bookings, what passes in the batch passes after it alone too. When
// a booking of a batch is refused (a slot taken, a buffer, a cap, a limit)
// or unusual (a retried request), the batch is rolled back, that booking
// set aside and the rest tried again; the ones set aside are then made on
// their own, each seeing the batch, so that each gets the answer it would
// have had alone after it.

// bookingBatchers is how many batches of bookings one store may have in
// flight: one holds the lock while the others write.
const bookingBatchers = 8

// errBatchAlone rolls a batch back so that its bookings are made one by
// one.
var errBatchAlone = errors.New("leads: booking batch: make each alone")

type bookingReq struct {
	ctx     context.Context
	nb      *NewBooking
	check   BookingCheck
	compose BookingCompose
	done    chan bookingResult
}

type bookingResult struct {
	b       *Booking
	created bool
	err     error
}

// createBookingGathered queues a prepared booking for the next batch and
// waits for the outcome of the transaction that holds it.
func (s *Store) createBookingGathered(ctx context.Context, nb *NewBooking, check BookingCheck, compose BookingCompose) (*Booking, bool, error) {
	req := &bookingReq{ctx: ctx, nb: nb, check: check, compose: compose, done: make(chan bookingResult, 1)}
	if err := enqueue(ctx, s.bookingReqs, s.closing, req); err != nil {
		return nil, false, err
	}
	// Once queued, wait whatever ctx does: the booking may be committed.
	r := <-req.done
	return r.b, r.created, r.err
}

// batchAttempts bounds how often a batch is tried again without the
// bookings that were refused in it before the rest go one by one.
const batchAttempts = 3

// runBookingBatch writes batch in one transaction and answers each
// request; see the comment at the top of the file. The bookings refused
// in the batch are set aside and the rest tried again as a batch; those
// set aside are then made on their own, after the batch, each seeing it.
func (s *Store) runBookingBatch(batch []*bookingReq) {
	var rest, aside []*bookingReq
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.done <- bookingResult{err: err}
			continue
		}
		// Two of one batch for overlapping times: the database would
		// refuse the second's insert and with it the whole batch.
		if slices.ContainsFunc(rest, func(r *bookingReq) bool {
			return r.nb.Start.Before(req.nb.End) && req.nb.Start.Before(r.nb.End)
		}) {
			aside = append(aside, req)
			continue
		}
		rest = append(rest, req)
	}
	for attempt := 0; len(rest) >= 2 && attempt < batchAttempts; attempt++ {
		refused, err := s.tryBookingBatch(rest)
		if err == nil {
			rest = nil
			break
		}
		if len(refused) == 0 {
			break // nothing to blame: each on its own
		}
		kept := rest[:0:0]
		for i, req := range rest {
			if slices.Contains(refused, i) {
				aside = append(aside, req)
			} else {
				kept = append(kept, req)
			}
		}
		rest = kept
	}
	for _, req := range append(rest, aside...) {
		b, created, err := s.createBookingAlone(req.ctx, req.nb, req.check, req.compose)
		req.done <- bookingResult{b: b, created: created, err: err}
	}
}

// tryBookingBatch writes batch in one transaction. It answers every
// request and returns nil when the transaction committed, or when its
// commit failed (it may have committed, so nothing is tried again). It
// returns the error, answering none, when the batch was rolled back, with
// the indexes of the bookings that were refused (none: no one in
// particular).
func (s *Store) tryBookingBatch(batch []*bookingReq) (refused []int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	var (
		made    []*Booking
		version uint64
		rolled  bool // fn failed: nothing of the batch committed
	)
	err = s.writeTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		emails := make([]string, len(batch))
		for i, req := range batch {
			emails[i] = req.nb.Lead.Email
		}
		if err := s.lockAddresses(ctx, tx, emails...); err != nil {
			rolled = true
			return err
		}
		made, version, refused, err = writeBookingBatch(ctx, tx, s.now(), batch)
		rolled = err != nil
		return err
	})
	if err != nil && rolled {
		if !errors.Is(err, errBatchAlone) {
			refused = nil
		}
		return refused, err
	}
	if err != nil {
		for _, req := range batch {
			req.done <- bookingResult{err: err}
		}
		return nil, nil
	}
	s.raiseBookingsVersion(version)
	s.batchedBookings.Add(int64(len(batch)))
	for i, req := range batch {
		req.done <- bookingResult{b: made[i], created: true}
	}
	return nil, nil
}

// writeBookingBatch writes the bookings of batch, takes the calendar's
// lock and checks every rule for all of them. Refusals, and a request
// that is not a plain new booking, are errBatchAlone with the indexes of
// their bookings, which rolls the batch back.
func writeBookingBatch(ctx context.Context, tx *sql.Tx, now time.Time, batch []*bookingReq) ([]*Booking, uint64, []int, error) {
	if _, err := releaseExpiredHolds(ctx, tx, now); err != nil {
		return nil, 0, nil, err
	}
	ctx = rememberEndpoints(ctx)
	var emails []string
	for _, req := range batch {
		if !slices.Contains(emails, req.nb.Lead.Email) {
			emails = append(emails, req.nb.Lead.Email)
		}
	}
	byEmail, err := newestLeads(ctx, tx, emails)
	if err != nil {
		return nil, 0, nil, err
	}
	made := make([]*Booking, len(batch))
	var mail []*OutboxMessage
	for i, req := range batch {
		if req.nb.IdemKey != "" {
			found, err := queryBookings(ctx, tx, `WHERE b.idem_key = ?`, req.nb.IdemKey)
			if err != nil {
				return nil, 0, nil, err
			}
			if len(found) > 0 {
				return nil, 0, []int{i}, errBatchAlone // a retry: its first answer stands
			}
		}
		// The address's first booking in the batch uses the lead found
		// above; a second looks again, and finds the lead the first wrote.
		found := byEmail[req.nb.Lead.Email]
		delete(byEmail, req.nb.Lead.Email)
		b, m, err := writeBooking(ctx, tx, req.nb, now, req.compose, found)
		if err != nil {
			return nil, 0, []int{i}, fmt.Errorf("%w: %w", errBatchAlone, err)
		}
		made[i], mail = b, append(mail, m...)
	}
	// Every booking's mail in one statement.
	if err := insertOutboxRows(ctx, tx, now, mail); err != nil {
		return nil, 0, nil, err
	}
	version, err := lockCalendar(ctx, tx)
	if err != nil {
		return nil, 0, nil, err
	}
	refused, err := checkBatchLimits(ctx, tx, now, batch, made)
	if err != nil {
		return nil, 0, nil, err
	}
	more, err := checkBatchRules(ctx, tx, now, batch, made)
	if err != nil {
		return nil, 0, nil, err
	}
	if refused = append(refused, more...); len(refused) > 0 {
		return nil, 0, refused, errBatchAlone
	}
	// Counted last, in one order: the articles' rows are then locked for
	// the commit only, and two batches cannot deadlock on them.
	as := make([]Attribution, len(made))
	for i, b := range made {
		as[i] = b.Attribution
	}
	if err := addConversionsOf(ctx, tx, now, as, "bookings"); err != nil {
		return nil, 0, nil, err
	}
	return made, version, nil, nil
}

// checkBatchRules runs each booking's check against the live bookings of
// its window, read in one query over all the windows, and returns the
// indexes of those refused. Each sees the others of the batch.
func checkBatchRules(ctx context.Context, tx *sql.Tx, now time.Time, batch []*bookingReq, made []*Booking) ([]int, error) {
	var from, to time.Time
	for _, req := range batch {
		if req.check == nil {
			continue
		}
		if from.IsZero() || req.nb.WindowFrom.Before(from) {
			from = req.nb.WindowFrom
		}
		if to.IsZero() || req.nb.WindowTo.After(to) {
			to = req.nb.WindowTo
		}
	}
	if from.IsZero() {
		return nil, nil
	}
	all, err := liveSpans(ctx, tx, now, from, to, 0)
	if err != nil {
		return nil, err
	}
	var refused []int
	for i, req := range batch {
		if req.check == nil {
			continue
		}
		wf, wt := req.nb.WindowFrom, req.nb.WindowTo
		var live []Booking
		for _, b := range all {
			// liveBookings' own condition, for this window, without self.
			if b.ID != made[i].ID && b.Start.After(wf.Add(-MaxBookingLength)) && b.Start.Before(wt) && b.End.After(wf) {
				live = append(live, b)
			}
		}
		if req.check(live) != nil {
			refused = append(refused, i)
		}
	}
	return refused, nil
}

// checkBatchLimits checks every booking's per-address limits with one
// grouped count per limit of the bookings outside the batch, and returns
// the indexes of those over a limit. A booking's count adds every other
// booking of the batch with its address, so that the batch is never more
// lenient than the same bookings made one after another.
func checkBatchLimits(ctx context.Context, tx *sql.Tx, now time.Time, batch []*bookingReq, made []*Booking) ([]int, error) {
	ids := make([]int64, len(made))
	for i, b := range made {
		ids[i] = b.ID
	}
	batchIDs := idList(ids)
	var refused []int
	for _, lim := range bookingLimits {
		var keys []any
		members := map[string]int{} // the batch's bookings by address
		for _, req := range batch {
			k := lim.key(req.nb)
			if k == "" {
				continue
			}
			if members[k] == 0 {
				keys = append(keys, k)
			}
			members[k]++
		}
		if len(keys) == 0 || !slices.ContainsFunc(batch, func(r *bookingReq) bool { return lim.max(r.nb.Limits) > 0 }) {
			continue
		}
		rows, err := tx.QueryContext(ctx, `SELECT b.`+lim.column+`, COUNT(*) FROM bookings b WHERE b.`+lim.column+` IN (`+marks(len(keys))+
			`) AND b.id NOT IN (`+batchIDs+`) AND `+lim.cond+` GROUP BY b.`+lim.column, append(keys, lim.args(now)...)...)
		if err != nil {
			return nil, fmt.Errorf("leads: count bookings by address: %w", err)
		}
		counts := map[string]int{}
		for rows.Next() {
			var (
				k string
				n int
			)
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("leads: count bookings by address: %w", err)
			}
			counts[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("leads: count bookings by address: %w", err)
		}
		for i, req := range batch {
			n, k := lim.max(req.nb.Limits), lim.key(req.nb)
			if n > 0 && k != "" && counts[k]+members[k]-1 >= n && !slices.Contains(refused, i) {
				refused = append(refused, i)
			}
		}
	}
	return refused, nil
}
