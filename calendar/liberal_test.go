package calendar

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests below hold one finding each of the busy-feed corpus
// (shared/interop/busy-feeds, run by .ci/run), with a minimal feed written
// for it. Body lines are numbered from 4: wrapFeed adds three lines above.

func wrapFeed(body string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + strings.ReplaceAll(strings.TrimSpace(body), "\n", "\r\n") + "\r\nEND:VCALENDAR\r\n"
}

// readBusy parses feed over March and April 2026 with the CEO in zone.
func readBusy(t *testing.T, feed string, zone string) *parsedFeed {
	t.Helper()
	f, err := parseFeed([]byte(feed), fixtureFrom, fixtureTo, mustLoc(t, zone))
	if err != nil {
		t.Fatalf("parseFeed: %v", err)
	}
	return f
}

func wantBusy(t *testing.T, f *parsedFeed, want ...string) {
	t.Helper()
	if got := occurrenceStrings(f.occ); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
		t.Errorf("occurrences\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// wantSkipped checks the Skipped entries: each want is "LINE fragment".
func wantSkipped(t *testing.T, f *parsedFeed, want ...string) {
	t.Helper()
	var got []string
	for _, s := range f.skipped {
		got = append(got, fmt.Sprintf("%d %s %s: %s", s.Line, s.Component, s.UID, s.Reason))
	}
	ok := len(got) == len(want) && f.skips == len(want)
	for i := 0; ok && i < len(want); i++ {
		line, frag, _ := strings.Cut(want[i], " ")
		ok = strings.HasPrefix(got[i], line+" ") && strings.Contains(got[i], frag)
	}
	if !ok {
		t.Errorf("skipped (%d)\n got %s\nwant %s", f.skips, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

// Finding 1: Exchange 2010 escapes the commas of a VTIMEZONE's TZID (a
// TEXT value) and quotes the events' TZID parameters instead; they must
// match, or the times are read as floating.
func TestBusyEscapedTZID(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VTIMEZONE
TZID:(UTC+07:00) Bangkok\, Hanoi\, Jakarta
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0700
TZOFFSETTO:+0700
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:a
DTSTART;TZID="(UTC+07:00) Bangkok, Hanoi, Jakarta":20260302T090000
DTEND;TZID="(UTC+07:00) Bangkok, Hanoi, Jakarta":20260302T120000
END:VEVENT`), "Europe/Berlin")
	wantBusy(t, f, "2026-03-02T02:00:00Z 2026-03-02T05:00:00Z")
	wantSkipped(t, f)
}

// Finding 2: a VTIMEZONE observance whose DTSTART is a date begins at its
// midnight; it is not thrown away.
func TestBusyVTimezoneDateStart(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VTIMEZONE
TZID:UTC+11
BEGIN:STANDARD
DTSTART;VALUE=DATE:20170101
TZOFFSETFROM:+1100
TZOFFSETTO:+1100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:a
DTSTART;TZID=UTC+11:20260302T230000
DTEND;TZID=UTC+11:20260302T233000
END:VEVENT`), "Europe/Berlin")
	wantBusy(t, f, "2026-03-02T12:00:00Z 2026-03-02T12:30:00Z")
	wantSkipped(t, f)
}

// Finding 3: several RRULE lines make the union of their occurrences
// (RFC 5545 §3.8.5.3 allows more than one, as RFC 2445 did).
func TestBusyMultipleRRULEs(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=WEEKLY;COUNT=2
RRULE:FREQ=MONTHLY;BYDAY=1FR;UNTIL=20260410T000000Z
END:VEVENT`), "UTC")
	wantBusy(t, f,
		"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z",
		"2026-03-06T10:00:00Z 2026-03-06T11:00:00Z",
		"2026-03-09T10:00:00Z 2026-03-09T11:00:00Z",
		"2026-04-03T10:00:00Z 2026-04-03T11:00:00Z")
}

// Finding 4: of two main events with one UID, the higher SEQUENCE is the
// event (the first on a tie). The references split: ical.js keeps the
// first, recurring-ical-events the higher revision; RFC 5545 §3.8.7.4 makes
// SEQUENCE the revision number, so the higher one supersedes the other.
func TestBusyDuplicateUIDHighestSequence(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
SEQUENCE:1
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
END:VEVENT
BEGIN:VEVENT
UID:a
SEQUENCE:2
DTSTART:20260303T100000Z
DTEND:20260303T110000Z
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260304T100000Z
DTEND:20260304T110000Z
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260305T100000Z
DTEND:20260305T110000Z
END:VEVENT`), "UTC")
	wantBusy(t, f, "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z", "2026-03-04T10:00:00Z 2026-03-04T11:00:00Z")
}

// Finding 5: an all-day DTSTART with a date-time DTEND ends at that
// instant, not at a midnight of the CEO's zone.
func TestBusyAllDayStartTimedEnd(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260302
DTEND:20260304T000000Z
END:VEVENT`), "Europe/Berlin")
	wantBusy(t, f, "2026-03-01T23:00:00Z 2026-03-04T00:00:00Z")
}

// Outlook writes the RECURRENCE-ID (and EXDATE) of an all-day series as
// local midnight in its own zone; it names the date, in any zone the CEO is
// in (the EXDATE frees the 17th there). An override so named is busy on its
// own date, and the date it names stays busy too: RFC 5545 §3.8.4.4 wants
// the RECURRENCE-ID in DTSTART's value type, and the references split on
// this one (ical.js keeps the 10th busy, recurring-ical-events moves it to
// the 11th), so neither one's busy time is offered. That costs the 10th;
// compare's DISAGREE list has two of the corpus's three such feeds
// (op_028, op_049) but not op_048.
func TestBusyAllDayOverrideAtLocalMidnight(t *testing.T) {
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/New_York"} {
		t.Run(zone, func(t *testing.T) {
			f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260303
DTEND;VALUE=DATE:20260304
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=W. Europe Standard Time:20260317T000000
END:VEVENT
BEGIN:VEVENT
UID:a
RECURRENCE-ID;TZID=W. Europe Standard Time:20260310T000000
DTSTART;VALUE=DATE:20260311
DTEND;VALUE=DATE:20260312
END:VEVENT`), zone)
			loc := mustLoc(t, zone)
			var want []string
			for _, d := range []int{3, 10, 11, 24} {
				day := Date{2026, 3, d}
				want = append(want, day.In(loc).UTC().Format(time.RFC3339)+" "+day.AddDays(1).In(loc).UTC().Format(time.RFC3339))
			}
			slices.Sort(want)
			wantBusy(t, f, want...)
		})
	}
}

