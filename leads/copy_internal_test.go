package leads

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// TestCopyCoversEveryTable holds copy's lists to the schema: a table added
// by a migration must be copied or named as left behind.
func TestCopyCoversEveryTable(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.Query(`SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'leads_fts%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	known := slices.Concat(copyTables, copySkip)
	slices.Sort(known)
	if !slices.Equal(tables, known) {
		t.Fatalf("schema tables %v\ncopy knows      %v", tables, known)
	}
}

// TestDialectsComplete checks that neither dialect leaves a field unset
// that the store calls or relies on; the fields whose zero value means
// "nothing to do on this engine" are listed.
func TestDialectsComplete(t *testing.T) {
	optional := map[string]bool{"skipLocked": true, "lockMigrations": true, "snapshot": true}
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		v := reflect.ValueOf(*d)
		for i := range v.NumField() {
			if name := v.Type().Field(i).Name; v.Field(i).IsZero() && !optional[name] {
				t.Errorf("%s dialect: %s is not set", d.name, name)
			}
		}
	}
}
