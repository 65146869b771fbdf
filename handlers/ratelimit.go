package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"
)

// limiter decides whether a client address may POST again, and if not,
// how long it should wait.
type limiter interface {
	allow(ctx context.Context, addr string, now time.Time) (bool, time.Duration)
}

// HitCounter counts hits per key and window in the database (leads.Store).
type HitCounter interface {
	CountHit(ctx context.Context, key string, window time.Duration) (hits int, reset time.Duration, err error)
}

// sharedLimiter counts each address's POSTs per minute in the database, so
// that several instances behind one proxy enforce one limit together
// rather than one each. Addresses are stored as a keyed hash, not as they
// are.
type sharedLimiter struct {
	hits      HitCounter
	perMinute int
	key       []byte
	log       *slog.Logger
}

func (l *sharedLimiter) allow(ctx context.Context, addr string, _ time.Time) (bool, time.Duration) {
	mac := hmac.New(sha256.New, l.key)
	mac.Write([]byte("rate:" + addr))
	n, reset, err := l.hits.CountHit(ctx, hex.EncodeToString(mac.Sum(nil)[:16]), time.Minute)
	if err != nil {
		// Without its counter the limit cannot be told; the submission
		// itself still goes to the same database and fails there if it
		// is down. Refusing would lose a visitor for nothing.
		l.log.WarnContext(ctx, "rate limit: count", "err", err)
		return true, 0
	}
	return n <= l.perMinute, reset
}

// rateLimiter is the limiter of one process: a token bucket per client address: perMinute requests a
// minute on average, with bursts up to perMinute. Buckets that have refilled
// completely carry no information and are dropped by a periodic sweep, so
// memory is bounded by the number of recently active clients.
type rateLimiter struct {
	perMinute float64
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), buckets: map[string]*bucket{}}
}

// allow takes a token for key and reports whether there was one, and if not,
// how long until there will be.
func (l *rateLimiter) allow(_ context.Context, key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.perMinute, b.tokens+now.Sub(b.last).Minutes()*l.perMinute)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute))
	return false, wait
}

func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Minutes()*l.perMinute >= l.perMinute {
			delete(l.buckets, k)
		}
	}
}
