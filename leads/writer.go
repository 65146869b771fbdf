package leads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxBatch caps how many writes share one transaction.
const maxBatch = 64

// errClosed is returned for writes after Close.
var errClosed = errors.New("leads: store is closed")

// writeReq is one unit of work for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// write runs fn in a write transaction and returns once that transaction
// has committed (or fn's changes were rolled back).
//
// Writes are group-committed: the writer goroutine takes every write that
// is waiting, runs each inside its own savepoint of one immediate
// transaction, and commits them together, so concurrent submissions share
// one fsync instead of queueing for one each. Each fn sees the writes
// before it, exactly as if they had run one after the other; a fn that
// fails is rolled back to its savepoint alone. Nothing is acknowledged
// before the commit that holds it is durable.
//
// fn gets ctx without its cancellation: a client that goes away must not
// interrupt a statement, since SQLite answers an interrupted write by
// rolling back the whole transaction, its neighbours' work included. ctx
// is still checked before fn starts.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.d == postgresDialect {
		return s.writeTx(ctx, fn)
	}
	req := writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := enqueue(ctx, s.writes, s.closing, req); err != nil {
		return err
	}
	// Once queued, wait for the outcome whatever ctx does: the write may
	// commit, and the caller must know whether it did.
	return <-req.done
}

// writeAttempts bounds how often a PostgreSQL write that lost a deadlock
// or a serialization check is run again.
const writeAttempts = 5

// writeTx runs fn in a read-committed transaction of its own on the
// PostgreSQL pool. The server orders concurrent writers; fn takes the row
// locks its checks rest on. As on SQLite, fn and the commit run without
// ctx's cancellation once started: a client that goes away must not leave
// the caller unsure whether its write committed.
func (s *Store) writeTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || attempt == writeAttempts || !s.d.retryable(err) {
			return err
		}
		time.Sleep(retryPause(attempt))
	}
}

// retryPause is how long a write that lost a deadlock waits before its
// next attempt: a random part of a span that grows with the attempts.
// Two bookings of overlapping times that insert at the same moment each
// find the other's row under the exclusion constraint and wait for it,
// and the server aborts one; were they to start again at once, with
// others like them, they could meet the same way every time.
func retryPause(attempt int) time.Duration {
	return rand.N(time.Duration(attempt) * 10 * time.Millisecond)
}

func (s *Store) runTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("leads: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("leads: commit: %w", err)
	}
	return nil
}

func (s *Store) writer() {
	defer close(s.writerDone)
	batchLoop(s.writes, s.closing, s.runBatch)
}

// batchLoop takes the requests waiting on reqs at one moment, up to
// maxBatch of them, and hands them to run together, until closing is
// closed. It is how SQLite's writer and PostgreSQL's lead and booking
// batchers gather their work.
func batchLoop[R any](reqs <-chan R, closing <-chan struct{}, run func([]R)) {
	batch := make([]R, 0, maxBatch)
	for {
		select {
		case req := <-reqs:
			batch = append(batch[:0], req)
		case <-closing:
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case req := <-reqs:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		run(batch)
		clear(batch)
	}
}

// enqueue hands req to a batch loop, unless ctx ends or the store closes
// first.
func enqueue[R any](ctx context.Context, reqs chan<- R, closing <-chan struct{}, req R) error {
	select {
	case reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closing:
		return errClosed
	}
}

func (s *Store) runBatch(batch []writeReq) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for i, req := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
			req.done <- errs[i]
		}
	}
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("leads: begin: %w", err))
		return
	}
	ok := 0
	for i, req := range batch {
		if err := req.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if len(batch) == 1 {
			// No neighbours to protect: skip the savepoint.
			if errs[i] = req.fn(context.WithoutCancel(req.ctx), tx); errs[i] == nil {
				ok++
			}
			continue
		}
		if _, err := tx.Exec("SAVEPOINT w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("leads: savepoint: %w", err))
			return
		}
		if errs[i] = req.fn(context.WithoutCancel(req.ctx), tx); errs[i] != nil {
			if _, err := tx.Exec("ROLLBACK TO w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("leads: rollback to savepoint: %w", err))
				return
			}
		} else {
			ok++
		}
		if _, err := tx.Exec("RELEASE w"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("leads: release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		tx.Rollback()
	} else if err := tx.Commit(); err != nil {
		err = fmt.Errorf("leads: commit: %w", err)
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	for i, req := range batch {
		req.done <- errs[i]
	}
}