// Lost slots: a floating UNTIL on a rule whose DTSTART has a zone is read
// as UTC, as both references read it (RFC 5545 §3.3.10 requires UTC
// there); on a floating DTSTART it stays floating.
func TestBusyUntilWithoutZ(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;TZID=America/New_York:20260302T140000
DTEND;TZID=America/New_York:20260302T150000
RRULE:FREQ=DAILY;UNTIL=20260304T140000
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260310T140000
DTEND:20260310T150000
RRULE:FREQ=DAILY;UNTIL=20260311T140000
END:VEVENT`), "Europe/Berlin")
	wantBusy(t, f,
		"2026-03-02T19:00:00Z 2026-03-02T20:00:00Z",
		"2026-03-03T19:00:00Z 2026-03-03T20:00:00Z",
		"2026-03-10T13:00:00Z 2026-03-10T14:00:00Z",
		"2026-03-11T13:00:00Z 2026-03-11T14:00:00Z")
}

// Lost slots: an override whose RECURRENCE-ID matches no occurrence of its
// series is skipped, as ical.js skips it and recurring-ical-events' issue
// 253 asks: one left over after the series ended early, and one of lower
// SEQUENCE left over after the series moved. Overrides that do match stay,
// also one of lower SEQUENCE than its main event and one whose occurrence
// lies long before the window.
func TestBusyOverrideMatchingNoOccurrence(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:ended
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=WEEKLY;UNTIL=20260310T000000Z
END:VEVENT
BEGIN:VEVENT
UID:ended
RECURRENCE-ID:20260316T100000Z
DTSTART:20260317T100000Z
DTEND:20260317T110000Z
END:VEVENT
BEGIN:VEVENT
UID:moved
SEQUENCE:2
DTSTART:20260401T140000Z
DTEND:20260401T150000Z
RRULE:FREQ=WEEKLY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:moved
SEQUENCE:1
RECURRENCE-ID:20260408T100000Z
DTSTART:20260409T160000Z
DTEND:20260409T170000Z
END:VEVENT
BEGIN:VEVENT
UID:lower
SEQUENCE:4
DTSTART;VALUE=DATE:20260421
DTEND;VALUE=DATE:20260422
RRULE:FREQ=WEEKLY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:lower
SEQUENCE:3
RECURRENCE-ID;VALUE=DATE:20260428
DTSTART;VALUE=DATE:20260429
DTEND;VALUE=DATE:20260430
END:VEVENT
BEGIN:VEVENT
UID:old
DTSTART:20250106T080000Z
DTEND:20250106T090000Z
RRULE:FREQ=WEEKLY;UNTIL=20260201T000000Z
END:VEVENT
BEGIN:VEVENT
UID:old
RECURRENCE-ID:20260105T080000Z
DTSTART:20260320T080000Z
DTEND:20260320T090000Z
END:VEVENT`), "UTC")
	wantBusy(t, f,
		"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z",
		"2026-03-09T10:00:00Z 2026-03-09T11:00:00Z",
		"2026-03-20T08:00:00Z 2026-03-20T09:00:00Z",
		"2026-04-01T14:00:00Z 2026-04-01T15:00:00Z",
		"2026-04-08T14:00:00Z 2026-04-08T15:00:00Z",
		"2026-04-21T00:00:00Z 2026-04-22T00:00:00Z",
		"2026-04-29T00:00:00Z 2026-04-30T00:00:00Z")
	wantSkipped(t, f, "10 matches no occurrence", "23 matches no occurrence")
}

