package calendar

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	fixtureFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	fixtureTo   = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
)

// fixtureWant lists, per fixture, every busy occurrence in
// [fixtureFrom, fixtureTo) as "start end" in UTC, sorted; the floating zone
// is Europe/Berlin.
var fixtureWant = map[string][]string{
	"google.ics": {
		"2026-03-02T09:00:00Z 2026-03-02T10:00:00Z", // team sync; 9 March is an EXDATE
		"2026-03-02T14:00:00Z 2026-03-02T14:15:00Z", // NY standup, EST
		"2026-03-03T14:00:00Z 2026-03-03T14:15:00Z",
		"2026-03-04T07:00:00Z 2026-03-04T07:30:00Z", // breakfast
		"2026-03-04T14:00:00Z 2026-03-04T14:15:00Z",
		"2026-03-05T14:00:00Z 2026-03-05T14:15:00Z",
		"2026-03-05T15:00:00Z 2026-03-05T16:00:00Z", // board, first Thursday (rule began 2025)
		"2026-03-06T14:00:00Z 2026-03-06T14:15:00Z",
		"2026-03-09T13:00:00Z 2026-03-09T13:15:00Z", // NY standup, EDT from 8 March
		"2026-03-10T11:30:00Z 2026-03-10T12:30:00Z", // lunch, UTC
		"2026-03-10T13:00:00Z 2026-03-10T13:15:00Z",
		"2026-03-11T13:00:00Z 2026-03-11T13:15:00Z", // breakfast 11 March excluded (EXDATE list)
		"2026-03-12T13:00:00Z 2026-03-12T13:15:00Z", // "called off" is cancelled
		"2026-03-13T13:00:00Z 2026-03-13T13:15:00Z", // COUNT=10 ends here
		"2026-03-17T13:00:00Z 2026-03-17T14:00:00Z", // team sync of 16 March moved to 17 March 14:00
		"2026-03-18T07:00:00Z 2026-03-18T07:30:00Z", // 23 March team sync cancelled; 25 March breakfast excluded
		"2026-03-30T08:00:00Z 2026-03-30T09:00:00Z", // CEST
		"2026-04-01T06:00:00Z 2026-04-01T06:30:00Z",
		"2026-04-02T14:00:00Z 2026-04-02T15:00:00Z",
		"2026-04-06T08:00:00Z 2026-04-06T09:00:00Z", // Easter Monday is transparent
		"2026-04-08T06:00:00Z 2026-04-08T06:30:00Z",
		"2026-04-13T08:00:00Z 2026-04-13T09:00:00Z",
		"2026-04-14T22:00:00Z 2026-04-16T22:00:00Z", // all-day conference, Berlin days
		"2026-04-15T06:00:00Z 2026-04-15T06:30:00Z",
		"2026-04-20T08:00:00Z 2026-04-20T09:00:00Z",
		"2026-04-22T06:00:00Z 2026-04-22T06:30:00Z",
		"2026-04-27T08:00:00Z 2026-04-27T09:00:00Z",
		"2026-04-29T06:00:00Z 2026-04-29T06:30:00Z",
	},
	"outlook.ics": {
		"2026-03-03T08:00:00Z 2026-03-03T09:00:00Z", // W. Europe Standard Time; 10 March EXDATE
		"2026-03-12T15:00:00Z 2026-03-12T16:00:00Z", // Pacific Standard Time, already PDT
		"2026-03-17T10:30:00Z 2026-03-17T11:30:00Z", // moved occurrence
		"2026-03-27T14:00:00Z 2026-03-27T15:00:00Z", // "Customized Time Zone" from its VTIMEZONE
		"2026-03-30T13:00:00Z 2026-03-30T14:00:00Z", // its RDATE, after the change to CEST
		"2026-03-31T07:00:00Z 2026-03-31T08:00:00Z", // 24 March cancelled; 7 April second EXDATE line
		"2026-04-14T07:00:00Z 2026-04-14T08:00:00Z",
		"2026-04-19T22:00:00Z 2026-04-20T22:00:00Z", // all-day out of office
		"2026-04-21T07:00:00Z 2026-04-21T08:00:00Z",
		"2026-04-28T07:00:00Z 2026-04-28T08:00:00Z", // UNTIL is inclusive
	},
	"apple.ics": {
		"2026-03-03T17:00:00Z 2026-03-03T18:00:00Z", // choir; 10, 17 and 31 March excluded
		"2026-03-18T13:00:00Z 2026-03-18T14:00:00Z", // floating time, read in Berlin
		"2026-03-24T17:00:00Z 2026-03-24T18:00:00Z",
		"2026-03-26T06:30:00Z 2026-03-26T07:15:00Z", // run, every other day, COUNT=5
		"2026-03-28T06:30:00Z 2026-03-28T07:15:00Z",
		"2026-03-30T15:00:00Z 2026-03-30T15:45:00Z", // moved to the evening
		"2026-04-01T05:30:00Z 2026-04-01T06:15:00Z",
		"2026-04-02T10:00:00Z 2026-04-02T11:00:00Z", // DURATION and RDATE list
		"2026-04-03T05:30:00Z 2026-04-03T06:15:00Z",
		"2026-04-05T22:00:00Z 2026-04-07T22:00:00Z", // two all-day dates
		"2026-04-07T16:00:00Z 2026-04-07T17:00:00Z",
		"2026-04-09T10:00:00Z 2026-04-09T11:00:00Z",
		"2026-04-16T10:00:00Z 2026-04-16T11:00:00Z",
		"2026-04-22T08:00:00Z 2026-04-22T09:00:00Z", // /mozilla.org/ TZID
	},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func occurrenceStrings(occ []occurrence) []string {
	out := make([]string, len(occ))
	for i, o := range occ {
		out[i] = o.Start.UTC().Format(time.RFC3339) + " " + o.End.UTC().Format(time.RFC3339)
	}
	slices.Sort(out)
	return out
}

func TestParseBusyFixtures(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	for name, want := range fixtureWant {
		t.Run(name, func(t *testing.T) {
			f, err := parseFeed(readFixture(t, name), fixtureFrom, fixtureTo, berlin)
			if err != nil {
				t.Fatal(err)
			}
			if got := occurrenceStrings(f.occ); !slices.Equal(got, want) {
				t.Fatalf("occurrences\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
			}
			// ParseBusy: sorted, merged, same coverage.
			iv, err := ParseBusy(bytes.NewReader(readFixture(t, name)), fixtureFrom, fixtureTo, berlin)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(iv); i++ {
				if !iv[i-1].End.Before(iv[i].Start) {
					t.Errorf("not sorted and merged: %v then %v", iv[i-1], iv[i])
				}
			}
			for _, o := range f.occ {
				covered := false
				for _, x := range iv {
					covered = covered || (!o.Start.Before(x.Start) && !o.End.After(x.End))
				}
				if !covered {
					t.Errorf("%v not covered by ParseBusy", o)
				}
			}
		})
	}
}

// TestParseBusyAgainstIcalJS compares the expansion of every fixture
// (google.ics, outlook.ics and apple.ics: ical.js reads the Windows and
// /mozilla.org/ TZIDs from the fixtures' own VTIMEZONE blocks) with
// ical.js, through shared/icalcheck/expand. Free and cancelled entries,
// which expand lists with their TRANSP and STATUS, are dropped from its
// output; floating and all-day times are read in Europe/Berlin (TZ).
func TestParseBusyAgainstIcalJS(t *testing.T) {
	dir := icalcheckDir(t)
	t.Setenv("TZ", "Europe/Berlin")
	berlin := mustLoc(t, "Europe/Berlin")
	for name := range fixtureWant {
		t.Run(name, func(t *testing.T) {
			path, _ := filepath.Abs(filepath.Join("testdata", name))
			out, code := runIcalcheck(t, dir, "expand", path, fixtureFrom.Format(time.RFC3339), fixtureTo.Format(time.RFC3339))
			if code != 0 {
				t.Fatalf("expand %s: exit %d\n%s", name, code, out)
			}
			var ref []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if l == "" || strings.Contains(l, "transp=TRANSPARENT") || strings.Contains(l, "status=CANCELLED") {
					continue
				}
				var s, e string
				if _, err := fmt.Sscanf(l, "%s - %s", &s, &e); err != nil {
					t.Fatalf("expand output %q: %v", l, err)
				}
				st, err1 := time.Parse(time.RFC3339, s)
				en, err2 := time.Parse(time.RFC3339, e)
				if err1 != nil || err2 != nil {
					t.Fatalf("expand output %q", l)
				}
				if st.Before(fixtureTo) && en.After(fixtureFrom) {
					ref = append(ref, st.UTC().Format(time.RFC3339)+" "+en.UTC().Format(time.RFC3339))
				}
			}
			slices.Sort(ref)
			f, err := parseFeed(readFixture(t, name), fixtureFrom, fixtureTo, berlin)
			if err != nil {
				t.Fatal(err)
			}
			got := occurrenceStrings(f.occ)
			// RFC 5545 §3.8.5.2: DTSTART is the first instance of the
			// recurrence set also when only RDATEs follow; ical.js (through
			// ical-expander) leaves it out. These are the only accepted
			// differences.
			got = slices.DeleteFunc(got, func(s string) bool { return slices.Contains(icalJSDropsDTSTART[name], s) })
			if !slices.Equal(got, ref) {
				t.Errorf("leadbook and ical.js differ\nleadbook %s\nical.js  %s", strings.Join(got, "\n         "), strings.Join(ref, "\n         "))
			}
		})
	}
}

// icalJSDropsDTSTART lists the DTSTART instances of events with RDATE and
// no RRULE, which ical.js does not report.
var icalJSDropsDTSTART = map[string][]string{
	"outlook.ics": {"2026-03-27T14:00:00Z 2026-03-27T15:00:00Z"},
	"apple.ics":   {"2026-04-02T10:00:00Z 2026-04-02T11:00:00Z"},
}

func TestParseBusyCases(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	wrap := func(body string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + strings.ReplaceAll(strings.TrimSpace(body), "\n", "\r\n") + "\r\nEND:VCALENDAR\r\n"
	}
	tests := []struct {
		name, feed string
		want       []string
	}{
		{"busystatus free without transp", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
X-MICROSOFT-CDO-BUSYSTATUS:FREE
END:VEVENT`, nil},
		{"no end: takes no time", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART:20260302T100000Z
END:VEVENT`, nil},
		{"all-day without end: one day", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;VALUE=DATE:20260302
END:VEVENT`, []string{"2026-03-01T23:00:00Z 2026-03-02T23:00:00Z"}},
		{"all-day over the spring change", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;VALUE=DATE:20260329
DURATION:P1D
END:VEVENT`, []string{"2026-03-28T23:00:00Z 2026-03-29T22:00:00Z"}},
		{"this and future", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260305T180000
DTEND;TZID=Europe/Berlin:20260305T190000
RRULE:FREQ=WEEKLY;COUNT=6
END:VEVENT
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20260326T180000
DTSTART;TZID=Europe/Berlin:20260326T190000
DTEND;TZID=Europe/Berlin:20260326T203000
END:VEVENT`, []string{
			"2026-03-05T17:00:00Z 2026-03-05T18:00:00Z",
			"2026-03-12T17:00:00Z 2026-03-12T18:00:00Z",
			"2026-03-19T17:00:00Z 2026-03-19T18:00:00Z",
			"2026-03-26T18:00:00Z 2026-03-26T19:30:00Z",
			"2026-04-02T17:00:00Z 2026-04-02T18:30:00Z",
			"2026-04-09T17:00:00Z 2026-04-09T18:30:00Z",
		}},
		{"this and future cancelled", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART:20260305T180000Z
DTEND:20260305T190000Z
RRULE:FREQ=WEEKLY
END:VEVENT
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
RECURRENCE-ID;RANGE=THISANDFUTURE:20260319T180000Z
DTSTART:20260319T180000Z
DTEND:20260319T190000Z
STATUS:CANCELLED
END:VEVENT`, []string{"2026-03-05T18:00:00Z 2026-03-05T19:00:00Z", "2026-03-12T18:00:00Z 2026-03-12T19:00:00Z"}},
		{"override moves an occurrence into the window", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART:20260201T100000Z
DTEND:20260201T110000Z
RRULE:FREQ=MONTHLY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
RECURRENCE-ID:20260201T100000Z
DTSTART:20260303T100000Z
DTEND:20260303T110000Z
END:VEVENT`, []string{"2026-03-01T10:00:00Z 2026-03-01T11:00:00Z", "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z"}},
		{"orphan override stands alone", `
BEGIN:VEVENT
UID:b
DTSTAMP:20260301T000000Z
RECURRENCE-ID:20260310T100000Z
DTSTART:20260310T120000Z
DTEND:20260310T130000Z
END:VEVENT`, []string{"2026-03-10T12:00:00Z 2026-03-10T13:00:00Z"}},
		{"exdate as a date removes the day", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260302T090000
DTEND;TZID=Europe/Berlin:20260302T093000
RRULE:FREQ=DAILY;COUNT=3
EXDATE;VALUE=DATE:20260303
END:VEVENT`, []string{"2026-03-02T08:00:00Z 2026-03-02T08:30:00Z", "2026-03-04T08:00:00Z 2026-03-04T08:30:00Z"}},
		{"dtstart not matching the rule still counts", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART:20260304T100000Z
DTEND:20260304T110000Z
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2
END:VEVENT`, []string{"2026-03-04T10:00:00Z 2026-03-04T11:00:00Z", "2026-03-09T10:00:00Z 2026-03-09T11:00:00Z"}},
		{"unknown tzid without vtimezone is floating", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;TZID=Mars/Olympus_Mons:20260302T090000
DTEND;TZID=Mars/Olympus_Mons:20260302T100000
END:VEVENT`, []string{"2026-03-02T08:00:00Z 2026-03-02T09:00:00Z"}},
		{"quoted windows name", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;TZID="Eastern Standard Time":20260302T090000
DTEND;TZID="Eastern Standard Time":20260302T100000
END:VEVENT`, []string{"2026-03-02T14:00:00Z 2026-03-02T15:00:00Z"}},
		{"daily rule from 2010", `
BEGIN:VEVENT
UID:a
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20100101T230000
DTEND;TZID=Europe/Berlin:20100102T010000
RRULE:FREQ=DAILY;INTERVAL=3
END:VEVENT`, []string{"2026-03-02T22:00:00Z 2026-03-03T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
			if strings.Contains(tt.name, "future") || strings.Contains(tt.name, "override") || strings.Contains(tt.name, "orphan") || strings.Contains(tt.name, "spring") || strings.Contains(tt.name, "dtstart") {
				to = fixtureTo
			}
			f, err := parseFeed([]byte(wrap(tt.feed)), fixtureFrom, to, berlin)
			if err != nil {
				t.Fatal(err)
			}
			if got := occurrenceStrings(f.occ); !slices.Equal(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
				t.Fatalf("occurrences\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestParseBusyRefused lists what is refused whole (the last good copy is
// then kept): no iCalendar data at all (an HTML login page read as an empty
// calendar would free every slot), and a feed that stops inside a
// component, as a cut-off download does.
func TestParseBusyRefused(t *testing.T) {
	tests := map[string]string{
		"empty":          "",
		"not ical":       "hello world",
		"html":           "<!DOCTYPE html>\r\n<html><body>Sign in</body></html>\r\n",
		"no end":         "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n",
		"cut in a line":  "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T10",
		"cut in a param": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=x\r\n",
	}
	for name, feed := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseBusy(strings.NewReader(feed), fixtureFrom, fixtureTo, time.UTC)
			if err == nil || !strings.HasPrefix(err.Error(), "calendar: ") {
				t.Fatalf("ParseBusy error = %v, want a calendar: error", err)
			}
		})
	}
}

// TestVTimezone builds zones from VTIMEZONE blocks and compares them with
// the IANA zones they describe, every hour of two years.
func TestVTimezone(t *testing.T) {
	tests := []struct{ fixture, tzid, iana string }{
		{"outlook.ics", "Customized Time Zone", "Europe/Berlin"},
		{"outlook.ics", "Pacific Standard Time", "America/Los_Angeles"},
		{"google.ics", "America/New_York", "America/New_York"},
	}
	for _, tt := range tests {
		comps := vtimezones(t, readFixture(t, tt.fixture))
		loc, err := zoneFromVTimezone(tt.tzid, comps[tt.tzid], fixtureTo, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.tzid, err)
		}
		ref := mustLoc(t, tt.iana)
		for at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2027; at = at.Add(time.Hour) {
			_, a := at.In(loc).Zone()
			_, b := at.In(ref).Zone()
			if a != b {
				t.Fatalf("%s at %v: offset %d, %s says %d", tt.tzid, at, a, tt.iana, b)
			}
		}
	}
}

func vtimezones(t *testing.T, data []byte) map[string]*node {
	t.Helper()
	roots, err := lexFeed(data, &skipLog{})
	if err != nil || len(roots) != 1 {
		t.Fatalf("lexFeed: %d roots, %v", len(roots), err)
	}
	out := map[string]*node{}
	for _, c := range roots[0].children {
		if c.name == "VTIMEZONE" {
			out[c.text("TZID")] = c
		}
	}
	return out
}

func TestWindowsZones(t *testing.T) {
	for win, iana := range windowsZones {
		if _, err := time.LoadLocation(iana); err != nil {
			t.Errorf("%q -> %q: %v", win, iana, err)
		}
	}
	for name, want := range map[string]string{
		"W. Europe Standard Time":                               "Europe/Berlin",
		"Pacific Standard Time":                                 "America/Los_Angeles",
		"Eastern Standard Time":                                 "America/New_York",
		"GMT Standard Time":                                     "Europe/London",
		"AUS Eastern Standard Time":                             "Australia/Sydney",
		"India Standard Time":                                   "Asia/Calcutta",
		"Romance Standard Time":                                 "Europe/Paris",
		"Central European Standard Time":                        "Europe/Warsaw",
		`"Tokyo Standard Time"`:                                 "Asia/Tokyo",
		"/mozilla.org/20050126_1/Europe/Berlin":                 "Europe/Berlin",
		"/softwarestudio.org/Olson_20011030_5/America/New_York": "America/New_York",
		"Europe/Lisbon":                                         "Europe/Lisbon",
	} {
		loc := LookupZone(name)
		if loc == nil || loc.String() != want {
			t.Errorf("LookupZone(%q) = %v, want %s", name, loc, want)
		}
	}
	for _, bad := range []string{"", "Local", "../../etc/passwd", "/etc/localtime", "Customized Time Zone", "Mars/Olympus_Mons"} {
		if loc := LookupZone(bad); loc != nil {
			t.Errorf("LookupZone(%q) = %v, want nil", bad, loc)
		}
	}
}

// busyCorpus lists testdata/busyfeeds (real-world feeds, see its README)
// with the window of each in LIST.txt.
func busyCorpus(t testing.TB) []struct {
	name     string
	from, to Date
} {
	t.Helper()
	list, err := os.ReadFile(filepath.Join("testdata", "busyfeeds", "LIST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		name     string
		from, to Date
	}
	for _, l := range strings.Split(string(list), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 || strings.HasPrefix(l, "#") {
			continue
		}
		a, b, _ := strings.Cut(f[3], "..")
		from, err1 := ParseDate(a)
		to, err2 := ParseDate(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("LIST.txt: %q", l)
		}
		out = append(out, struct {
			name     string
			from, to Date
		}{f[0], from, to})
	}
	if len(out) != 80 {
		t.Fatalf("LIST.txt names %d feeds, want 80", len(out))
	}
	return out
}

// TestBusyFeedsCorpus reads every feed of the corpus over its window with
// the CEO in UTC, New York and Berlin: none is refused whole. (How the
// slots offered compare with the references is shared/interop/busy-feeds/
// compare, run by .ci/run.)
func TestBusyFeedsCorpus(t *testing.T) {
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin"} {
		loc := mustLoc(t, zone)
		for _, c := range busyCorpus(t) {
			data, err := os.ReadFile(filepath.Join("testdata", "busyfeeds", c.name))
			if err != nil {
				t.Fatal(err)
			}
			f, err := parseFeed(data, c.from.In(loc).Add(-24*time.Hour), c.to.AddDays(1).In(loc), loc)
			if err != nil {
				t.Errorf("%s, CEO in %s: %v", c.name, zone, err)
				continue
			}
			if f.events == 0 {
				t.Errorf("%s, CEO in %s: no events", c.name, zone)
			}
		}
	}
}

func FuzzParseBusy(f *testing.F) {
	for _, name := range []string{"google.ics", "outlook.ics", "apple.ics", "invite_request.ics", "feed.ics"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range busyCorpus(f) {
		b, err := os.ReadFile(filepath.Join("testdata", "busyfeeds", c.name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T100000Z\r\nDURATION:P1W\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// From the fixtures' March 2026 to the corpus' windows.
	to := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		iv, err := ParseBusy(bytes.NewReader(data), fixtureFrom, to, berlin)
		if err != nil {
			return
		}
		for i, x := range iv {
			if !x.Start.Before(x.End) || (i > 0 && !iv[i-1].End.Before(x.Start)) {
				t.Fatalf("bad intervals %v", iv)
			}
		}
	})
}

// generatedFeed writes a feed of n events, most of them weekly recurring
// with EXDATEs, as an Exchange calendar of several years would hold.
func generatedFeed(n int) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n")
	zones := []string{"Europe/Berlin", "W. Europe Standard Time", "America/New_York", "UTC"}
	for i := range n {
		start := time.Date(2022+i%4, time.Month(1+i%12), 1+i%28, 8+i%10, (i%4)*15, 0, 0, time.UTC)
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:ev-%d@bench\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Event %d\r\n", i, i)
		tz := zones[i%len(zones)]
		fmt.Fprintf(&b, "DTSTART;TZID=%s:%s\r\nDTEND;TZID=%s:%s\r\n", tz, start.Format("20060102T150405"), tz, start.Add(45*time.Minute).Format("20060102T150405"))
		switch i % 5 {
		case 0, 1, 2:
			fmt.Fprintf(&b, "RRULE:FREQ=WEEKLY;BYDAY=%s\r\n", []string{"MO", "TU", "WE", "TH", "FR"}[i%5])
			for k := 1; k <= 3; k++ {
				fmt.Fprintf(&b, "EXDATE;TZID=%s:%s\r\n", tz, start.AddDate(0, 0, 7*k*(1+i%20)).Format("20060102T150405"))
			}
		case 3:
			b.WriteString("RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20270101T000000Z\r\n")
		}
		b.WriteString("END:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

func BenchmarkParseBusy5000(b *testing.B) {
	data := generatedFeed(5000)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(30 * 24 * time.Hour)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		iv, err := ParseBusy(bytes.NewReader(data), from, to, berlin)
		if err != nil {
			b.Fatal(err)
		}
		n = len(iv)
	}
	b.ReportMetric(float64(n), "intervals")
}
