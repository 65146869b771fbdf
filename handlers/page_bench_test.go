package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkArticlePage serves the main article through the whole router
// (middleware included, the network not), plain and gzip.
func BenchmarkArticlePage(b *testing.B) {
	a := newApp(b, options{})
	for _, enc := range []string{"", "gzip"} {
		b.Run("encoding="+enc, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/articles/cto-vs-cio", nil)
			req.RemoteAddr = "203.0.113.7:5555"
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				a.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
