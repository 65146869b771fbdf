package handlers_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"leadbook/handlers"
	"leadbook/leads"
	"leadbook/mailer"
)

// benchLeads is the size of the benchmark database.
const benchLeads = 1_000_000

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// benchDB returns a database with benchLeads realistic leads, made once per
// process (or reused from LEADBOOK_BENCH_DB when that file exists).
func benchDB(b *testing.B) string {
	b.Helper()
	benchOnce.Do(func() {
		benchPath = os.Getenv("LEADBOOK_BENCH_DB")
		if benchPath == "" {
			dir, err := os.MkdirTemp("", "leadbook-bench")
			if err != nil {
				benchErr = err
				return
			}
			benchPath = filepath.Join(dir, "bench.db")
		}
		if _, err := os.Stat(benchPath); err == nil {
			return
		}
		start := time.Now()
		benchErr = GenerateLeads(benchPath, benchLeads)
		fmt.Fprintf(os.Stderr, "generated %d leads into %s in %s\n", benchLeads, benchPath, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Dennis", "Frances",
		"Linus", "Guido", "Bjarne", "Radia", "Hedy", "Katherine", "Tim", "Vint", "Sophie", "Jean", "Mateo", "Yuki", "Priya",
		"Olusegun", "Zoë", "Łukasz", "Søren", "José", "Aroha", "Chen"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Ritchie",
		"Allen", "Torvalds", "van Rossum", "Stroustrup", "Perlman", "Lamarr", "Johnson", "Berners-Lee", "Cerf", "Wilson",
		"Sammet", "García", "Tanaka", "Sharma", "Adeyemi", "Müller", "Kowalski", "Kierkegaard", "Silva", "Ngata", "Wei"}
	companies = []string{"Analytical Engines", "Northwind Traders", "Contoso", "Fabrikam, Inc.", "Initech", "Globex",
		"Umbrella Logistics", "Stark Industries", "Wayne Enterprises", "Acme \"Rockets\"", "Hooli", "Pied Piper", "", "",
		"Société Générale d'Informatique", "株式会社テスト", "Vandelay Industries", "=Formula Corp", "Tyrell", "Cyberdyne"}
	messages = []string{
		"We need a fractional CTO for a quarter while we hire.",
		"Our platform is a monolith from 2012. Where do we start with services?",
		"Could you review our architecture before the Series A? We have a due-diligence call on Friday, so sooner is better.",
		"Hello,\nwe are looking for help with our UI redesign.\nBudget approved, timeline Q3.\n\nThanks, the team",
		"Interested in your automation partnership. We process 40,000 invoices a month by hand, \"mostly\" in spreadsheets.",
		"",
		"Quick question about pricing: per day or per project?",
		"-- sent from my phone --",
		"Our CIO and CTO disagree about who owns data. Can you mediate? 🙂",
		"We'd like a workshop for 12 developers on full-stack skills, ideally in English and German.",
	}
)

// GenerateLeads fills a new database at path with n leads spread over the
// last three years, in one transaction through one prepared statement.
func GenerateLeads(path string, n int) error {
	// Build under another name and rename at the end, so that an
	// interrupted run never leaves a partial database to be reused.
	final := path
	path += ".partial"
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	ctx := context.Background()
	if _, _, err := leads.Migrate(ctx, path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_foreign_keys=on")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.Prepare(`INSERT INTO leads (created_at, updated_at, name, email, company, phone, message, source, consent_version, consent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	r := rand.New(rand.NewPCG(1, 2))
	end := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(-3, 0, 0)
	step := end.Sub(start) / time.Duration(n)
	for i := range n {
		at := start.Add(time.Duration(i) * step).Format("2006-01-02T15:04:05.000Z")
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		email := strings.ToLower(fmt.Sprintf("%s.%s%d@%s", first, strings.ReplaceAll(last, " ", ""), i, []string{"example.com", "example.org", "mail.example"}[i%3]))
		phone := ""
		if r.IntN(2) == 0 {
			phone = fmt.Sprintf("+%d %d %07d", 1+r.IntN(98), 10+r.IntN(89), r.IntN(10_000_000))
		}
		source := "contact"
		if r.IntN(5) == 0 {
			source = "booking"
		}
		if _, err := stmt.Exec(at, at, first+" "+last, email, companies[r.IntN(len(companies))], phone,
			messages[r.IntN(len(messages))], source, "2026-11-27", at); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Closing the last connection checkpoints the WAL into the file.
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(path, final)
}

const exportQuery = `SELECT id, created_at, name, email, company, phone, message, source, consent_version,
	COALESCE(consent_at, '') FROM leads WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id`

// bareExport is the reference: the export's query, rows scanned into
// strings and written with encoding/csv to io.Discard. It returns the rows.
func bareExport(b *testing.B, db *sql.DB) int {
	rs, err := db.Query(exportQuery, "", "\uffff")
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	w := csv.NewWriter(io.Discard)
	rec := make([]string, 10)
	var id int64
	n := 0
	for rs.Next() {
		if err := rs.Scan(&id, &rec[1], &rec[2], &rec[3], &rec[4], &rec[5], &rec[6], &rec[7], &rec[8], &rec[9]); err != nil {
			b.Fatal(err)
		}
		rec[0] = strconv.FormatInt(id, 10)
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
		n++
	}
	w.Flush()
	if err := rs.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkExport1M compares the HTTP export of a million leads (the real
// server on a 127.0.0.1 listener, an API token, the body read to
// io.Discard) with bareExport over the same rows. Each iteration runs both,
// one after the other, so they share the machine's state; it reports both
// rates and their ratio.
func BenchmarkExport1M(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	store, err := leads.Open(ctx, path, leads.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	token, _, err := store.CreateToken(ctx, fmt.Sprintf("bench-%d", time.Now().UnixNano()), leads.ActorCLI)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(benchServer(b, store).Handler())
	defer srv.Close()
	total, err := store.CountLeads(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var bareTime, httpTime time.Duration
	bareRows, httpRows := 0, 0
	for b.Loop() {
		t0 := time.Now()
		bareRows += bareExport(b, db)
		t1 := time.Now()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/staff/leads.csv", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
		httpRows += total
		bareTime += t1.Sub(t0)
		httpTime += time.Since(t1)
	}
	bare := float64(bareRows) / bareTime.Seconds()
	web := float64(httpRows) / httpTime.Seconds()
	b.ReportMetric(bare, "bare_rows/s")
	b.ReportMetric(web, "http_rows/s")
	b.ReportMetric(web/bare, "http/bare")
}

func benchServer(b *testing.B, store *leads.Store) *handlers.Server {
	b.Helper()
	composer, err := mailer.NewComposer(mail.Address{Address: "bookings@example.com"}, mail.Address{}, "http://127.0.0.1", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	direct := mailer.NewDirect(mailer.DirSender{Dir: b.TempDir()}, slog.New(slog.DiscardHandler))
	srv, err := handlers.New(handlers.Config{BaseURL: "http://127.0.0.1", Logger: slog.New(slog.DiscardHandler)},
		handlers.Deps{Store: store, Composer: composer, Direct: direct, FormKey: []byte("0123456789abcdef0123456789abcdef"),
			Staff: &handlers.Staff{Store: store}})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkLeadList1M times the dashboard's lead list, searches and date
// filter with a million leads, through the whole router.
func BenchmarkLeadList1M(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	store, err := leads.Open(ctx, path, leads.Options{Password: cheapPasswords})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	email := fmt.Sprintf("bench%d@example.com", time.Now().UnixNano())
	st, err := store.AddStaff(ctx, email, "a long bench password", leads.ActorCLI)
	if err != nil {
		b.Fatal(err)
	}
	session, err := store.CreateSession(ctx, st.ID, leads.SessionPolicy{Idle: time.Hour, Absolute: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	h := benchServer(b, store).Handler()
	// A cursor deep in the list: the page after lead 500,000.
	mid, err := store.ListLeads(ctx, leads.LeadFilter{To: time.Date(2025, 5, 28, 0, 0, 0, 0, time.UTC), Limit: 1})
	if err != nil || len(mid.Leads) == 0 {
		b.Fatal("no middle lead", err)
	}
	cursor := mid.Leads[0].CreatedAt.Format("2006-01-02T15:04:05.000Z") + "_" + fmt.Sprint(mid.Leads[0].ID)
	for _, q := range []struct{ name, query string }{
		{"newest", ""},
		{"deep page", "?before=" + cursor},
		{"date range", "?from=2024-06-01&to=2024-06-30"},
		{"search common name", "?q=ada"},
		{"search name and surname", "?q=grace+hopper"},
		{"search whole email", "?q=ada.lovelace12345%40example.com"},
		{"search part of email", "?q=lovelace1234"},
		{"search company", "?q=northwind"},
		{"search rare", "?q=zzyzx"},
		{"search with dates", "?q=turing&from=2025-01-01&to=2025-01-31"},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/staff/leads"+q.query, nil)
				req.AddCookie(&http.Cookie{Name: "leadbook_staff", Value: session})
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
		})
	}
}
