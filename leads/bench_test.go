package leads_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"leadbook/leads"
)

// BenchmarkBareInsert is the reference for lead submissions: a loop of
// single-row INSERT transactions with the writer's settings
// (WAL, synchronous=FULL, immediate transactions), nothing else.
func BenchmarkBareInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bare.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_secure_delete=on&_stmt_cache_size=64")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, created_at TEXT, name TEXT, email TEXT, message TEXT)`); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (created_at, name, email, message) VALUES (?, ?, ?, ?)`,
			time.Now().UTC().Format(time.RFC3339Nano), "Ada", fmt.Sprintf("ada%d@example.com", i), "hello"); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCreateLead stores a lead with its two outbox rows per
// transaction, as a submission does.
func BenchmarkCreateLead(b *testing.B) {
	s, err := leads.Open(context.Background(), filepath.Join(b.TempDir(), "l.db"), leads.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l := &leads.Lead{Name: "Ada", Email: fmt.Sprintf("ada%d@example.com", i), Message: "hello",
			Source: leads.SourceContact, ConsentVersion: "v1"}
		_, err := s.CreateLead(ctx, l, func(l *leads.Lead) ([]leads.OutboxMessage, error) {
			return []leads.OutboxMessage{
				{Kind: "lead_confirmation", Recipient: l.Email, MessageID: fmt.Sprintf("<c%d@x>", i), Payload: []byte(`{"subject":"x"}`)},
				{Kind: "lead_notification", Recipient: "staff@example.com", MessageID: fmt.Sprintf("<n%d@x>", i), Payload: []byte(`{"subject":"x"}`)},
			}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leads/s")
}

// BenchmarkCreateLeadParallel is BenchmarkCreateLead from 32 goroutines, as
// concurrent submissions arrive: group commit lets them share fsyncs.
func BenchmarkCreateLeadParallel(b *testing.B) {
	s, err := leads.Open(context.Background(), filepath.Join(b.TempDir(), "l.db"), leads.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			l := &leads.Lead{Name: "Ada", Email: fmt.Sprintf("ada%d@example.com", i), Message: "hello",
				Source: leads.SourceContact, ConsentVersion: "v1"}
			if _, err := s.CreateLead(ctx, l, func(l *leads.Lead) ([]leads.OutboxMessage, error) {
				return []leads.OutboxMessage{
					{Kind: "lead_confirmation", Recipient: l.Email, MessageID: fmt.Sprintf("<c%d@x>", i), Payload: []byte(`{}`)},
					{Kind: "lead_notification", Recipient: "staff@example.com", MessageID: fmt.Sprintf("<n%d@x>", i), Payload: []byte(`{}`)},
				}, nil
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leads/s")
}
