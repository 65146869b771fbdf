package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkArticlePage serves the main article through the whole router
// (middleware included, the network not), plain and gzip, to a browser
// (its view counted) and to a crawler (not counted): the two within one
// run give the view counter's cost.
func BenchmarkArticlePage(b *testing.B) {
	a := newApp(b, options{})
	agents := []struct{ name, ua string }{
		{"crawler", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
		{"person", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"},
	}
	for _, enc := range []string{"", "gzip"} {
		for _, ag := range agents {
			b.Run("encoding="+enc+"/visitor="+ag.name, func(b *testing.B) {
				benchPage(b, a, enc, ag.ua)
			})
		}
	}
}

func benchPage(b *testing.B, a *app, enc, ua string) {
	req := httptest.NewRequest(http.MethodGet, "/articles/cto-vs-cio", nil)
	req.RemoteAddr = "203.0.113.7:5555"
	req.Header.Set("User-Agent", ua)
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
}
