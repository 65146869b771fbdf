package leads

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CountHit counts one hit of key in the current window of the given
// length (windows start at multiples of it) and returns the window's hits
// so far and how long until the next window starts. It is the shared
// counter behind limits that several instances must enforce together.
// Keys should not be personal data: callers pass a keyed hash of the
// client's address.
func (s *Store) CountHit(ctx context.Context, key string, window time.Duration) (hits int, reset time.Duration, err error) {
	now := s.now()
	start := now.Truncate(window)
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO rate_counts (key, window_start, hits) VALUES (?, ?, 1)
			ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_counts.hits + 1
			RETURNING hits`, key, formatTime(start)).Scan(&hits)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("leads: count hit: %w", err)
	}
	return hits, start.Add(window).Sub(now), nil
}

// PruneHits deletes the counts of windows that started before before.
func (s *Store) PruneHits(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM rate_counts WHERE window_start < ?`, formatTime(before))
		if err != nil {
			return fmt.Errorf("leads: prune hits: %w", err)
		}
		n = affected(res)
		return nil
	})
	return n, err
}
