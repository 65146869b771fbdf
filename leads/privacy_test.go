package leads_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// assertNowhere fails when any text column of any table holds needle, in
// any letter case.
func assertNowhere(t *testing.T, db, needle string) {
	t.Helper()
	raw := leadstest.Raw(t, db)
	// Every table's text columns: SQLite's declared TEXT (or untyped)
	// ones, PostgreSQL's of type text.
	columns := `SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND (c.type = '' OR upper(c.type) LIKE '%TEXT%')`
	if leadstest.IsPostgres(db) {
		columns = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type = 'text'`
	}
	rows, err := raw.Query(columns)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, [2]string{table, col})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	checked := 0
	for _, tc := range cols {
		var n int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE lower(CAST("%s" AS TEXT)) LIKE '%%' || lower($1) || '%%'`, tc[0], tc[1])
		if err := raw.QueryRow(q, needle).Scan(&n); err != nil {
			t.Fatalf("%s.%s: %v", tc[0], tc[1], err)
		}
		checked++
		if n != 0 {
			t.Errorf("%s.%s: %d rows still hold %q", tc[0], tc[1], n, needle)
		}
	}
	if checked < 20 {
		t.Fatalf("only %d columns checked", checked)
	}
}

func TestEraseEmailAndRetention(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s := openStaffStore(t, db, c)
		mk := func(email, msg string) *leads.Lead {
			l := &leads.Lead{Name: "Person", Email: email, Message: msg, Source: leads.SourceContact, ConsentVersion: "v1"}
			if _, err := s.CreateLead(ctx, l, fixed(leads.OutboxMessage{Kind: "lead_confirmation", Recipient: email,
				MessageID: "<" + email + "@x>", Payload: []byte(`{"to":"` + email + `"}`)})); err != nil {
				t.Fatal(err)
			}
			return l
		}
		mk("Erase.Me@example.com", "hello")
		mk("other@example.com", "my colleague is erase.me@EXAMPLE.com, write to her")
		start := c.Now().Add(48 * time.Hour)
		nb := newBooking(start, "erase.me@example.com", "uid-erase")
		if _, _, err := s.CreateBooking(ctx, nb, nil, bookingMail); err != nil {
			t.Fatal(err)
		}
		s.HoldSpam(ctx, &leads.Spam{Form: "contact", Reason: "honeypot", Email: " Erase.Me@EXAMPLE.com", Payload: []byte(`{"email":"erase.me@example.com"}`)})

		var cancelled int
		er, err := s.EraseEmail(ctx, "erase.me@example.com", leads.Actor{Kind: "staff", ID: 1}, func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
			if b.Live() {
				t.Error("compose saw a live booking")
			}
			cancelled++
			return []leads.OutboxMessage{{Kind: "invitation", Recipient: b.Email, MessageID: "<cancel@x>", Payload: []byte("METHOD:CANCEL " + b.Email)}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if cancelled != 1 || er.Status != "pending" || er.Counts.Leads != 2 || er.Counts.Mentions != 1 || er.Counts.Spam != 1 {
			t.Fatalf("erasure %+v, cancellations composed %d", er, cancelled)
		}
		// The cancellation waits in the outbox; the erasure finishes once it
		// was sent.
		if n, _ := s.FinishErasures(ctx); n != 0 {
			t.Fatal("finished with a cancellation still queued")
		}
		msgs, err := s.ClaimMail(ctx, time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if strings.Contains(string(m.Payload), "METHOD:CANCEL") {
				s.MarkMailSent(ctx, m.ID, m.Attempts)
			}
		}
		if n, err := s.FinishErasures(ctx); err != nil || n != 1 {
			t.Fatalf("FinishErasures = %d, %v", n, err)
		}
		assertNowhere(t, db, "erase.me@example.com")
		// Nor in the bytes of the files: secure_delete zeroed the freed
		// content and the WAL was checkpointed and truncated. (SQLite only:
		// PostgreSQL's files are the server's, and its dead tuples go at the
		// next vacuum.)
		if !leadstest.IsPostgres(db) {
			for _, f := range []string{db, db + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if bytes.Contains(bytes.ToLower(b), []byte("erase.me@example.com")) {
					t.Errorf("%s still holds the erased address in its bytes", filepath.Base(f))
				}
			}
		}
		if n, err := s.VerifyAudit(ctx); err != nil || n < 2 {
			t.Fatalf("audit %d %v", n, err)
		}

		// Retention: the other lead goes once it is old enough.
		if n, err := s.PurgeExpired(ctx, 30); err != nil || n != 0 {
			t.Fatalf("purge of fresh leads = %d, %v", n, err)
		}
		c.Add(31 * 24 * time.Hour)
		if n, err := s.PurgeExpired(ctx, 30); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		if n, _ := s.CountLeads(ctx); n != 0 {
			t.Fatalf("%d leads left", n)
		}
	})
}

func TestListLeadsSearchAndPaging(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s := openStaffStore(t, db, c)
		for i := 0; i < 7; i++ {
			c.Add(time.Hour)
			name := fmt.Sprintf("Person %d", i)
			if i%2 == 0 {
				name = fmt.Sprintf("Ada Lovelace %d", i)
			}
			if _, err := s.CreateLead(ctx, &leads.Lead{Name: name, Email: fmt.Sprintf("p%d@example.com", i), Company: "Engines Ltd",
				Source: leads.SourceContact, ConsentVersion: "v1"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.ListLeads(ctx, leads.LeadFilter{Limit: 3})
		if err != nil || len(p.Leads) != 3 || p.Leads[0].Name != "Ada Lovelace 6" || p.Next == "" {
			t.Fatalf("first page %+v %v", p, err)
		}
		p2, _ := s.ListLeads(ctx, leads.LeadFilter{Limit: 3, Before: p.Next})
		if len(p2.Leads) != 3 || p2.Leads[0].Name != "Person 3" {
			t.Fatalf("second page %+v", p2)
		}
		for q, want := range map[string]int{"ada": 4, "LOVE": 4, "ada lov": 4, "p3": 1, "p3@example.com": 1, "engin": 7, "nobody": 0, `"); DROP`: 0, "***": 0} {
			p, err := s.ListLeads(ctx, leads.LeadFilter{Query: q})
			if err != nil || len(p.Leads) != want {
				t.Errorf("search %q: %d leads, %v; want %d", q, len(p.Leads), err, want)
			}
		}
		from := newClock().Now().Add(2*time.Hour + time.Minute)
		p, _ = s.ListLeads(ctx, leads.LeadFilter{From: from, To: from.Add(2 * time.Hour)})
		if len(p.Leads) != 2 {
			t.Fatalf("date filter: %d leads", len(p.Leads))
		}
	})
}
