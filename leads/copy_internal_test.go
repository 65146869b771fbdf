package leads

import (
	"context"
	"reflect"
	"slices"
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
// that the store calls or relies on; the fields whose zero value means
// "nothing to do on this engine" are listed.
func TestDialectsComplete(t *testing.T) {
	optional := map[string]bool{"skipLocked": true, "lockMigrations": true, "snapshot": true, "relaxCommit": true}
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		v := reflect.ValueOf(*d)
		for i := range v.NumField() {
			if name := v.Type().Field(i).Name; v.Field(i).IsZero() && !optional[name] {
				t.Errorf("%s dialect: %s is not set", d.name, name)
			}
		}
	}
}
