package main

import (
	"path/filepath"
	"strings"
	"testing"

	"leadbook/leads/leadstest"
)

// TestCopyCommand moves a SQLite database with a staff account and an
// audit trail to PostgreSQL with `leadbook copy`, then runs the CLI on the
// copy: the account is there and the audit chain verifies.
func TestCopyCommand(t *testing.T) {
	sqlite := filepath.Join(t.TempDir(), "leadbook.db")
	if _, err := cli(t, sqlite, "a long passphrase here\n", "staff", "add", "dana@example.com", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	pg := leadstest.Postgres(t)
	out, err := cli(t, sqlite, "", "copy", "--to", pg)
	if err != nil || !strings.Contains(out, "staff                1 rows") || !strings.Contains(out, "audit chain verified on the copy: 1 entries") {
		t.Fatalf("copy: %q %v", out, err)
	}
	if out, err := cli(t, pg, "", "staff", "list"); err != nil || !strings.Contains(out, "dana@example.com") {
		t.Fatalf("staff list on the copy: %q %v", out, err)
	}
	if out, err := cli(t, pg, "", "audit", "verify"); err != nil || !strings.Contains(out, "intact: 1 entries") {
		t.Fatalf("audit verify on the copy: %q %v", out, err)
	}
	if _, err := cli(t, sqlite, "", "copy", "--to", pg); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("copy into a full database: %v", err)
	}
	_, err = cli(t, pg, "", "backup", filepath.Join(t.TempDir(), "b.db"))
	if err == nil || !strings.Contains(err.Error(), "pg_dump --format=custom") {
		t.Fatalf("backup on PostgreSQL: %v", err)
	}
}
