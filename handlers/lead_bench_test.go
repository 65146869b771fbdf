package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkContactJSON posts JSON leads through the whole router from
// parallel goroutines, as the load test does over loopback, to show where
// a submission's CPU goes (-cpuprofile).
func BenchmarkContactJSON(b *testing.B) {
	a := newApp(b, options{})
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
