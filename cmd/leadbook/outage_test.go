package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSMTPOutage runs the real server against an SMTP server on loopback
// that first answers 421 to every connection, then 451 to MAIL FROM, then
// is gone (connection refused). Submissions keep being accepted, nothing
// is delivered meanwhile, and once the server is back every message
// arrives exactly once. The log never shows the visitors' names,
// addresses or tokens.
func TestSMTPOutage(t *testing.T) {
	sink := startSink(t)
	sink.SetMode(sinkGreet421)
	dir := t.TempDir()
	url, stop, logs := startRunLog(t, map[string]string{
		"LEADBOOK_DB":               filepath.Join(dir, "leadbook.db"),
		"LEADBOOK_SMTP_HOST":        "127.0.0.1",
		"LEADBOOK_SMTP_PORT":        sink.Port(),
		"LEADBOOK_SMTP_TLS":         "none",
		"LEADBOOK_MIN_FILL_SECONDS": "0",
		"LEADBOOK_RATE_LIMIT":       "0",
		"LEADBOOK_HOURS":            "mon-sun 00:00-24:00",
		"LEADBOOK_MIN_NOTICE":       "0s",
		"LEADBOOK_REMINDER":         "0",
		"LEADBOOK_MAIL_RETRY_BASE":  "20ms",
		"LEADBOOK_MAIL_RETRY_MAX":   "100ms",
		"LEADBOOK_LOG_FORMAT":       "json",

		// Every booking comes from loopback.
		"LEADBOOK_BOOKINGS_PER_ADDRESS_DAY": "0",
	})
	defer stop()
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	_, body := getBody(t, url+"/api/slots?from="+tomorrow+"&to="+tomorrow+"&tz=UTC")
	var slots struct{ Slots []struct{ Start string } }
	if err := json.Unmarshal([]byte(body), &slots); err != nil || len(slots.Slots) < 10 {
		t.Fatalf("slots: %v %s", err, body)
	}

	var secrets []string // what must never be logged
	n, bookings := 0, 0
	submit := func(phase string) {
		for i := 0; i < 10; i++ {
			n++
			name := fmt.Sprintf("Quentin Privatus%d", n)
			email := fmt.Sprintf("quentin.privatus%d@example.org", n)
			secrets = append(secrets, name, email)
			code, resp := postJSON(t, url+"/contact", fmt.Sprintf(`{"name":%q,"email":%q,"phone":"+44 20 7946 %04d","consent":true}`, name, email, n))
			if code != http.StatusCreated {
				t.Fatalf("%s: contact %d: %d %s", phase, n, code, resp)
			}
		}
		code, resp := postJSON(t, url+"/book", fmt.Sprintf(`{"start":%q,"name":"Bettina Bookerling%d","email":"bettina%d@example.org","consent":true}`,
			slots.Slots[bookings].Start, bookings, bookings))
		if code != http.StatusCreated {
			t.Fatalf("%s: booking: %d %s", phase, code, resp)
		}
		var b struct {
			ManageURL string `json:"manage_url"`
		}
		if err := json.Unmarshal([]byte(resp), &b); err != nil || b.ManageURL == "" {
			t.Fatalf("booking answer %s", resp)
		}
		secrets = append(secrets, fmt.Sprintf("Bettina Bookerling%d", bookings), fmt.Sprintf("bettina%d@example.org", bookings),
			b.ManageURL[strings.LastIndex(b.ManageURL, "/")+1:])
		bookings++
		// Let the worker try, and fail, a few times.
		time.Sleep(300 * time.Millisecond)
		if got := sink.Delivered(); len(got) != 0 {
			t.Fatalf("%s: %d messages delivered during the outage", phase, len(got))
		}
	}
	submit("421 on connect")
	sink.SetMode(sinkMail451)
	submit("451 to MAIL FROM")
	if sink.Refused() == 0 {
		t.Fatal("the sink refused nothing: the worker did not try")
	}
	sink.Stop()
	submit("connection refused")

	sink.SetMode(sinkAccept)
	sink.Start()
	// Each contact queues two messages (visitor, staff), each booking two
	// invitations (visitor, CEO).
	want := 2*n + 2*bookings
	deadline := time.Now().Add(20 * time.Second)
	for len(sink.Delivered()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages delivered after the outage", len(sink.Delivered()), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // room for a duplicate to show
	got := sink.Delivered()
	if len(got) != want {
		t.Errorf("%d distinct messages delivered, want %d", len(got), want)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("%s delivered %d times", id, k)
		}
	}
	_, metrics := getBody(t, url+"/metrics")
	if !regexp.MustCompile(`leadbook_outbox_attempts_total\{outcome="retry"\} [1-9]`).MatchString(metrics) ||
		!strings.Contains(metrics, `leadbook_outbox_messages{status="queued"} 0`) ||
		!strings.Contains(metrics, fmt.Sprintf(`leadbook_outbox_messages{status="sent"} %d`, want)) {
		t.Errorf("metrics after the outage:\n%s", grepLines(metrics, "leadbook_outbox"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	log := logs.String()
	if !strings.Contains(log, "temporary failure") {
		t.Errorf("the log does not show the failures:\n%s", log)
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the log contains %q", s)
		}
	}
	t.Logf("%d messages held through 421, 451 and refused connections (%d refusals), then delivered once each", want, sink.Refused())
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
