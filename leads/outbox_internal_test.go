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

// TestOutboxPlansAfterBurst holds the worker's claim and "sent" mark, and
// NextMailDue's walk of the head of the queue, to plans that read about
// as many rows as they change or return, where the
// statistics are from before a burst: the outbox is analysed empty, then
// 20,000 messages are queued at once. Both statements used to read every
// queued row there (a bitmap scan and a sort for the claim, the queue
// index for the mark). On PostgreSQL the plans are EXPLAIN ANALYZE'd on
// the bookkeeping pool, with the settings the worker's statements run
// with; SQLite's planner is held to the indexes it names.
func TestOutboxPlansAfterBurst(t *testing.T) {
	const burst, limit = 20000, 16
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, err := Open(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		now := time.Now().UTC()
		if s.Engine() == "postgres" {
			if _, err := s.w.ExecContext(ctx, `ANALYZE outbox`); err != nil {
				t.Fatal(err)
			}
		}
		for chunk := range burst / 2000 {
			var msgs []*OutboxMessage
			for i := range 2000 {
				msgs = append(msgs, &OutboxMessage{Kind: "lead_confirmation", Recipient: "v@example.com",
					MessageID: fmt.Sprintf("<burst-%d-%d@example.com>", chunk, i), Payload: []byte("{}")})
			}
			err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error { return insertOutboxRows(ctx, tx, now, msgs) })
			if err != nil {
				t.Fatal(err)
			}
		}
		claim := claimQuery(s.d)
		claimArgs := []any{formatTime(now.Add(time.Minute)), formatTime(now), formatTime(now), limit}
		mark := markQuery(s.d, limit)
		markArgs := []any{}
		for id := int64(1000); id < 1000+limit; id++ {
			markArgs = append(markArgs, id)
		}
		markArgs = append(markArgs, formatTime(now))
		for id := int64(1000); id < 1000+limit; id++ {
			markArgs = append(markArgs, id, 0)
		}

		if s.Engine() == "sqlite" {
			for _, c := range []struct {
				name, query string
				args        []any
				want        string
			}{
				{"claim", claim, claimArgs, "USING INDEX outbox_queue"},
				{"mark", mark, markArgs, "USING INTEGER PRIMARY KEY"},
				{"due", dueQuery, []any{dueWalk}, "USING INDEX outbox_queue"},
			} {
				plan := sqlitePlan(t, s, c.query, c.args)
				// A SCAN of the queue index in its order, stopped at the
				// limit, is the walk wanted; a scan of the table is not.
				if !strings.Contains(plan, c.want) || strings.Contains(plan, "SCAN outbox\n") || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("%s plan:\n%s\nwant %s, no scan of the outbox, no sort", c.name, plan, c.want)
				}
			}
			return
		}
		for _, c := range []struct {
			name, settings, query string
			args                  []any
			limit                 int
		}{{"claim", s.d.claimPlan, claim, claimArgs, limit}, {"mark", "", mark, markArgs, limit}, {"due", s.d.claimPlan, dueQuery, []any{dueWalk}, dueWalk}} {
			read, plan := postgresRowsRead(t, s, c.settings, c.query, c.args)
			if read > 4*c.limit {
				t.Errorf("%s read %d rows of the outbox for %d:\n%s", c.name, read, c.limit, plan)
			}
		}
	})
}

// sqlitePlan is EXPLAIN QUERY PLAN's text for query.
func sqlitePlan(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.w.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// postgresRowsRead runs query under EXPLAIN ANALYZE on the bookkeeping
// pool, after the statement settings (none when empty), in a transaction
// it rolls back, and sums the rows that the plan's scans of the outbox
// read, kept or thrown away.
func postgresRowsRead(t *testing.T, s *Store, settings, query string, args []any) (int, string) {
	t.Helper()
	tx, err := s.bk.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// The plan a prepared statement keeps after its first five runs.
	if _, err := tx.Exec(`SET LOCAL plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatal(err)
	}
	if settings != "" {
		if _, err := tx.Exec(settings); err != nil {
			t.Fatal(err)
		}
	}
	var out string
	if err := tx.QueryRow(`EXPLAIN (ANALYZE, FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal([]byte(out), &plans); err != nil {
		t.Fatal(err)
	}
	var read func(n planNode) int
	read = func(n planNode) int {
		r := 0
		if n.Relation == "outbox" && strings.Contains(n.Type, "Scan") {
			r += (n.Rows + n.Filtered + n.Rechecked) * max(n.Loops, 1)
		}
		for _, c := range n.Plans {
			r += read(c)
		}
		return r
	}
	return read(plans[0].Plan), out
}

type planNode struct {
	Type     string `json:"Node Type"`
	Relation string `json:"Relation Name"`
	Rows     int    `json:"Actual Rows"`
	Loops    int    `json:"Actual Loops"`
	// Filtered and Rechecked are the rows read and then thrown away.
	Filtered  int        `json:"Rows Removed by Filter"`
	Rechecked int        `json:"Rows Removed by Index Recheck"`
	Plans     []planNode `json:"Plans"`
}
