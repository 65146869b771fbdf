package leads_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// TestBackupWhileWriting is SQLite only: the backup is SQLite's VACUUM
// INTO (PostgreSQL is backed up with pg_dump; TestSizeAndBackupAdvice).
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, leadstest.DB(t, "sqlite"), newClock())
	for i := 0; i < 20; i++ {
		if _, err := s.CreateLead(ctx, &leads.Lead{Name: "Ada", Email: "ada@example.com", Source: leads.SourceContact, ConsentVersion: "v1"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 50 && err == nil; i++ {
			_, err = s.CreateLead(ctx, &leads.Lead{Name: "Bo", Email: "bo@example.com", Source: leads.SourceContact, ConsentVersion: "v1"}, nil)
		}
		done <- err
	}()
	dst := filepath.Join(t.TempDir(), "copy.db")
	rep, err := leads.Backup(ctx, s.Path(), dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rep.Integrity != "ok" {
		t.Fatalf("integrity %q", rep.Integrity)
	}
	var nLeads int64 = -1
	for _, tc := range rep.Tables {
		if tc.Table == "leads" {
			nLeads = tc.Rows
		}
	}
	if nLeads < 20 || nLeads > 70 {
		t.Fatalf("leads in copy: %d (tables %+v)", nLeads, rep.Tables)
	}
	if _, err := leads.Backup(ctx, s.Path(), dst); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
}

// TestMaxPageCountGivesFull is SQLite only: max_page_count is a SQLite
// pragma, the drill of a full disk that PostgreSQL has no cap for.
func TestMaxPageCountGivesFull(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, leadstest.DB(t, "sqlite"), newClock())
	got, err := s.SetMaxPageCount(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1900)
	var full error
	for i := 0; i < 200 && full == nil; i++ {
		_, full = s.CreateLead(ctx, &leads.Lead{Name: "Ada", Email: "ada@example.com", Message: big, Source: leads.SourceContact, ConsentVersion: "v1"}, nil)
	}
	if !leads.IsFull(full) {
		t.Fatalf("cap %d: want SQLITE_FULL, got %v", got, full)
	}
	if _, err := s.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLead(ctx, &leads.Lead{Name: "Ada", Email: "ada@example.com", Source: leads.SourceContact, ConsentVersion: "v1"}, nil); err != nil {
		t.Fatalf("after lifting the cap: %v", err)
	}
	if n, err := s.Size(context.Background()); err != nil || n == 0 {
		t.Fatalf("size %d, %v", n, err)
	}
}

// TestSizeAndBackupAdvice: both engines report a size, and on PostgreSQL
// a backup is refused with the pg_dump line to run instead, without the
// URL's password.
func TestSizeAndBackupAdvice(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		if _, err := s.CreateLead(ctx, validLead(), nil); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Size(ctx); err != nil || n == 0 {
			t.Fatalf("size %d, %v", n, err)
		}
		if s.Engine() != "postgres" {
			return
		}
		u, err := url.Parse(db)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("someone", "hunter2secret")
		_, err = leads.Backup(ctx, u.String(), filepath.Join(t.TempDir(), "copy.dump"))
		if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), "hunter2secret") {
			t.Fatalf("backup of a PostgreSQL database: %v", err)
		}
	})
}
