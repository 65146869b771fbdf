package leads_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
)

// assertNowhere fails when any TEXT column of any table holds needle, in
// any letter case.
func assertNowhere(t *testing.T, path, needle string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	checked := 0
	for _, table := range tables {
		cols, err := db.Query(`SELECT name, type FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var text []string
		for cols.Next() {
			var name, typ string
			cols.Scan(&name, &typ)
			if typ == "" || strings.Contains(strings.ToUpper(typ), "TEXT") {
				text = append(text, name)
			}
		}
		cols.Close()
		for _, col := range text {
			var n int
			q := fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE instr(lower(CAST("%s" AS TEXT)), lower(?)) > 0`, table, col)
			if err := db.QueryRow(q, needle).Scan(&n); err != nil {
				t.Fatalf("%s.%s: %v", table, col, err)
			}
			checked++
			if n != 0 {
				t.Errorf("%s.%s: %d rows still hold %q", table, col, n, needle)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d columns checked", checked)
	}
}

func TestEraseEmailAndRetention(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, path := openStaffStore(t, c)
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
	assertNowhere(t, path, "erase.me@example.com")
	// Nor in the bytes of the files: secure_delete zeroed the freed
	// content and the WAL was checkpointed and truncated.
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte("erase.me@example.com")) {
			t.Errorf("%s still holds the erased address in its bytes", filepath.Base(f))
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
}

func TestListLeadsSearchAndPaging(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s, _ := openStaffStore(t, c)
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
}
