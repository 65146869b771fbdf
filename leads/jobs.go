package leads

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TakeTurn reports whether holder may run the periodic job now: it may
// when no instance has run the job in the last interval, and then the
// turn is holder's until interval from now. It runs in a short
// transaction of its own, so however many instances call it each minute,
// the job runs once per interval in all (and the jobs are idempotent, so a
// turn cut short by a crash is simply run again after it).
func (s *Store) TakeTurn(ctx context.Context, job, holder string, interval time.Duration) (bool, error) {
	var got bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		var h string
		err := tx.QueryRowContext(ctx, `INSERT INTO job_leases (name, holder, lease_until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
			WHERE job_leases.lease_until <= ?
			RETURNING holder`, job, holder, formatTime(now.Add(interval)), formatTime(now)).Scan(&h)
		switch {
		case isNoRows(err):
			got = false
		case err != nil:
			return fmt.Errorf("leads: take turn of %s: %w", job, err)
		default:
			got = h == holder
		}
		return nil
	})
	return got, err
}
