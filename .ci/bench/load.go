//go:build ignore

// load posts JSON leads to leadbook over loopback from a fixed number of
// connections for a fixed time, each with a unique email, and prints the
// rate and latency percentiles. It waits for every request in flight before
// it reports, so the count of 201 answers can be checked exactly against
// the database afterwards.
//
//	go run .ci/bench/load.go -url http://127.0.0.1:18080/contact -c 32 -d 10s
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18080/contact", "endpoint; several, comma-separated, share the connections out in turn")
	conns := flag.Int("c", 32, "connections")
	dur := flag.Duration("d", 10*time.Second, "duration")
	emails := flag.String("emails", "", "file to write the email of every 201 answer to")
	mode := flag.String("mode", "lead", "lead: POST /contact; book: POST /book, each request a distinct slot")
	first := flag.String("first", "", "book mode: the first slot start (RFC 3339)")
	slot := flag.Duration("slot", 30*time.Minute, "book mode: slot length")
	flag.Parse()
	if *dur > 5*time.Minute {
		log.Fatal("duration capped at 5m")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		codes     = map[int]int{}
		created   []string
		errs      int
	)
	var firstSlot time.Time
	if *mode == "book" {
		var err error
		if firstSlot, err = time.Parse(time.RFC3339, *first); err != nil {
			log.Fatal("-first: ", err)
		}
	}
	urls := strings.Split(*url, ",")
	stop := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var mine []string
			local := map[int]int{}
			for i := 0; time.Now().Before(stop); i++ {
				email := fmt.Sprintf("load-%d-%d@example.com", c, i)
				body := fmt.Sprintf(`{"name":"Load %d %d","email":%q,"company":"Bench","message":"Benchmark lead","consent":true}`, c, i, email)
				if *mode == "book" {
					at := firstSlot.Add(time.Duration(c+i**conns) * *slot)
					body = fmt.Sprintf(`{"start":%q,"name":"Load %d %d","email":%q,"tz":"Europe/Berlin","consent":true}`,
						at.Format(time.RFC3339), c, i, email)
				}
				req, _ := http.NewRequest(http.MethodPost, urls[c%len(urls)], bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json")
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					mu.Lock()
					errs++
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(t0))
				local[res.StatusCode]++
				if res.StatusCode == http.StatusCreated {
					mine = append(mine, email)
				}
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			created = append(created, mine...)
			for k, v := range local {
				codes[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
	}
	fmt.Printf("requests %d in %.2fs: %.0f/s; status %v; errors %d\n", len(latencies), elapsed.Seconds(),
		float64(len(latencies))/elapsed.Seconds(), codes, errs)
	fmt.Printf("latency p50 %v p90 %v p99 %v max %v\n", pct(.50), pct(.90), pct(.99), pct(1))
	if *emails != "" {
		var b bytes.Buffer
		for _, e := range created {
			b.WriteString(e + "\n")
		}
		if err := os.WriteFile(*emails, b.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
