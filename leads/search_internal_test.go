package leads

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/leads/leadstest"
)

// TestAccentsMatchMigration holds the dialect's accent strings, which take
// the accents off a search's words, to the ones the PostgreSQL migration
// takes off the documents: the two must fold alike.
func TestAccentsMatchMigration(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("migrations", "postgres", "0002_staff.sql"))
	if err != nil {
		t.Fatal(err)
	}
	m := string(b)
	call := "'" + accented + "',\n\t\t\t'" + unaccented + "'"
	if !strings.Contains(m, call) {
		t.Errorf("migrations/postgres/0002_staff.sql's translate() does not take %q to %q", accented, unaccented)
	}
	if a, u := []rune(accented), []rune(unaccented); len(a) != len(u) {
		t.Errorf("%d accented letters, %d unaccented", len(a), len(u))
	}
}

// TestSearchFoldsAccents finds a lead with accents in its name by words
// typed with or without them, in either letter case, on both engines.
func TestSearchFoldsAccents(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, err := Open(ctx, db, Options{Now: func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, l := range []*Lead{
			{Name: "José Müller", Email: "jm@example.com", Company: "Ærø Ćevapi", Source: SourceContact, ConsentVersion: "v1"},
			{Name: "Joseph Mull", Email: "joseph@example.com", Source: SourceContact, ConsentVersion: "v1"},
		} {
			if _, err := s.CreateLead(ctx, l, nil); err != nil {
				t.Fatal(err)
			}
		}
		for q, want := range map[string][]string{
			"jose":        {"Joseph Mull", "José Müller"},
			"josé":        {"Joseph Mull", "José Müller"},
			"JOSÉ":        {"Joseph Mull", "José Müller"},
			"müll":        {"Joseph Mull", "José Müller"},
			"MÜLLER":      {"José Müller"},
			"muller":      {"José Müller"},
			"jose muller": {"José Müller"},
			"cevap":       {"José Müller"},
			"josef":       nil,
		} {
			p, err := s.ListLeads(ctx, LeadFilter{Query: q})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var got []string
			for _, l := range p.Leads {
				got = append(got, l.Name)
			}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("search %q found %q, want %q", q, got, want)
			}
		}
	})
}
