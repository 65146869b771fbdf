package leads

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// versionTTL is how long a dbVersion trusts the version it last read from
// the database: a change made on another instance shows in this one's
// cached answers within about that long.
const versionTTL = time.Second

// dbVersion follows a version row in the database that every instance
// raises with its writes (the calendar's, the booking settings'), so that
// callers can cache what they derive from those rows: the newest version
// seen, read again at most once per versionTTL, with this process's own
// writes shown at once.
type dbVersion struct {
	v      atomic.Uint64 // the newest version seen
	readAt atomic.Int64  // when it was last read, Unix ns
	mu     sync.Mutex    // one reader at a time
}

// get returns the newest version seen, reading it from db with query (the
// SELECT of the version row) when the last
// read is older than versionTTL and no other reader is at it. A failed
// read keeps the last version and tries again next time: cached answers
// may lag meanwhile, but every write checks what it rests on in its own
// transaction.
func (d *dbVersion) get(db *sql.DB, query string) uint64 {
	now := time.Now().UnixNano()
	if now-d.readAt.Load() < int64(versionTTL) || !d.mu.TryLock() {
		return d.v.Load()
	}
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var v int64
	if err := db.QueryRowContext(ctx, query).Scan(&v); err != nil {
		return d.v.Load()
	}
	d.readAt.Store(now)
	return d.raise(uint64(v))
}

// raise records a version seen in the database. Versions only grow, so
// the newest one seen wins whatever order the reads and writes of this
// process finish in.
func (d *dbVersion) raise(v uint64) uint64 {
	for {
		cur := d.v.Load()
		if v <= cur {
			return cur
		}
		if d.v.CompareAndSwap(cur, v) {
			return v
		}
	}
}
