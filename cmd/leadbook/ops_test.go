package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMetrics(t *testing.T) {
	url, stop := startRun(t, map[string]string{"LEADBOOK_MIN_FILL_SECONDS": "0"})
	defer stop()
	if code, body := postJSON(t, url+"/contact", `{"name":"Ada","email":"ada@example.com","consent":true}`); code != http.StatusCreated {
		t.Fatalf("contact: %d %s", code, body)
	}
	// A honeypot hit is held as spam.
	if code, _ := postJSON(t, url+"/contact", `{"name":"Bot","email":"bot@example.com","consent":true,"website":"x"}`); code != http.StatusCreated {
		t.Fatalf("spam: %d", code)
	}
	getBody(t, url+"/bookings/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	getBody(t, url+"/no/such/page")
	code, body := getBody(t, url+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`leadbook_http_request_duration_seconds_count{code="201",method="POST",route="/contact"} 2`,
		`leadbook_http_request_duration_seconds_bucket{code="404",method="GET",route="/bookings/:token",le="+Inf"} 1`,
		`leadbook_events_total{event="lead_created"} 1`,
		`leadbook_events_total{event="spam_held"} 1`,
		`leadbook_events_total{event="booking_created"} 0`,
		`leadbook_outbox_attempts_total{outcome="retry"} 0`,
		`leadbook_outbox_messages{status="queued"}`,
		`leadbook_outbox_oldest_queued_age_seconds`,
		`leadbook_database_size_bytes`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "AAAAAAAAAAAAAAAA") || strings.Contains(body, "/no/such/page") {
		t.Error("metrics carry a raw path")
	}
	if !strings.Contains(body, `code="404",method="GET",route="unmatched"`) {
		t.Error("paths no route matched are not labelled unmatched")
	}
}

// TestMetricsLabelsBounded: whatever methods and paths clients send, the
// request series stay few, since every label comes from a closed set.
func TestMetricsLabelsBounded(t *testing.T) {
	url, stop := startRun(t, map[string]string{"LEADBOOK_FEED_SECRET": "0123456789abcdef"})
	defer stop()
	paths := []string{"/no/such/%d", "/bookings/%d", "/bookings/%d/invite.ics", "/static/%d.css",
		"/staff/%d", "/articles/%d", "/calendar/%d.ics", "/contact?x=%d", "/%d", "/api/slots/%d"}
	const n = 2000
	for i := range n {
		method := fmt.Sprintf("X%dY", i)
		switch i % 4 {
		case 1:
			method = strings.ToLower(http.MethodGet) + strconv.Itoa(i)
		case 2:
			method = http.MethodGet
		}
		req, err := http.NewRequest(method, url+fmt.Sprintf(paths[i/4%len(paths)], i), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	_, body := getBody(t, url+"/metrics")
	series, echoed := 0, 0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "leadbook_http_request_duration_seconds_count{") {
			continue
		}
		series++
		for _, label := range regexp.MustCompile(`(method|route)="([^"]*)"`).FindAllStringSubmatch(line, -1) {
			// Every method and path sent carries a number; no
			// route pattern or known method does.
			if regexp.MustCompile(`\d`).MatchString(label[2]) {
				if echoed++; echoed <= 3 {
					t.Errorf("a %s label carries what the client sent: %s", label[1], line)
				}
			}
		}
	}
	t.Logf("%d requests with made-up methods and paths: %d series", n, series)
	if series == 0 || series >= 100 {
		t.Fatalf("%d series of leadbook_http_request_duration_seconds after %d odd requests, want 1..99", series, n)
	}
	for _, want := range []string{`method="other"`, `route="unmatched"`, `route="/bookings/:token"`, `route="/static/*"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	url, stop := startRun(t, map[string]string{"LEADBOOK_MIN_FILL_SECONDS": "0", "LEADBOOK_RATE_LIMIT": "0", "LEADBOOK_DB": db})
	defer stop()
	for i := 0; i < 5; i++ {
		if code, body := postJSON(t, url+"/contact", `{"name":"Ada","email":"ada@example.com","consent":true}`); code != http.StatusCreated {
			t.Fatalf("contact: %d %s", code, body)
		}
	}
	var out bytes.Buffer
	dst := filepath.Join(dir, "copy.db")
	if err := run(context.Background(), []string{"leadbook", "backup", dst}, envOf(map[string]string{"LEADBOOK_DB": db}), nil, &out, io.Discard); err != nil {
		t.Fatalf("backup: %v\n%s", err, out.String())
	}
	for _, want := range []string{"integrity_check ok", "leads                5 rows", "outbox               10 rows"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("backup output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(context.Background(), []string{"leadbook", "backup"}, envOf(map[string]string{"LEADBOOK_DB": db}), nil, io.Discard, io.Discard); err == nil {
		t.Error("backup without a file succeeded")
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"LEADBOOK_DB":       filepath.Join(dir, "c.db"),
		"LEADBOOK_MAIL_DIR": filepath.Join(dir, "mail"),
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "\nok ") + strings.Count(out.String()[:3], "ok "); n != 5 {
		t.Errorf("want five ok lines (config, database, rules, questions, mail):\n%s", out.String())
	}
	// A closed port and a missing feed fail, each on its own line.
	ln := freePort(t)
	env["LEADBOOK_SMTP_HOST"] = "127.0.0.1"
	env["LEADBOOK_SMTP_PORT"] = ln
	env["LEADBOOK_SMTP_TLS"] = "none"
	env["LEADBOOK_BUSY_ICS"] = filepath.Join(dir, "missing.ics")
	out.Reset()
	if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err == nil {
		t.Fatalf("check passed with a closed SMTP port:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^FAIL mail .*refused`).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^FAIL busy feed `).MatchString(out.String()) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestCheckLogsInToSMTP(t *testing.T) {
	sink := startSink(t)
	sink.user, sink.pass = "mailer", "right-password"
	dir := t.TempDir()
	env := map[string]string{
		"LEADBOOK_DB":            filepath.Join(dir, "c.db"),
		"LEADBOOK_SMTP_HOST":     "127.0.0.1",
		"LEADBOOK_SMTP_PORT":     sink.Port(),
		"LEADBOOK_SMTP_TLS":      "none",
		"LEADBOOK_SMTP_USERNAME": "mailer",
		"LEADBOOK_SMTP_PASSWORD": "right-password",
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "logged in") {
		t.Errorf("output:\n%s", out.String())
	}
	env["LEADBOOK_SMTP_PASSWORD"] = "wrong-password"
	out.Reset()
	if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err == nil {
		t.Fatalf("check passed with a wrong password:\n%s", out.String())
	}
	if strings.Contains(out.String(), "wrong-password") {
		t.Error("check printed the password")
	}
}

// TestDrainDelay: on shutdown /readyz turns 503 while the listener still
// answers, for LEADBOOK_DRAIN_DELAY, before HTTP shuts down.
func TestDrainDelay(t *testing.T) {
	url, stop := startRun(t, map[string]string{"LEADBOOK_DRAIN_DELAY": "1s"})
	if code, _ := getBody(t, url+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d", code)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	waitFor(t, 5*time.Second, "readyz to answer 503", func() bool {
		res, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatalf("listener closed before readiness went off: %v", err)
		}
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	})
	if code, _ := getBody(t, url+"/livez"); code != http.StatusOK {
		t.Errorf("livez while draining: %d", code)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
