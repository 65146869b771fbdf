package leads

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"leadbook/leads/leadstest"
)

// TestCopyCoversEveryTable holds copy's lists to the schema on both
// engines: a table added by a migration must be copied or named as left
// behind (and exist on both, or the copy has nowhere to put it).
func TestCopyCoversEveryTable(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		s, err := Open(context.Background(), db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		tables := `SELECT name FROM sqlite_master WHERE type = 'table'
			AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'leads_fts%' ORDER BY name`
		if s.Engine() == "postgres" {
			tables = `SELECT table_name FROM information_schema.tables
				WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
		}
		rows, err := s.r.Query(tables)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		known := slices.Concat(copyTables, copySkip)
		slices.Sort(known)
		if !slices.Equal(got, known) {
			t.Fatalf("schema tables %v\ncopy knows      %v", got, known)
		}
	})
}

// TestDialectsComplete checks that neither dialect leaves a field unset
// that the store calls or relies on. The fields whose zero value means
// "nothing to do on this engine" are listed for SQLite, whose one writer
// orders every write; PostgreSQL, where several instances write at once,
// must set every field (an unset forUpdate would lock no row there).
func TestDialectsComplete(t *testing.T) {
	optional := map[*dialect]map[string]bool{
		sqliteDialect: {"skipLocked": true, "forUpdate": true, "lockMigrations": true, "lockAddresses": true, "snapshot": true, "relaxed": true, "claimPlan": true,
			"gatherLeads": true, "gatherBookings": true},
		postgresDialect: {},
	}
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		v := reflect.ValueOf(*d)
		for i := range v.NumField() {
			if name := v.Type().Field(i).Name; v.Field(i).IsZero() && !optional[d][name] {
				t.Errorf("%s dialect: %s is not set", d.name, name)
			}
		}
	}
}

// TestRebindCacheBounded rewrites more distinct query texts than the
// cache holds (as erasures' id lists make): the cache stops at its bound,
// and the texts past it are still rewritten right.
func TestRebindCacheBounded(t *testing.T) {
	for i := range reboundMax + 100 {
		q := "DELETE FROM leads WHERE id IN (" + strconv.Itoa(i) + ") AND email = ? AND name = ?1"
		want := "DELETE FROM leads WHERE id IN (" + strconv.Itoa(i) + ") AND email = $1 AND name = $1"
		if got := rebind(q); got != want {
			t.Fatalf("rebind(%q) = %q", q, got)
		}
	}
	if n := reboundSize.Load(); n > reboundMax {
		t.Fatalf("the rebind cache holds %d texts, more than its bound %d", n, reboundMax)
	}
	if got := rebind(`SELECT '?' , "a?b", ? -- what?`); got != `SELECT '?' , "a?b", $1 -- what?` {
		t.Fatalf("quoted and commented question marks: %q", got)
	}
}
