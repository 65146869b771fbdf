package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"leadbook/calendar/davtest"
)

// slotsNow returns the slots offered from..to, none while the busy
// sources have not loaded yet.
func slotsNow(t *testing.T, c *http.Client, base string, from, to time.Time) []string {
	t.Helper()
	res, err := c.Get(base + "/api/slots?from=" + from.Format("2006-01-02") + "&to=" + to.Format("2006-01-02") + "&tz=UTC")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct{ Slots []struct{ Start string } }
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range ans.Slots {
		out = append(out, s.Start)
	}
	return out
}

// eventually polls cond until it holds (the server's own loops do the
// work: the first read of the calendar, the outbox delivery).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCalDAVWiring runs the real wiring against Radicale: an event that
// another client put in the CEO's calendar is busy time, and a booking
// made on the site lands in the calendar with its UID.
func TestCalDAVWiring(t *testing.T) {
	srv := davtest.Radicale(t)
	client := &http.Client{Timeout: 10 * time.Second}
	// A weekday within the hours (mon-fri 09:00-17:00 UTC): it has slots
	// whatever today is.
	from := weekdayAt(3, 0)
	to := from.AddDate(0, 0, 1)

	// Learn which slots the day has without the calendar.
	plain, stopPlain := startRun(t, map[string]string{"LEADBOOK_MIN_FILL_SECONDS": "0"})
	all := slotsNow(t, client, plain, from, to)
	if err := stopPlain(); err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 {
		t.Fatalf("%s has %d slots, want a weekday's", from.Format("Monday 2006-01-02"), len(all))
	}
	busyStart, err := time.Parse(time.RFC3339, all[0])
	if err != nil {
		t.Fatal(err)
	}
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	srv.Put(t, "dentist.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nBEGIN:VEVENT\r\nUID:dentist\r\nDTSTAMP:"+
		f(busyStart)+"\r\nDTSTART:"+f(busyStart)+"\r\nDTEND:"+f(busyStart.Add(10*time.Minute))+"\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")

	url, _ := startRun(t, map[string]string{
		"LEADBOOK_MIN_FILL_SECONDS": "0", "LEADBOOK_RATE_LIMIT": "0", "LEADBOOK_BASE_URL": "http://leadbook.test",
		"LEADBOOK_CALDAV_URL": srv.URL, "LEADBOOK_CALDAV_USERNAME": srv.Username, "LEADBOOK_CALDAV_PASSWORD": srv.Password,
	})
	var offered []string
	eventually(t, "the calendar read", func() bool {
		offered = slotsNow(t, client, url, from, to)
		return len(offered) > 0
	})
	if slices.Contains(offered, all[0]) {
		t.Fatalf("the slot at the other client's event (%s) is offered", all[0])
	}
	if !slices.Contains(offered, all[1]) {
		t.Fatalf("the next slot (%s) is not offered: %v", all[1], offered)
	}

	code, body := post(client, url+"/book", fmt.Sprintf(`{"start":%q,"name":"Ada Lovelace","email":"ada@example.com","consent":true,"tz":"UTC"}`, all[1]))
	if code != http.StatusCreated {
		t.Fatalf("booking: %d %s", code, body)
	}
	var found, listing string
	hrefRE := regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?href>([^<]*leadbook\.test\.ics)</`)
	eventually(t, "the booking in the calendar", func() bool {
		listing = srv.Do(t, "PROPFIND", srv.URL, "application/xml", `<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>`,
			map[string]string{"Depth": "1"}).Body
		if m := hrefRE.FindStringSubmatch(listing); m != nil {
			found = m[1]
		}
		return found != ""
	})
	obj := srv.Do(t, http.MethodGet, "http://"+srv.Addr()+found, "", "", nil)
	if obj.StatusCode != http.StatusOK || !strings.Contains(obj.Body, "SEQUENCE:0") || !strings.Contains(obj.Body, "STATUS:CONFIRMED") ||
		!strings.Contains(obj.Body, "DTSTART:"+strings.NewReplacer("-", "", ":", "").Replace(all[1])) {
		t.Fatalf("the booking's event (%s): %s\n%s", found, obj.Status, obj.Body)
	}
}
