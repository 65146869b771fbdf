package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"leadbook/leads"
)

// Queue is the part of leads.Store that the Worker uses.
type Queue interface {
	ClaimMail(ctx context.Context, lease time.Duration, limit int) ([]leads.OutboxMessage, error)
	MarkMailSentAll(ctx context.Context, claims []leads.MailClaim) (stale []int64, err error)
	MarkMailRetry(ctx context.Context, id int64, attempt int, next time.Time, reason string) error
	MarkMailDead(ctx context.Context, id int64, attempt int, reason string) error
	NextMailDue(ctx context.Context) (time.Time, bool, error)
}

var _ Queue = (*leads.Store)(nil)

// Worker defaults.
const (
	DefaultLease = 2 * time.Minute
	DefaultBatch = 16
	// DefaultConcurrency is how many deliveries run at once. Each waits
	// mostly on something else (an SMTP relay's answers, a webhook
	// receiver, a pickup folder's flush to disk), so one at a time sends
	// a few hundred messages a second at best, and a burst of leads
	// waits minutes for its confirmations.
	DefaultConcurrency = 4
	DefaultBaseDelay   = 30 * time.Second
	DefaultMaxDelay    = time.Hour
	DefaultMaxAge      = 72 * time.Hour
	DefaultPoll        = 5 * time.Second
)

// Outcomes passed to Worker.Result.
const (
	ResultSent  = "sent"
	ResultRetry = "retry"
	ResultDead  = "dead"
)

// markTimeout bounds the bookkeeping after a send, which runs even when
// the worker is being stopped so that a sent message is recorded as sent.
const markTimeout = 10 * time.Second

// markSentWithin bounds how long a delivered message waits for its "sent"
// mark. The marks of a batch are written together, one statement for many,
// but a message sent and not yet marked goes out again (after its lease,
// with its Message-ID) if the worker dies meanwhile. 50 ms keeps that
// window small even when each delivery is slow (an SMTP relay, a webhook),
// while a batch of quick ones still shares one statement.
const markSentWithin = 50 * time.Millisecond

// Deliverer delivers one claimed outbox row that is not mail. It must
// bound its own time (a request timeout), be safe to call again for the
// same row (a delivery whose outcome was not recorded is repeated) and
// safe to call from several goroutines for rows of different recipients.
type Deliverer interface {
	Deliver(ctx context.Context, row leads.OutboxMessage) error
}

// Worker drains the outbox: it claims due rows with a lease, sends them,
// up to Concurrency at once but one recipient's one after another, and
// marks each sent, due again later, or dead. The sent
// marks of a batch are written together: when the batch ends, before any
// other outcome, and once the oldest has waited markSentWithin.
//
// Retries back off exponentially with "equal jitter": after the n-th
// failed attempt the next one waits
//
//	min(MaxDelay, BaseDelay * 2^(n-1)) * (0.5 + Rand()/2)
//
// that is between half and all of the capped exponential delay, so a
// burst of failures spreads out while the wait still grows. A temporary
// failure of a message older than MaxAge, and every permanent failure, is
// dead-lettered for staff to see.
//
// The zero value needs Queue and Sender; every other field has a default.
type Worker struct {
	Queue  Queue
	Sender Sender
	Logger *slog.Logger     // slog.Default() when nil
	Now    func() time.Time // time.Now when nil; should be the store's clock

	Lease time.Duration // how long a claim lasts; DefaultLease when zero
	Batch int           // rows claimed at once; DefaultBatch when zero
	// Concurrency is how many of a batch's rows are delivered at once;
	// DefaultConcurrency when zero. One recipient's rows go one after
	// another, in the order they were queued.
	Concurrency int
	BaseDelay   time.Duration  // first retry delay; DefaultBaseDelay when zero
	MaxDelay    time.Duration  // cap of the retry delay; DefaultMaxDelay when zero
	MaxAge      time.Duration  // give up on temporary failures after this; DefaultMaxAge when zero
	Poll        time.Duration  // longest sleep between checks; DefaultPoll when zero
	Rand        func() float64 // jitter in [0, 1); math/rand/v2 when nil
	// Render turns a row's payload into the message to send: the
	// Composer's Render, which renders drafts. UnmarshalPayload when nil,
	// which reads rendered messages only.
	Render func(payload []byte) (*Message, error)
	// Result, when set, is told the outcome of each attempt: ResultSent,
	// ResultRetry or ResultDead (metrics), from the goroutines that deliver.
	Result func(outcome string)
	// Deliverers deliver the rows that are not mail, by the row's Kind (a
	// webhook call, a write to the CEO's calendar). A row whose Kind has
	// no Deliverer is mail for Sender. Their outcomes follow mail's rules:
	// nil is delivered, a PermanentError is dead-lettered, anything else
	// is retried with backoff until MaxAge.
	Deliverers map[string]Deliverer

	once sync.Once
	wake chan struct{}
}

