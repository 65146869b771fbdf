package calendar_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/calendar/davtest"
)

func otherEvent(uid string, start time.Time) string {
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//client//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:" + f(start) + "\r\nDTSTART:" + f(start) + "\r\nDTEND:" + f(start.Add(time.Hour)) +
		"\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// TestCalDAVServers writes, rewrites and reads back events on Radicale and
// Xandikos, and reads their busy time with a time-range REPORT.
func TestCalDAVServers(t *testing.T) {
	davtest.Servers(t, func(t *testing.T, srv *davtest.CalDAV) {
		ctx := context.Background()
		c := &calendar.CalDAV{URL: srv.URL, Username: srv.Username, Password: srv.Password,
			Skip: func(uid string) bool { return strings.HasSuffix(uid, "@leadbook.test") }}
		start := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
		inv := calendar.Invitation{UID: "0123abc@leadbook.test", Stamp: start, Start: start, End: start.Add(30 * time.Minute),
			Summary: "Call", Organizer: calendar.Person{Name: "Northwind", Email: "hello@northwind.test"},
			Attendee: calendar.Person{Name: "Ada", Email: "ada@example.com"}}
		data, err := calendar.EncodeObject(inv)
		if err != nil {
			t.Fatal(err)
		}
		href, err := c.Href(inv.UID)
		if err != nil {
			t.Fatal(err)
		}
		etag, err := c.Put(ctx, href, data, "")
		if err != nil {
			t.Fatal(err)
		}
		// Created again: the object is there, If-None-Match refuses.
		if _, err := c.Put(ctx, href, data, ""); !errors.Is(err, calendar.ErrPreconditionFailed) {
			t.Fatalf("second create: %v, want 412", err)
		}
		got, err := c.Get(ctx, href)
		if err != nil {
			t.Fatal(err)
		}
		if etag == "" {
			etag = got.ETag
		}
		if uid, seq, err := calendar.ObjectSequence(got.Data); err != nil || uid != inv.UID || seq != 0 {
			t.Fatalf("read back %q %d %v", uid, seq, err)
		}
		inv.Sequence = 1
		data, _ = calendar.EncodeObject(inv)
		if _, err := c.Put(ctx, href, data, `"not-the-etag"`); !errors.Is(err, calendar.ErrPreconditionFailed) {
			t.Fatalf("update on a wrong ETag: %v, want 412", err)
		}
		if _, err := c.Put(ctx, href, data, etag); err != nil {
			t.Fatalf("update on its ETag: %v", err)
		}
		if _, err := c.Get(ctx, srv.URL+"missing.ics"); !errors.Is(err, calendar.ErrObjectNotFound) {
			t.Fatalf("missing object: %v", err)
		}

		srv.Put(t, "dentist.ics", otherEvent("dentist-1", start.Add(3*time.Hour)))
		srv.Put(t, "far.ics", otherEvent("far-1", start.Add(90*24*time.Hour)))
		feed, err := c.Busy(ctx, start.Add(-time.Hour), start.Add(7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		busy, err := calendar.ParseBusy(strings.NewReader(string(feed)), start.Add(-time.Hour), start.Add(7*24*time.Hour), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		want := []calendar.Interval{{Start: start.Add(3 * time.Hour), End: start.Add(4 * time.Hour)}}
		if len(busy) != 1 || !busy[0].Start.Equal(want[0].Start) || !busy[0].End.Equal(want[0].End) {
			t.Fatalf("busy %v, want %v (the other client's event only: ours skipped, the far one outside the range)", busy, want)
		}
	})
}

// TestCalDAVDeletePreconditionFailed: a DELETE refused on its ETag is
// ErrPreconditionFailed, as a refused PUT is.
func TestCalDAVDeletePreconditionFailed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete || r.Header.Get("If-Match") != `"old"` {
			t.Errorf("%s If-Match %q, want DELETE on \"old\"", r.Method, r.Header.Get("If-Match"))
		}
		w.WriteHeader(http.StatusPreconditionFailed)
	}))
	defer srv.Close()
	c := &calendar.CalDAV{URL: srv.URL + "/cal/"}
	err := c.Delete(context.Background(), "/cal/a.ics", `"old"`)
	if !errors.Is(err, calendar.ErrPreconditionFailed) {
		t.Fatalf("delete on a changed ETag: %v, want ErrPreconditionFailed", err)
	}
	if errors.Is(err, calendar.ErrObjectNotFound) {
		t.Fatalf("a 412 is ErrObjectNotFound: %v", err)
	}
}
