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
			// A browser's view, so that the view counter is on the path.
			req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
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
