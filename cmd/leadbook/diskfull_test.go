package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
)

// TestDiskFull runs the real wiring with the database capped at its
// current size (PRAGMA max_page_count on the writer, which fails writes
// with SQLITE_FULL as a full disk does). The visitor gets the Oops
// message, staff get the submission by the fallback email, and once the
// cap is lifted the server stores leads again and delivers their mail.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	mailDir := filepath.Join(dir, "mail")
	env := map[string]string{
		"LEADBOOK_ADDR":             "127.0.0.1:0",
		"LEADBOOK_DB":               filepath.Join(dir, "leadbook.db"),
		"LEADBOOK_MAIL_DIR":         mailDir,
		"LEADBOOK_STAFF_EMAIL":      "staff@example.com",
		"LEADBOOK_MIN_FILL_SECONDS": "0",
		"LEADBOOK_RATE_LIMIT":       "0",
		"LEADBOOK_LOG_FORMAT":       "json",
		// A worker that could not record a send while the disk was full
		// holds the message for its lease: keep that short here.
		"LEADBOOK_MAIL_LEASE":      "1s",
		"LEADBOOK_MAIL_RETRY_BASE": "100ms",
		"LEADBOOK_MAIL_RETRY_MAX":  "1s",
	}
	cfg, _, err := parseConfig("leadbook", nil, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	stores := make(chan *leads.Store, 1)
	cfg.onStore = func(s *leads.Store) { stores <- s }
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, &stdout, &stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	store := <-stores
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if m := listenRE.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("server did not start: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	lead := func(n int) string {
		return fmt.Sprintf(`{"name":"Fiona Fullerton%d","email":"fiona%d@example.org","message":%q,"consent":true}`,
			n, n, strings.Repeat("A long enquiry. ", 200))
	}
	if code, body := postJSON(t, base+"/contact", lead(0)); code != http.StatusCreated {
		t.Fatalf("before the disk fills: %d %s", code, body)
	}

	if _, err := store.SetMaxPageCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	failed := 0
	var n int
	for n = 1; n < 100 && failed == 0; n++ {
		code, body := postJSON(t, base+"/contact", lead(n))
		switch code {
		case http.StatusCreated: // free pages were left
		case http.StatusInternalServerError:
			if !strings.Contains(body, "Oops! Something went wrong while submitting the form.") {
				t.Fatalf("full disk answer: %s", body)
			}
			failed = n
		default:
			t.Fatalf("full disk: %d %s", code, body)
		}
	}
	if failed == 0 {
		t.Fatal("the capped database never filled")
	}
	// A browser gets the form again with the Oops message.
	form := url.Values{"name": {"Fiona Formfield"}, "email": {"fiona.form@example.org"},
		"message": {strings.Repeat("Form enquiry. ", 300)}, "consent": {"on"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/contact", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(page), "Oops! Something went wrong while submitting the form.") ||
		!strings.Contains(string(page), "Fiona Formfield") {
		t.Fatalf("form answer on a full disk: %d, Oops shown %v, input kept %v", res.StatusCode,
			strings.Contains(string(page), "Oops!"), strings.Contains(string(page), "Fiona Formfield"))
	}

	// Staff get each lost submission by direct mail.
	for _, who := range []string{fmt.Sprintf("Fiona Fullerton%d", failed), "Fiona Formfield"} {
		waitFor(t, 10*time.Second, "fallback mail for "+who, func() bool { return mailTo(t, mailDir, "staff@example.com", who) })
	}

	// The disk recovers.
	if _, err := store.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if code, body := postJSON(t, base+"/contact", lead(1000)); code != http.StatusCreated {
		t.Fatalf("after the disk recovered: %d %s", code, body)
	}
	waitFor(t, 30*time.Second, "the outbox to drain", func() bool {
		_, m := getBody(t, base+"/metrics")
		return strings.Contains(m, `leadbook_outbox_messages{status="queued"} 0`)
	})
	if !mailTo(t, mailDir, "fiona1000@example.org", "") {
		t.Error("no confirmation for the lead after recovery")
	}
	log := stderr.String()
	if !strings.Contains(log, "database or disk is full") {
		t.Errorf("the log does not say the disk is full:\n%s", log)
	}
	for _, s := range []string{"Fiona", "fiona", "example.org"} {
		if strings.Contains(log, s) {
			t.Errorf("the log contains %q", s)
		}
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailTo reports whether an .eml in dir is addressed to rcpt and, when
// text is not empty, contains it.
func mailTo(t *testing.T, dir, rcpt, text string) bool {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		head, _, _ := strings.Cut(s, "\r\n\r\n")
		if strings.Contains(head, "\r\nTo: ") && strings.Contains(strings.SplitN(head[strings.Index(head, "\r\nTo: "):], "\r\n", 3)[1], rcpt) {
			if text == "" || strings.Contains(s, text) {
				return true
			}
		}
	}
	return false
}
