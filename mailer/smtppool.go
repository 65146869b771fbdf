package mailer

import (
	"errors"
	"sync"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// How long an SMTPSender keeps a session. Postfix keeps an idle one for 2 s
// and reuses one for up to 300 s; a server drops an idle client after 5
// minutes at the earliest (RFC 5321, 4.5.3.2.7). A few seconds carry a
// burst of mail over one connection and close it soon after.
const (
	sessionIdle   = 5 * time.Second
	sessionMaxAge = 5 * time.Minute
	// sessionsKept bounds the idle sessions: the worker's deliveries at
	// once, and the fallback mail's.
	sessionsKept = DefaultConcurrency + 2
)

// session is one open SMTP connection, logged in, between messages.
type session struct {
	c      *smtp.Client
	opened time.Time
	used   time.Time // when its last message was sent
}

// sessionPool holds the idle sessions of an SMTPSender, the most recently
// used last. A timer closes those idle for sessionIdle.
type sessionPool struct {
	idleFor time.Duration // sessionIdle when zero (tests shorten it)

	mu     sync.Mutex
	idle   []*session
	timer  *time.Timer
	closed bool
}

func (p *sessionPool) idleLimit() time.Duration { return orDefault(p.idleFor, sessionIdle) }

// fresh reports whether sess may send another message at now.
func (p *sessionPool) fresh(sess *session, now time.Time) bool {
	return now.Sub(sess.used) < p.idleLimit() && now.Sub(sess.opened) < sessionMaxAge
}

// get takes the most recently used idle session that is still fresh, or
// returns nil; stale ones it passes are closed.
func (p *sessionPool) get(now time.Time) *session {
	p.mu.Lock()
	var stale []*session
	var sess *session
	for len(p.idle) > 0 && sess == nil {
		last := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if p.fresh(last, now) {
			sess = last
		} else {
			stale = append(stale, last)
		}
	}
	p.mu.Unlock()
	if len(stale) > 0 {
		go quit(stale) // not on the sender's time
	}
	return sess
}

// put hands back a session whose message was sent, used at now. Past
// sessionsKept, or after close, the session is closed instead.
func (p *sessionPool) put(sess *session, now time.Time) {
	sess.used = now
	p.mu.Lock()
	if p.closed || len(p.idle) >= sessionsKept || !p.fresh(sess, now) {
		p.mu.Unlock()
		_ = quit([]*session{sess})
		return
	}
	p.idle = append(p.idle, sess)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idleLimit(), p.prune)
	}
	p.mu.Unlock()
}

// prune closes the sessions idle for sessionIdle and sets the timer again
// for the oldest of the others.
func (p *sessionPool) prune() {
	now := time.Now()
	p.mu.Lock()
	var stale []*session
	keep := p.idle[:0]
	for _, sess := range p.idle {
		if p.fresh(sess, now) {
			keep = append(keep, sess)
		} else {
			stale = append(stale, sess)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.timer = nil
	if len(keep) > 0 && !p.closed {
		// keep[0] is the least recently used.
		p.timer = time.AfterFunc(max(keep[0].used.Add(p.idleLimit()).Sub(now), time.Millisecond), p.prune)
	}
	p.mu.Unlock()
	_ = quit(stale)
}

// close empties the pool for good and returns the idle sessions, for the
// caller to end.
func (p *sessionPool) close() []*session {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	idle := p.idle
	p.idle = nil
	return idle
}

// quitTimeout bounds the wait for the answer to QUIT.
const quitTimeout = 2 * time.Second

// quit ends sessions with QUIT, or closes their connections when the
// server does not answer in quitTimeout.
func quit(sessions []*session) error {
	var errs []error
	for _, sess := range sessions {
		err := sess.c.UpdateDeadline(quitTimeout)
		if err == nil {
			err = sess.c.Quit()
		}
		if err != nil {
			_ = sess.c.Close()
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