// An override is a component of its own (RFC 5545 §3.8.4.4): its TRANSP
// and STATUS decide whether it is busy, not those of its series, as for
// ical.js and recurring-ical-events. One without DTSTART keeps the time of
// its occurrence, on an all-day series its date.
func TestBusyOverrideOwnProperties(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=DAILY;COUNT=3
TRANSP:TRANSPARENT
END:VEVENT
BEGIN:VEVENT
UID:a
RECURRENCE-ID:20260303T100000Z
DTSTART:20260303T120000Z
DTEND:20260303T130000Z
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART;VALUE=DATE:20260310
DTEND;VALUE=DATE:20260311
RRULE:FREQ=WEEKLY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:b
RECURRENCE-ID;TZID=W. Europe Standard Time:20260317T000000
SUMMARY:renamed only
END:VEVENT`), "Europe/Berlin")
	wantBusy(t, f,
		"2026-03-03T12:00:00Z 2026-03-03T13:00:00Z",
		"2026-03-09T23:00:00Z 2026-03-10T23:00:00Z",
		"2026-03-16T23:00:00Z 2026-03-17T23:00:00Z")
}

// Feeds refused whole before: each fault now costs only its line or
// component, reported with line, component, UID and reason.
func TestBusyLiberal(t *testing.T) {
	tests := []struct {
		name, feed string
		want       []string // busy, in UTC; the CEO is in Europe/Berlin
		skipped    []string // "LINE fragment"
	}{
		{"typo in an RRULE part", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260303T100000Z
DTEND:20260303T110000Z
RRULE:FREQ=WEEKLY;UNTL=20260305;COUNT=2
END:VEVENT`), []string{"2026-03-03T10:00:00Z 2026-03-03T11:00:00Z", "2026-03-10T10:00:00Z 2026-03-10T11:00:00Z"},
			[]string{`8 VEVENT a: RRULE unknown part "UNTL=20260305"`}},
		{"RRULE: prefix and a part without a value", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:RRULE:AnythingRandom;FREQ=DAILY;COUNT=2
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z", "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z"},
			[]string{`8 "AnythingRandom" has no value`}},
		{"unreadable RRULE: DTSTART still blocked", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=SOMETIMES
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"},
			[]string{`8 part "FREQ=SOMETIMES" unreadable`, "8 only its first occurrence, DTSTART, is blocked"}},
		{"stray END:VTOOD", wrapFeed(`
BEGIN:VTODO
UID:t
END:VTOOD
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"},
			[]string{"6 END:VTOOD read as the END of VTODO begun at line 4"}},
		{"missing END:VEVENT", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
BEGIN:VEVENT
UID:b
DTSTART:20260303T100000Z
DTEND:20260303T110000Z
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z", "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z"},
			[]string{"4 VEVENT a: not closed before BEGIN:VEVENT at line 8"}},
		{"END:VCALENDAR inside an event", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nEND:VCALENDAR\r\nEND:VEVENT\r\n",
			[]string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"},
			[]string{"2 not closed before END:VCALENDAR at line 6", "7 END:VEVENT without its BEGIN"}},
		{"an event that ends before it starts", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T090000Z
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260303T100000Z
DURATION:-PT1H
END:VEVENT
BEGIN:VEVENT
UID:c
DTSTART;VALUE=DATE:20260304
DURATION:-PT1W1D2H
END:VEVENT
BEGIN:VEVENT
UID:d
DTSTART:20260305T100000Z
DTEND:20260305T110000Z
END:VEVENT`), []string{"2026-03-05T10:00:00Z 2026-03-05T11:00:00Z"},
			[]string{"4 VEVENT a: it ends before it starts: skipped", "9 VEVENT b: it ends before it starts", "14 VEVENT c: it ends before it starts"}},
		{"an override that ends before it starts", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:a
RECURRENCE-ID:20260303T100000Z
DTSTART:20260304T100000Z
DTEND:20260302T110000Z
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z", "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z"},
			[]string{"10 the occurrence it would replace stays busy"}},
		{"unreadable DURATION", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260302
DURATION:P1X
END:VEVENT`), []string{"2026-03-01T23:00:00Z 2026-03-02T23:00:00Z"},
			[]string{`7 VEVENT a: DURATION unreadable (bad duration "P1X"): ignored`}},
		{"indented first line", "      BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			[]string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"}, nil},
		{"indented END line", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\n  END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260303T100000Z\r\nDTEND:20260303T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			[]string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z", "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z"}, nil},
		{"VALUE=DATE with date-time values", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260302T120000
DTEND;VALUE=DATE:20260302T130000
END:VEVENT`), []string{"2026-03-02T11:00:00Z 2026-03-02T12:00:00Z"}, nil},
		{"a date with Z", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20260302
DTEND;VALUE=DATE:20260303
RDATE:20260310Z
END:VEVENT`), []string{"2026-03-01T23:00:00Z 2026-03-02T23:00:00Z", "2026-03-09T23:00:00Z 2026-03-10T23:00:00Z"}, nil},
		{"lines without a colon", wrapFeed(`
BEGIN:VTIMEZONE
TZID:Custom
SOMETHING=odd
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0300
TZOFFSETTO:+0300
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:a
DTSTART;TZID=Custom:20260302T100000
DTEND;TZID=Custom:20260302T110000
SUMMARY=testevent
END:VEVENT`), []string{"2026-03-02T07:00:00Z 2026-03-02T08:00:00Z"},
			[]string{"17 VEVENT a: line without a colon: ignored", `6 VTIMEZONE : "Custom": line without a colon`}},
		{"quote swallowing the colon", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;TZID="W. Europe Standard Time:20260302T090000"
DTEND;TZID=W. Europe Standard Time:20260302T093000
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260303T100000Z
DTEND:20260303T110000Z
END:VEVENT`), []string{"2026-03-03T10:00:00Z 2026-03-03T11:00:00Z"},
			[]string{"6 VEVENT a: DTSTART line without a colon", "4 VEVENT a: no DTSTART: skipped"}},
		{"a bare VEVENT", "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nEND:VEVENT\r\n",
			[]string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"}, nil},
		{"nested too deep", wrapFeed(strings.Repeat("BEGIN:X\n", 12) + strings.Repeat("END:X\n", 12) + `
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"}, []string{"11 X : nested deeper than 8 components: skipped whole"}},
		{"unknown TZID and an unreadable RECURRENCE-ID", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;TZID=Mars/Olympus_Mons:20260302T100000
DTEND;TZID=Mars/Olympus_Mons:20260302T110000
END:VEVENT
BEGIN:VEVENT
UID:b
DTSTART:20260303T100000Z
DTEND:20260303T110000Z
RRULE:FREQ=DAILY;COUNT=2
END:VEVENT
BEGIN:VEVENT
UID:b
RECURRENCE-ID:2026-03-04
DTSTART:20260305T100000Z
DTEND:20260305T110000Z
END:VEVENT
BEGIN:VEVENT
UID:c
DTEND:20260306T110000Z
END:VEVENT`), []string{"2026-03-02T09:00:00Z 2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z 2026-03-03T11:00:00Z",
			"2026-03-04T10:00:00Z 2026-03-04T11:00:00Z", "2026-03-05T10:00:00Z 2026-03-05T11:00:00Z"},
			[]string{`6 TZID "Mars/Olympus_Mons" names no known zone`, "17 RECURRENCE-ID unreadable", "21 VEVENT c: no DTSTART: skipped"}},
		{"unreadable RDATE and EXDATE values", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
RRULE:FREQ=DAILY;COUNT=2
RDATE:2026-03-10
EXDATE:20260303T100000Z,tomorrow
END:VEVENT`), []string{"2026-03-02T10:00:00Z 2026-03-02T11:00:00Z"},
			[]string{"9 RDATE value unreadable", "10 EXDATE value unreadable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := readBusy(t, tt.feed, "Europe/Berlin")
			wantBusy(t, f, tt.want...)
			wantSkipped(t, f, tt.skipped...)
		})
	}
}

// A rule with more occurrences than maxEventIter blocks the rest of the
// window from where it was cut.
func TestBusyTooManyOccurrences(t *testing.T) {
	f := readBusy(t, wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART:20260302T100000Z
DTEND:20260302T100001Z
RRULE:FREQ=SECONDLY;BYHOUR=10
END:VEVENT`), "UTC")
	busy := mergeIntervals(f.busy)
	cut := time.Date(2026, 3, 15, 10, 53, 20, 0, time.UTC) // 50 000 seconds of 10:00 hours
	if last := busy[len(busy)-1]; last.Start.After(cut) || !last.End.Equal(fixtureTo) {
		t.Errorf("last busy interval %v, want %v to the end of the window", last, cut)
	}
	wantSkipped(t, f, "8 has more than 50000 occurrences to expand: busy from 2026-03-15T10:53:20Z to the end of the window")
}

