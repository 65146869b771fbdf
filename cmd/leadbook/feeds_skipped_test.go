package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// skippedFeed writes a feed with one readable event, one that ends before
// it starts and one line without a colon.
func skippedFeed(t *testing.T) string {
	t.Helper()
	feed := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20260303T100000Z\r\nDTEND:20260303T110000Z\r\nSUMMARY=odd\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:backwards\r\nDTSTART:20260304T100000Z\r\nDTEND:20260304T090000Z\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
	path := filepath.Join(t.TempDir(), "busy.ics")
	if err := os.WriteFile(path, []byte(feed), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckListsSkippedFeedParts: check passes a feed with parts it cannot
// read and lists each with its line, component, UID and reason.
func TestCheckListsSkippedFeedParts(t *testing.T) {
	dir := t.TempDir()
	feed := skippedFeed(t)
	env := map[string]string{
		"LEADBOOK_DB":       filepath.Join(dir, "c.db"),
		"LEADBOOK_MAIL_DIR": filepath.Join(dir, "mail"),
		"LEADBOOK_BUSY_ICS": feed,
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"ok   busy feed " + feed + ": 2 events, 2 parts skipped (not understood):\n",
		"     skipped line 8 VEVENT UID \"fine\": line without a colon: ignored\n",
		"     skipped line 10 VEVENT UID \"backwards\": it ends before it starts: skipped\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestMetricsBusyFeedSkipped: /metrics counts the parts of each busy feed
// that could not be read.
func TestMetricsBusyFeedSkipped(t *testing.T) {
	feed := skippedFeed(t)
	url, stop := startRun(t, map[string]string{"LEADBOOK_BUSY_ICS": feed})
	defer stop()
	want := `leadbook_busy_feed_skipped_components{source="` + feed + `"} 2`
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var code int
		if code, body = getBody(t, url+"/metrics"); code == http.StatusOK && strings.Contains(body, want) {
			return
		}
	}
	t.Errorf("metrics lack %s:\n%s", want, body)
}
