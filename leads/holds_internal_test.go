package leads

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"leadbook/leads/leadstest"
)

// TestReleaseHoldsPlan holds the release of expired holds, which runs
// before every booking, to its index of pending holds, where the
// statistics are from before the table filled (as after a burst of
// bookings on a new site): 1,500 calls booked outright and 1,500 holds
// released before. The old index kept every hold ever made, released
// ones too, and on PostgreSQL the release was planned as an AND with the
// exclusion constraint's index of every confirmed call, which it read
// whole. A pending hold past its time is still released.
//
// VACUUM on PostgreSQL stands for autovacuum: the holds released in the
// test's transaction leave the new index's entries of their old row
// versions, which a vacuum removes.
func TestReleaseHoldsPlan(t *testing.T) {
	const n = 1500
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, err := Open(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s.Engine() == "postgres" {
			if _, err := s.w.ExecContext(ctx, `ANALYZE bookings`); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC().Truncate(time.Minute)
		first := now.Add(48 * time.Hour)
		book := func(ctx context.Context, tx *sql.Tx, i int, hold time.Time) error {
			start := first.Add(time.Duration(i) * 5 * time.Minute)
			nb := &NewBooking{Lead: Lead{Name: "Visitor", Email: "visitor@example.com", Source: "booking"}, Start: start, End: start.Add(5 * time.Minute),
				Timezone: "UTC", UID: fmt.Sprintf("hold-%d@example.com", i), TokenHash: fmt.Sprintf("hash-%d", i), HoldUntil: hold}
			_, _, err := writeBooking(ctx, tx, nb, now, nil, nil)
			return err
		}
		err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for i := range n {
				if err := book(ctx, tx, i, now.Add(-time.Hour)); err != nil {
					return err
				}
			}
			if released, err := releaseExpiredHolds(ctx, tx, now); err != nil || released != n {
				return fmt.Errorf("released %d of %d holds: %v", released, n, err)
			}
			for i := n; i < 2*n; i++ {
				if err := book(ctx, tx, i, time.Time{}); err != nil {
					return err
				}
			}
			return book(ctx, tx, 2*n, now.Add(time.Minute)) // pending
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Engine() == "postgres" {
			// The released holds' old row versions go, as autovacuum
			// takes them; the statistics stay those of the empty table.
			if _, err := s.w.ExecContext(ctx, `VACUUM bookings`); err != nil {
				t.Fatal(err)
			}
		}
		args := []any{formatTime(now), formatTime(now), formatTime(now)}
		if s.Engine() == "sqlite" {
			if plan := sqlitePlan(t, s, releaseHolds, args); !strings.Contains(plan, "USING INDEX bookings_pending_holds") {
				t.Errorf("release plan:\n%s\nwant a search of bookings_pending_holds", plan)
			}
		} else if blocks, plan := postgresBlocks(t, s, releaseHolds, args); blocks > 10 {
			t.Errorf("the release read %d blocks to release none:\n%s", blocks, plan)
		}
		var released int
		err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			released, err = releaseExpiredHolds(ctx, tx, now.Add(2*time.Minute))
			return err
		})
		if err != nil || released != 1 {
			t.Fatalf("released %d holds after the pending one ran out, want 1: %v", released, err)
		}
	})
}

// postgresBlocks runs query under EXPLAIN (ANALYZE, BUFFERS) with the
// plan a prepared statement keeps after its first five runs, in a
// transaction it rolls back, and returns the shared blocks it touched.
func postgresBlocks(t *testing.T, s *Store, query string, args []any) (int, string) {
	t.Helper()
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	var out string
	if err := tx.QueryRow(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct {
		Plan struct {
			Hit  int `json:"Shared Hit Blocks"`
			Read int `json:"Shared Read Blocks"`
		}
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil {
		t.Fatal(err)
	}
	return plans[0].Plan.Hit + plans[0].Plan.Read, out
}
