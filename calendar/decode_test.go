package calendar

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDecodeMalformedParams gives Decode the content lines on which
// go-ical's decoder panics: each is an error, and a good object still
// decodes.
func TestDecodeMalformedParams(t *testing.T) {
	for _, line := range []string{
		"ATTENDEE;PARTSTAT=ACCEPTED",             // the value ends the line
		`ATTENDEE;CN="Ada"x:mailto:a@b`,          // a quoted value, then a stray byte
		"ATTENDEE;CN=a,b;ROLE=\"x\"y:mailto:a@b", // the same after a list
	} {
		data := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u\r\n" + line + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		if cal, err := Decode([]byte(data)); err == nil {
			t.Errorf("%q: decoded %v, want an error", line, cal)
		} else if !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%q: error %v does not say malformed", line, err)
		}
		if _, _, err := ObjectSequence([]byte(data)); err == nil {
			t.Errorf("%q: ObjectSequence gave no error", line)
		}
	}
	good := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u-7\r\nSEQUENCE:4\r\nATTENDEE;CN=\"Ada, L\";PARTSTAT=ACCEPTED:mailto:a@b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	uid, seq, err := ObjectSequence([]byte(good))
	if err != nil || uid != "u-7" || seq != 4 {
		t.Fatalf("good object: %q %d %v", uid, seq, err)
	}
}

// TestBusyMalformedObject has a server answer the REPORT with an object
// go-ical's decoder panics on (no real server stores one, so this server
// is a handler): Busy returns an error, which the feed keeps as the
// source's last error, and the process lives on.
func TestBusyMalformedObject(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/cal/x.ics</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag><c:calendar-data>BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//t//EN
BEGIN:VEVENT
UID:x
DTSTART:20261203T100000Z
DTEND:20261203T110000Z
ATTENDEE;PARTSTAT=ACCEPTED
END:VEVENT
END:VCALENDAR
</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`)
	}))
	defer srv.Close()
	c := &CalDAV{URL: srv.URL + "/cal/"}
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := c.Busy(context.Background(), from, from.Add(7*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("Busy: %v, want an unreadable-data error", err)
	}
}
