package calendar

import (
	"context"
	"testing"
	"time"

	"leadbook/calendar/davtest"
)

func davEvent(uid string, start time.Time) string {
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//client//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:" + f(start) + "\r\nDTSTART:" + f(start) + "\r\nDTEND:" + f(start.Add(time.Hour)) +
		"\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// TestFeedsCalDAVSource reads a CalDAV calendar as a busy source: busy
// time once loaded, the last good copy while the server is down, and
// everything busy once that copy is older than MaxStale.
func TestFeedsCalDAVSource(t *testing.T) {
	davtest.Servers(t, func(t *testing.T, srv *davtest.CalDAV) {
		ctx := context.Background()
		start := time.Now().UTC().Truncate(time.Hour).Add(24 * time.Hour)
		clock := newClock(start.Add(-12 * time.Hour))
		c := &CalDAV{URL: srv.URL, Username: srv.Username, Password: srv.Password}
		f := NewFeeds(nil, FeedOptions{Now: clock.Now, MaxStale: time.Hour})
		f.AddSource("caldav", c.Busy)
		from, to := window(clock)
		if busy := f.Busy(from, to); len(busy) != 1 || !busy[0].Start.Equal(from) || !busy[0].End.Equal(to) {
			t.Fatalf("before the first read: %v, want everything busy", busy)
		}
		srv.Put(t, "other.ics", davEvent("other-1", start))
		if err := f.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		want := Interval{Start: start, End: start.Add(time.Hour)}
		if busy := f.Busy(from, to); len(busy) != 1 || busy[0] != want {
			t.Fatalf("busy %v, want %v", busy, want)
		}
		srv.Stop()
		clock.Add(30 * time.Minute)
		if err := f.Refresh(ctx); err == nil {
			t.Fatal("refresh with the server down succeeded")
		}
		if busy := f.Busy(from, to); len(busy) != 1 || busy[0] != want {
			t.Fatalf("server down, copy fresh: %v, want %v", busy, want)
		}
		clock.Add(time.Hour)
		from, to = window(clock)
		if busy := f.Busy(from, to); len(busy) != 1 || !busy[0].Start.Equal(from) || !busy[0].End.Equal(to) {
			t.Fatalf("copy stale: %v, want everything busy", busy)
		}
		if st := f.Status(); len(st) != 1 || !st[0].Stale || st[0].LastError == "" {
			t.Fatalf("status %+v", st)
		}
	})
}

// TestCalDAVBusyStable reads the same server state twice and wants the
// same bytes: Feeds takes a change in Busy's bytes for a change of busy
// time, and go-ical holds an event's properties and parameters in maps.
func TestCalDAVBusyStable(t *testing.T) {
	davtest.Servers(t, func(t *testing.T, srv *davtest.CalDAV) {
		ctx := context.Background()
		start := time.Now().UTC().Truncate(time.Hour).Add(24 * time.Hour)
		f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
		srv.Put(t, "many.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//client//EN\r\nBEGIN:VEVENT\r\n"+
			"UID:many-1\r\nDTSTAMP:"+f(start)+"\r\nDTSTART:"+f(start)+"\r\nDTEND:"+f(start.Add(time.Hour))+
			"\r\nSUMMARY:Board meeting\r\nDESCRIPTION:Budget\r\nLOCATION:Room 4\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n"+
			"SEQUENCE:2\r\nCLASS:PUBLIC\r\nPRIORITY:5\r\nCATEGORIES:Work\r\n"+
			"ORGANIZER;CN=Grace;ROLE=CHAIR;SENT-BY=\"mailto:pa@example.com\";LANGUAGE=en:mailto:grace@example.com\r\n"+
			"ATTENDEE;CN=Ada;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE;CUTYPE=INDIVIDUAL:mailto:ada@example.com\r\n"+
			"END:VEVENT\r\nEND:VCALENDAR\r\n")
		c := &CalDAV{URL: srv.URL, Username: srv.Username, Password: srv.Password}
		first, err := c.Busy(ctx, start.Add(-time.Hour), start.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			again, err := c.Busy(ctx, start.Add(-time.Hour), start.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(first) {
				t.Fatalf("same server state, different bytes:\n%s\nthen\n%s", first, again)
			}
		}
	})
}