func (w *Worker) init() {
	w.once.Do(func() { w.wake = make(chan struct{}, 1) })
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.Default()
	}
	return w.Logger
}

func (w *Worker) now() time.Time {
	if w.Now == nil {
		return time.Now()
	}
	return w.Now()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Wake nudges a running worker to look for due messages now, after new
// rows were queued. It never blocks.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sends due messages until ctx is done, then returns nil. A message
// whose send has begun is finished and marked first; claimed messages not
// yet begun are handed back to the queue.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	log := w.logger()
	poll := orDefault(w.Poll, DefaultPoll)
	for {
		full, err := w.batch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := poll
		switch {
		case err != nil:
			log.Error("mailer: outbox worker", "err", err)
		case full:
			continue
		default:
			if next, ok, err := w.Queue.NextMailDue(ctx); err != nil {
				log.Error("mailer: outbox worker", "err", err)
			} else if ok {
				wait = min(max(next.Sub(w.now()), 0), poll)
			}
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-w.wake:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// Drain sends every message that is due now and returns when none is
// left: those that failed are due later. Tests and the CLI use it.
func (w *Worker) Drain(ctx context.Context) error {
	for {
		full, err := w.batch(ctx)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mailer: drain: %w", err)
		}
		if !full {
			return nil
		}
	}
}

// batch claims and processes one batch. It reports whether it found any
// message, so callers know to look again at once.
func (w *Worker) batch(ctx context.Context) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, nil
	}
	msgs, err := w.Queue.ClaimMail(ctx, orDefault(w.Lease, DefaultLease), orDefault(w.Batch, DefaultBatch))
	if err != nil {
		return false, err
	}
	sent := &sentMarks{q: w.Queue, ctx: context.WithoutCancel(ctx)}
	var (
		mu     sync.Mutex
		errs   []error
		unsent []leads.OutboxMessage // not begun when the worker was stopped
		wg     sync.WaitGroup
		slots  = make(chan struct{}, orDefault(w.Concurrency, DefaultConcurrency))
	)
	for _, lane := range lanes(msgs) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			for i, m := range lane {
				if ctx.Err() != nil {
					mu.Lock()
					unsent = append(unsent, lane[i:]...)
					mu.Unlock()
					return
				}
				if err := w.process(ctx, m, sent); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	errs = append(errs, sent.flush())
	if len(unsent) > 0 {
		w.release(unsent)
	}
	return len(msgs) > 0, errors.Join(errs...)
}

// lanes splits a claimed batch into the messages of each recipient (an
// address, whatever its case; a webhook endpoint; the CEO's calendar), in
// the order they were claimed, the lanes in the order of their first
// message. A lane is delivered one message after another, so that what a
// recipient gets arrives in the order it was queued (an invitation before
// its cancellation, a calendar's write before its delete); different
// lanes are delivered at the same time.
func lanes(msgs []leads.OutboxMessage) [][]leads.OutboxMessage {
	var (
		out [][]leads.OutboxMessage
		at  = map[string]int{}
	)
	for _, m := range msgs {
		k := leads.EmailKey(m.Recipient)
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], m)
	}
	return out
}

