//go:build ignore

// bare is the reference for the article benchmark: a plain net/http server
// that writes the same bytes leadbook serves, fetched from it once (plain
// and gzip): the same body and the same response headers, from memory,
// with no router, middleware or per-request work. With -body-only it sends
// the body with Content-Type and Content-Encoding alone.
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

type response struct {
	header http.Header
	body   []byte
}

func fetch(url string, gzip bool, bodyOnly bool) response {
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
	h := http.Header{"Content-Type": res.Header["Content-Type"]}
	if gzip {
		h["Content-Encoding"] = []string{"gzip"}
	}
	if !bodyOnly {
		h = res.Header.Clone()
		h.Del("Date") // net/http writes its own
	}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	return response{h, b}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	from := flag.String("from", "", "page to copy")
	bodyOnly := flag.Bool("body-only", false, "send the body with Content-Type and Content-Encoding only")
	flag.Parse()
	plain, gz := fetch(*from, false, *bodyOnly), fetch(*from, true, *bodyOnly)
	log.Printf("serving %d bytes plain, %d gzip, %d headers", len(plain.body), len(gz.body), len(gz.header))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := plain
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			res = gz
		}
		h := w.Header()
		for k, v := range res.header {
			h[k] = v
		}
		w.Write(res.body)
	})))
}