// Where the references split, RFC 5545 decides.
func TestBusyByRFC5545(t *testing.T) {
	tests := []struct {
		name, feed, zone string
		want             []string
	}{
		// RFC 5545 §3.2.19: a TZID beginning with a solidus names a zone of
		// a globally defined registry; ical.js and recurring-ical-events
		// read "/Europe/Stockholm" as unknown, hence floating.
		{"leading solidus", wrapFeed(`
BEGIN:VEVENT
UID:a
DTSTART;TZID=/Europe/Stockholm:20260302T100000
DTEND;TZID=/Europe/Stockholm:20260302T110000
END:VEVENT`), "UTC", []string{"2026-03-02T09:00:00Z 2026-03-02T10:00:00Z"}},
		// X-WR-TIMEZONE is no part of RFC 5545: floating times stay in the
		// CEO's zone (recurring-ical-events applies it, ical.js does not).
		{"X-WR-TIMEZONE", "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:America/Los_Angeles\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260302T100000\r\nDTEND:20260302T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			"Europe/Berlin", []string{"2026-03-02T09:00:00Z 2026-03-02T10:00:00Z"}},
		// A VTIMEZONE whose observances end before the window (changes of
		// 2018-2020 listed as RDATEs) falls back to the IANA rules of its
		// name: ical.js keeps its last offset, +02:00, for ever.
		{"VTIMEZONE ending before the window", wrapFeed(`
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:20181028T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RDATE:20191027T030000
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20190331T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RDATE:20200329T020000
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:a
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
END:VEVENT`), "UTC", []string{"2026-03-02T09:00:00Z 2026-03-02T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantBusy(t, readBusy(t, tt.feed, tt.zone), tt.want...)
		})
	}
}

func TestParseContentLine(t *testing.T) {
	tests := []struct {
		line, name, value string
		params            map[string]string
		err               bool
	}{
		{"DTSTART:20260302T100000Z", "DTSTART", "20260302T100000Z", nil, false},
		{`dtstart;tzid="Bangkok, Hanoi";VALUE=DATE-TIME:20260302T100000`, "DTSTART", "20260302T100000",
			map[string]string{"TZID": "Bangkok, Hanoi", "VALUE": "DATE-TIME"}, false},
		{`X;A="a:b;c";B=x^'y^'^n:v:w`, "X", "v:w", map[string]string{"A": "a:b;c", "B": "x\"y\"\n"}, false},
		{"X;FLAG;A=1;A=2:v", "X", "v", map[string]string{"A": "1"}, false},
		{"DESCRIPTION:", "DESCRIPTION", "", nil, false},
		{"SUMMARY=testevent", "", "", nil, true},
		{`DTSTART;TZID="W. Europe Standard Time:20200609T090000"`, "", "", nil, true},
		{"DTSTART;TZID=Europe/Berlin", "", "", nil, true},
		{":value", "", "", nil, true},
		{"NOT A NAME:value", "", "", nil, true},
	}
	for _, tt := range tests {
		p, err := parseContentLine(tt.line)
		if (err != nil) != tt.err {
			t.Errorf("%q: error %v", tt.line, err)
			continue
		}
		if err != nil {
			continue
		}
		if p.name != tt.name || p.value != tt.value || len(p.params) != len(tt.params) {
			t.Errorf("%q: %+v", tt.line, p)
		}
		for k, v := range tt.params {
			if p.params[k] != v {
				t.Errorf("%q: param %s = %q, want %q", tt.line, k, p.params[k], v)
			}
		}
	}
}