// sentMarks gathers the "sent" marks of one batch, to write them in one
// statement (MarkMailSentAll). A timer writes them once the oldest has
// waited markSentWithin, while the worker sends the next message.
type sentMarks struct {
	q   Queue
	ctx context.Context // one the worker's stop does not cancel

	// mu is held while the marks are written too, so that flush waits for
	// a write the timer began.
	mu      sync.Mutex
	pending []leads.MailClaim
	timer   *time.Timer
	errs    []error // of the timer's writes, for the next flush to return
}

// add queues the mark of a delivered message.
func (p *sentMarks) add(row leads.OutboxMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, leads.MailClaim{ID: row.ID, Attempt: row.Attempts})
	if len(p.pending) == 1 {
		p.timer = time.AfterFunc(markSentWithin, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.errs = append(p.errs, p.write())
		})
	}
}

// flush writes the pending marks at once and returns what went wrong with
// them and with those the timer wrote since the last flush.
func (p *sentMarks) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.write()
	errs := append(p.errs, err)
	p.errs = nil
	return errors.Join(errs...)
}

// write writes the pending marks; p.mu is held. A mark that changed
// nothing (its claim was taken over) is an error naming the row.
func (p *sentMarks) write() error {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if len(p.pending) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, markTimeout)
	defer cancel()
	claims := p.pending
	p.pending = nil
	stale, err := p.q.MarkMailSentAll(ctx, claims)
	if err != nil {
		return fmt.Errorf("mailer: mark %d outbox messages sent: %w", len(claims), err)
	}
	errs := make([]error, len(stale))
	for i, id := range stale {
		errs[i] = fmt.Errorf("mailer: mark outbox message %d sent: %w", id,
			leads.Errorf(leads.ENOTFOUND, "Its claim was taken over, or it is gone."))
	}
	return errors.Join(errs...)
}

// release hands claimed but unsent messages back, due now, so that the
// next worker need not wait for their leases to run out. The claim already
// counted an attempt; that only lengthens a later backoff a little.
func (w *Worker) release(msgs []leads.OutboxMessage) {
	ctx, cancel := context.WithTimeout(context.Background(), markTimeout)
	defer cancel()
	now := w.now()
	for _, m := range msgs {
		if err := w.Queue.MarkMailRetry(ctx, m.ID, m.Attempts, now, "released: worker stopping"); err != nil {
			// The lease still runs out, after which another worker
			// claims the message.
			w.logger().Warn("mailer: release outbox message", "id", m.ID, "kind", m.Kind, "err", err)
		}
	}
}

// process sends one claimed message and records the outcome, a success in
// sent. The send and the marking run on a context that ctx's cancellation
// does not reach (the sender's timeouts bound them), so stopping never
// leaves a message sent but still queued.
func (w *Worker) process(ctx context.Context, row leads.OutboxMessage, sent *sentMarks) error {
	ctx = context.WithoutCancel(ctx)
	result := func(outcome string) {
		if w.Result != nil {
			w.Result(outcome)
		}
	}
	log := w.logger().With("id", row.ID, "kind", row.Kind, "attempt", row.Attempts)
	if d, ok := w.Deliverers[row.Kind]; ok {
		return w.outcome(ctx, row, log, row.CreatedAt, deliver(ctx, d, row), sent)
	}

	render := w.Render
	if render == nil {
		render = UnmarshalPayload
	}
	msg, err := render(row.Payload)
	if err == nil && msg.MessageID != row.MessageID {
		err = errors.New("mailer: payload Message-ID differs from the outbox row's")
	}
	if err != nil {
		log.Warn("mailer: outbox message malformed, dead-lettered", "err", err)
		result(ResultDead)
		return w.mark(ctx, sent, func(ctx context.Context) error {
			return w.Queue.MarkMailDead(ctx, row.ID, row.Attempts, "malformed payload: "+err.Error())
		})
	}

	// Age counts from when the message was meant to go: its Date, which
	// for a reminder queued weeks ahead is its due time.
	since := row.CreatedAt
	if msg.Date.After(since) {
		since = msg.Date
	}
	return w.outcome(ctx, row, log, since, w.Sender.Send(ctx, msg), sent)
}

