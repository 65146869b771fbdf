//go:build ignore

// bare is the reference for the article benchmark: a plain net/http server
// that writes the same bytes leadbook serves (fetched from it once, plain and
// gzip), from memory, with no router, middleware or headers of note.
//
//	go run .ci/bench/bare.go -addr 127.0.0.1:18081 -from http://127.0.0.1:18080/articles/cto-vs-cio
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
)

func fetch(url string, gzip bool) []byte {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		log.Fatal(err)
	}
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	// A raw transport so the gzip body is kept as bytes, not decoded.
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	from := flag.String("from", "", "page to copy")
	flag.Parse()
	plain, gz := fetch(*from, false), fetch(*from, true)
	plainLen, gzLen := strconv.Itoa(len(plain)), strconv.Itoa(len(gz))
	log.Printf("serving %d bytes plain, %d gzip", len(plain), len(gz))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/html; charset=utf-8"}
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h["Content-Encoding"] = []string{"gzip"}
			h["Content-Length"] = []string{gzLen}
			w.Write(gz)
			return
		}
		h["Content-Length"] = []string{plainLen}
		w.Write(plain)
	})))
}
