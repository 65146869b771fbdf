package mailer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Direct defaults.
const (
	DefaultDirectQueue       = 1000
	DefaultDirectAttempts    = 10
	DefaultDirectBaseDelay   = 2 * time.Second
	DefaultDirectMaxDelay    = 5 * time.Minute
	defaultDirectSendTimeout = 2 * time.Minute
)

// Direct sends messages without the outbox, for the fallback path taken
// when the database itself failed. Messages wait in a bounded in-memory
// queue and one goroutine delivers them, retrying temporary failures with
// backoff. It never drops a message silently: one it gives up on (queue
// full, permanent failure, too many attempts, or Close running out of
// time) is logged as an error with its Message-ID, the only detail of a
// message that is safe to log.
//
// Set the fields before the first Send; zero values take the defaults.
type Direct struct {
	Sender Sender
	Logger *slog.Logger

	QueueSize   int            // DefaultDirectQueue when zero
	MaxAttempts int            // DefaultDirectAttempts when zero
	BaseDelay   time.Duration  // DefaultDirectBaseDelay when zero
	MaxDelay    time.Duration  // DefaultDirectMaxDelay when zero
	Rand        func() float64 // jitter; math/rand/v2 when nil

	once      sync.Once
	abortOnce sync.Once
	mu        sync.Mutex
	pending   []*directItem
	closing   bool
	notify    chan struct{} // a message was added, or Close was called
	abort     chan struct{} // Close's context ended: give up on the rest
	stop      context.CancelFunc
	ctx       context.Context // cancelled with abort, to cut a send short
	done      chan struct{}   // the delivery goroutine has returned
}

type directItem struct {
	msg      *Message
	attempts int
	next     time.Time
}

// NewDirect returns a Direct that delivers through s and logs to logger
// (slog.Default() when nil).
func NewDirect(s Sender, logger *slog.Logger) *Direct {
	return &Direct{Sender: s, Logger: logger}
}

func (d *Direct) start() {
	d.once.Do(func() {
		if d.Logger == nil {
			d.Logger = slog.Default()
		}
		d.notify = make(chan struct{}, 1)
		d.abort = make(chan struct{})
		d.done = make(chan struct{})
		d.ctx, d.stop = context.WithCancel(context.Background())
		go d.loop()
	})
}

func (d *Direct) signal() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Send queues messages for delivery and returns at once.
func (d *Direct) Send(msgs ...*Message) {
	d.start()
	d.mu.Lock()
	defer d.mu.Unlock()
	size := orDefault(d.QueueSize, DefaultDirectQueue)
	for _, m := range msgs {
		if m == nil {
			continue
		}
		switch {
		case d.closing:
			d.Logger.Error("mailer: direct: not sent, mailer is stopping", "message_id", m.MessageID)
		case len(d.pending) >= size:
			d.Logger.Error("mailer: direct: not sent, queue full", "message_id", m.MessageID, "queue", size)
		default:
			d.pending = append(d.pending, &directItem{msg: m})
		}
	}
	d.signal()
}

// Close stops taking messages and waits until every queued one is
// delivered or given up, or until ctx ends; then the rest are logged as
// not sent and ctx's error is returned.
func (d *Direct) Close(ctx context.Context) error {
	d.start()
	d.mu.Lock()
	d.closing = true
	d.mu.Unlock()
	d.signal()
	select {
	case <-d.done:
		d.stop()
		return nil
	case <-ctx.Done():
		d.abortOnce.Do(func() { close(d.abort) })
		d.stop()
		<-d.done
		return fmt.Errorf("mailer: direct: close: %w", ctx.Err())
	}
}

func (d *Direct) loop() {
	defer close(d.done)
	for {
		item, wait, stop := d.nextDue()
		if stop {
			return
		}
		if item == nil {
			t := time.NewTimer(wait)
			select {
			case <-d.notify:
			case <-t.C:
			case <-d.abort:
				t.Stop()
				d.giveUpAll()
				return
			}
			t.Stop()
			continue
		}
		d.deliver(item)
		select {
		case <-d.abort:
			d.giveUpAll()
			return
		default:
		}
	}
}

// nextDue removes and returns the first due message, or says how long to
// wait for one; stop is true when closing with nothing left.
func (d *Direct) nextDue() (item *directItem, wait time.Duration, stop bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pending) == 0 {
		return nil, time.Hour, d.closing
	}
	now := time.Now()
	wait = time.Hour
	for i, it := range d.pending {
		if !it.next.After(now) {
			d.pending = append(d.pending[:i], d.pending[i+1:]...)
			return it, 0, false
		}
		wait = min(wait, it.next.Sub(now))
	}
	return nil, wait, false
}

func (d *Direct) deliver(it *directItem) {
	it.attempts++
	ctx, cancel := context.WithTimeout(d.ctx, defaultDirectSendTimeout)
	err := d.Sender.Send(ctx, it.msg)
	cancel()
	if err == nil {
		d.Logger.Info("mailer: direct: sent", "message_id", it.msg.MessageID, "attempt", it.attempts)
		return
	}
	code, esc := SMTPCode(err)
	log := d.Logger.With("message_id", it.msg.MessageID, "attempt", it.attempts,
		"smtp_code", code, "smtp_status", esc, "err", safeError(err))
	if Permanent(err) {
		log.Error("mailer: direct: not sent, permanent failure")
		return
	}
	if it.attempts >= orDefault(d.MaxAttempts, DefaultDirectAttempts) {
		log.Error("mailer: direct: not sent, too many attempts")
		return
	}
	delay := Backoff(it.attempts, orDefault(d.BaseDelay, DefaultDirectBaseDelay),
		orDefault(d.MaxDelay, DefaultDirectMaxDelay), d.Rand)
	it.next = time.Now().Add(delay)
	log.Warn("mailer: direct: temporary failure, will retry", "retry_in", delay.String())
	d.mu.Lock()
	d.pending = append(d.pending, it)
	d.mu.Unlock()
}

func (d *Direct) giveUpAll() {
	d.mu.Lock()
	rest := d.pending
	d.pending = nil
	d.mu.Unlock()
	for _, it := range rest {
		d.Logger.Error("mailer: direct: not sent, mailer stopped", "message_id", it.msg.MessageID,
			"attempts", it.attempts)
	}
}