// deliver hands row to d. A Deliverer that panics (on a server's answer
// nobody foresaw) fails this attempt as a temporary error, retried and in
// the end dead-lettered, instead of taking the process down, and with it
// every other row, on each restart.
func deliver(ctx context.Context, d Deliverer, row leads.OutboxMessage) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("mailer: %s delivery panicked: %v", row.Kind, v)
		}
	}()
	return d.Deliver(ctx, row)
}

// outcome records the result of one attempt at row, meant to go at since:
// sent (in sent, with the batch's others), dead-lettered (a permanent
// failure, or temporary ones for longer than MaxAge) or due again after a
// backoff.
func (w *Worker) outcome(ctx context.Context, row leads.OutboxMessage, log *slog.Logger, since time.Time, sendErr error, sent *sentMarks) error {
	result := func(outcome string) {
		if w.Result != nil {
			w.Result(outcome)
		}
	}
	if sendErr == nil {
		log.Debug("mailer: sent")
		result(ResultSent)
		sent.add(row)
		return nil
	}

	if code, esc := SMTPCode(sendErr); code != 0 || esc != "" {
		log = log.With("smtp_code", code, "smtp_status", esc)
	}
	log = log.With("err", safeError(sendErr))
	reason := sendErr.Error()
	if Permanent(sendErr) {
		log.Warn("mailer: permanent failure, dead-lettered")
		result(ResultDead)
		return w.mark(ctx, sent, func(ctx context.Context) error { return w.Queue.MarkMailDead(ctx, row.ID, row.Attempts, reason) })
	}
	now := w.now()
	if maxAge := orDefault(w.MaxAge, DefaultMaxAge); !since.IsZero() && now.Sub(since) > maxAge {
		log.Warn("mailer: temporary failures for longer than the maximum age, dead-lettered",
			"max_age", maxAge.String())
		result(ResultDead)
		return w.mark(ctx, sent, func(ctx context.Context) error {
			return w.Queue.MarkMailDead(ctx, row.ID, row.Attempts, "gave up after "+maxAge.String()+": "+reason)
		})
	}
	delay := w.backoff(row.Attempts)
	log.Warn("mailer: temporary failure, will retry", "retry_in", delay.String())
	result(ResultRetry)
	return w.mark(ctx, sent, func(ctx context.Context) error {
		return w.Queue.MarkMailRetry(ctx, row.ID, row.Attempts, now.Add(delay), reason)
	})
}

// mark writes one failure's outcome with f, after the batch's pending sent
// marks: those wait for nothing else.
func (w *Worker) mark(ctx context.Context, sent *sentMarks, f func(context.Context) error) error {
	flushErr := sent.flush()
	ctx, cancel := context.WithTimeout(ctx, markTimeout)
	defer cancel()
	return errors.Join(flushErr, f(ctx))
}

// backoff returns the wait after the given number of attempts (1 for the
// first), as documented on Worker.
func (w *Worker) backoff(attempts int) time.Duration {
	return Backoff(attempts, orDefault(w.BaseDelay, DefaultBaseDelay), orDefault(w.MaxDelay, DefaultMaxDelay), w.Rand)
}

// Backoff returns min(maxDelay, base*2^(attempts-1)) * (0.5 + r()/2): an
// exponential delay with equal jitter. r is math/rand/v2's Float64 when
// nil.
func Backoff(attempts int, base, maxDelay time.Duration, r func() float64) time.Duration {
	if r == nil {
		r = rand.Float64
	}
	d := base
	for i := 1; i < attempts && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	f := min(max(r(), 0), 1)
	return time.Duration(float64(d) * (0.5 + f/2))
}
