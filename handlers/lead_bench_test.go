package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/leads/leadstest"
)

// engineDB is the database a benchmark runs on: SQLite in its temporary
// folder, or a PostgreSQL database of its own with
// LEADBOOK_BENCH_ENGINE=postgres (and LEADBOOK_TEST_POSTGRES).
func engineDB(b *testing.B) string {
	if e := os.Getenv("LEADBOOK_BENCH_ENGINE"); e != "" {
		return leadstest.DB(b, e)
	}
	return ""
}

// BenchmarkContactJSON posts JSON leads through the whole router from
// parallel goroutines, as the load test does over loopback, to show where
// a submission's CPU goes (-cpuprofile).
func BenchmarkContactJSON(b *testing.B) {
	a := newApp(b, options{db: engineDB(b)})
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"name":"Load %d","email":"load%d@example.com","company":"Bench","message":"Benchmark lead","consent":true}`, i, i)
			req := httptest.NewRequest(http.MethodPost, "/contact", bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.RemoteAddr = "203.0.113.7:5555"
			rec := httptest.NewRecorder()
			a.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leads/s")
}

// BenchmarkBookJSON books distinct slots through the whole router from
// parallel goroutines, every rule checked in the transaction.
func BenchmarkBookJSON(b *testing.B) {
	a := newApp(b, options{db: engineDB(b), rules: func(r *calendar.Rules) {
		r.Hours, _ = calendar.ParseHours("mon-sun 00:00-24:00")
		r.Slot, r.MinNotice, r.HorizonDays = 5*time.Minute, 0, 366
	}})
	first := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			start := first.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339)
			body := fmt.Sprintf(`{"start":%q,"name":"Load %d","email":"load%d@example.com","tz":"Europe/Berlin","consent":true}`, start, i, i)
			req := httptest.NewRequest(http.MethodPost, "/book", bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.RemoteAddr = "203.0.113.7:5555"
			rec := httptest.NewRecorder()
			a.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("status %d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
}
