package calendar

import (
	"archive/zip"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustHours(t testing.TB, s string) Week {
	t.Helper()
	w, err := ParseHours(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func utc(t testing.TB, s string) time.Time {
	t.Helper()
	x, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func starts(slots []Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.Start.UTC().Format(time.RFC3339)
	}
	return out
}

// TestSlotsDST pins the exact slot instants on the nights of daylight-saving
// changes in zones of both hemispheres, with Friday and midnight transitions,
// a half-hour zone and Lord Howe's 30-minute shift.
func TestSlotsDST(t *testing.T) {
	tests := []struct {
		name, zone, hours, date string
		slot                    time.Duration
		want                    []string
	}{
		{"berlin spring: 02:00-03:00 missing", "Europe/Berlin", "sun 01:00-04:00", "2026-03-29", 30 * time.Minute,
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
		{"berlin fall: 02:00-03:00 twice, first taken", "Europe/Berlin", "sun 01:00-04:00", "2026-10-25", 30 * time.Minute,
			[]string{"2026-10-24T23:00:00Z", "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"}},
		{"new york spring", "America/New_York", "sun 01:00-04:00", "2026-03-08", 30 * time.Minute,
			[]string{"2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
		{"new york fall", "America/New_York", "sun 00:00-03:00", "2026-11-01", 30 * time.Minute,
			[]string{"2026-11-01T04:00:00Z", "2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T07:30:00Z"}},
		{"new york spring, range ends in the gap", "America/New_York", "sun 00:00-02:30", "2026-03-08", 30 * time.Minute,
			[]string{"2026-03-08T05:00:00Z", "2026-03-08T05:30:00Z", "2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z"}},
		{"new york fall, range ends in the repeated hour", "America/New_York", "sun 00:00-01:30", "2026-11-01", 30 * time.Minute,
			[]string{"2026-11-01T04:00:00Z", "2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z"}},
		{"new york fall, hourly slots", "America/New_York", "sun 00:00-04:00", "2026-11-01", time.Hour,
			[]string{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
		{"new york ordinary day", "America/New_York", "mon 09:00-10:30", "2026-11-02", 30 * time.Minute,
			[]string{"2026-11-02T14:00:00Z", "2026-11-02T14:30:00Z", "2026-11-02T15:00:00Z"}},
		{"sydney fall (april)", "Australia/Sydney", "sun 01:00-04:00", "2026-04-05", 30 * time.Minute,
			[]string{"2026-04-04T14:00:00Z", "2026-04-04T14:30:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z", "2026-04-04T17:00:00Z", "2026-04-04T17:30:00Z"}},
		{"sydney spring (october)", "Australia/Sydney", "sun 01:00-04:00", "2026-10-04", 30 * time.Minute,
			[]string{"2026-10-03T15:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z", "2026-10-03T16:30:00Z"}},
		{"santiago spring: midnight missing", "America/Santiago", "sun 00:00-02:00", "2026-09-06", 30 * time.Minute,
			[]string{"2026-09-06T04:00:00Z", "2026-09-06T04:30:00Z"}},
		{"santiago fall: 23:00-24:00 twice", "America/Santiago", "sat 22:00-24:00", "2026-04-04", 30 * time.Minute,
			[]string{"2026-04-05T01:00:00Z", "2026-04-05T01:30:00Z", "2026-04-05T02:00:00Z", "2026-04-05T02:30:00Z"}},
		{"santiago day after fall", "America/Santiago", "sun 00:00-01:00", "2026-04-05", 30 * time.Minute,
			[]string{"2026-04-05T04:00:00Z", "2026-04-05T04:30:00Z"}},
		{"jerusalem friday spring", "Asia/Jerusalem", "fri 01:00-04:00", "2026-03-27", 30 * time.Minute,
			[]string{"2026-03-26T23:00:00Z", "2026-03-26T23:30:00Z", "2026-03-27T00:00:00Z", "2026-03-27T00:30:00Z"}},
		{"jerusalem friday, working hours", "Asia/Jerusalem", "fri 09:00-10:00", "2026-03-27", 30 * time.Minute,
			[]string{"2026-03-27T06:00:00Z", "2026-03-27T06:30:00Z"}},
		{"beirut spring: midnight missing", "Asia/Beirut", "sun 00:00-02:00", "2026-03-29", 30 * time.Minute,
			[]string{"2026-03-28T22:00:00Z", "2026-03-28T22:30:00Z"}},
		{"adelaide spring", "Australia/Adelaide", "sun 01:00-04:00", "2026-10-04", 30 * time.Minute,
			[]string{"2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z", "2026-10-03T16:30:00Z", "2026-10-03T17:00:00Z"}},
		{"lord howe spring: 02:00-02:30 missing", "Australia/Lord_Howe", "sun 01:00-04:00", "2026-10-04", 30 * time.Minute,
			[]string{"2026-10-03T14:30:00Z", "2026-10-03T15:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z", "2026-10-03T16:30:00Z"}},
		{"lord howe spring, hour slots overlap after the gap: dropped", "Australia/Lord_Howe", "sun 01:30-05:30", "2026-10-04", time.Hour,
			[]string{"2026-10-03T15:00:00Z", "2026-10-03T16:30:00Z", "2026-10-03T17:30:00Z"}},
		{"lord howe fall: 01:30-02:00 twice", "Australia/Lord_Howe", "sun 01:00-03:00", "2026-04-05", 30 * time.Minute,
			[]string{"2026-04-04T14:00:00Z", "2026-04-04T14:30:00Z", "2026-04-04T15:30:00Z", "2026-04-04T16:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoc(t, tt.zone)
			d, err := ParseDate(tt.date)
			if err != nil {
				t.Fatal(err)
			}
			r := Rules{Location: loc, Hours: mustHours(t, tt.hours), Slot: tt.slot, HorizonDays: 3660}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			now := utc(t, "2026-01-01T00:00:00Z")
			from, to := d.AddDays(-1).In(loc), d.AddDays(2).In(loc)
			got := r.Slots(now, from, to, nil, nil)
			if !slices.Equal(starts(got), tt.want) {
				t.Fatalf("slots\n got %q\nwant %q", starts(got), tt.want)
			}
			for _, s := range got {
				if s.End.Sub(s.Start) != tt.slot {
					t.Errorf("slot %v lasts %v", s.Start, s.End.Sub(s.Start))
				}
				if DateOf(s.Start) != d {
					t.Errorf("slot %v is not on %v", s.Start, d)
				}
				if _, err := r.Check(now, s.Start, nil, nil); err != nil {
					t.Errorf("Check(%v): %v", s.Start, err)
				}
				if _, err := r.Check(now, s.Start.Add(time.Minute), nil, nil); !errors.Is(err, ErrNotOffered) {
					t.Errorf("Check(%v) = %v, want ErrNotOffered", s.Start.Add(time.Minute), err)
				}
			}
		})
	}
}

func TestSlotsRules(t *testing.T) {
	// 2026-06-01 is a Monday. Hours 09:00-12:00 UTC, 30-minute slots.
	now := utc(t, "2026-06-01T00:00:00Z")
	base := Rules{Location: time.UTC, Hours: mustHours(t, "mon-fri 09:00-12:00"), Slot: 30 * time.Minute, HorizonDays: 30}
	iv := func(a, b string) Interval { return Interval{utc(t, a), utc(t, b)} }
	day := func(d string, hhmm ...string) []string {
		var out []string
		for _, x := range hhmm {
			out = append(out, d+"T"+x+":00Z")
		}
		return out
	}
	all := func(d string) []string { return day(d, "09:00", "09:30", "10:00", "10:30", "11:00", "11:30") }
	tests := []struct {
		name         string
		mod          func(*Rules)
		now          time.Time
		from, to     string
		busy, booked []Interval
		want         []string
	}{
		{name: "plain day", from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z", want: all("2026-06-01")},
		{name: "weekend has no hours", from: "2026-06-06T00:00:00Z", to: "2026-06-08T00:00:00Z", want: nil},
		{name: "from/to cut by start", from: "2026-06-01T09:30:00Z", to: "2026-06-01T11:00:00Z", want: day("2026-06-01", "09:30", "10:00", "10:30")},
		{name: "min notice", mod: func(r *Rules) { r.MinNotice = 12 * time.Hour }, now: utc(t, "2026-05-31T22:00:00Z"),
			from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z", want: day("2026-06-01", "10:00", "10:30", "11:00", "11:30")},
		{name: "min notice not on a boundary", mod: func(r *Rules) { r.MinNotice = 10 * time.Hour }, now: utc(t, "2026-06-01T00:01:00Z"),
			from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z", want: day("2026-06-01", "10:30", "11:00", "11:30")},
		{name: "horizon: today+1 is the last date", mod: func(r *Rules) { r.HorizonDays = 1 },
			from: "2026-06-01T00:00:00Z", to: "2026-06-10T00:00:00Z", want: append(all("2026-06-01"), all("2026-06-02")...)},
		{name: "horizon 0: today only", mod: func(r *Rules) { r.HorizonDays = 0 },
			from: "2026-06-01T00:00:00Z", to: "2026-06-10T00:00:00Z", want: all("2026-06-01")},
		{name: "horizon counted in the CEO zone", mod: func(r *Rules) {
			r.HorizonDays = 1
			r.Location = mustLoc(t, "Pacific/Auckland")
			r.Hours = mustHours(t, "mon-sun 09:00-09:30")
		},
			now:  utc(t, "2026-06-01T13:00:00Z"), // already 2026-06-02 01:00 in Auckland
			from: "2026-06-01T00:00:00Z", to: "2026-06-10T00:00:00Z", want: []string{"2026-06-01T21:00:00Z", "2026-06-02T21:00:00Z"}},
		{name: "closed date and span", mod: func(r *Rules) {
			r.Closed = []DateRange{{Date{2026, 6, 2}, Date{2026, 6, 2}}, {Date{2026, 6, 3}, Date{2026, 6, 4}}}
		}, from: "2026-06-01T00:00:00Z", to: "2026-06-06T00:00:00Z", want: append(all("2026-06-01"), all("2026-06-05")...)},
		{name: "busy overlap blocks only overlapping slots", from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			busy: []Interval{iv("2026-06-01T09:15:00Z", "2026-06-01T09:45:00Z"), iv("2026-06-01T11:00:00Z", "2026-06-01T11:30:00Z")},
			want: day("2026-06-01", "10:00", "10:30", "11:30")},
		{name: "busy touching a slot does not block it", from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			busy: []Interval{iv("2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z"), iv("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z")},
			want: all("2026-06-01")},
		{name: "long busy from the day before", from: "2026-06-01T00:00:00Z", to: "2026-06-03T00:00:00Z",
			busy: []Interval{iv("2026-05-20T00:00:00Z", "2026-06-01T23:00:00Z"), iv("2026-05-21T00:00:00Z", "2026-05-21T01:00:00Z")},
			want: all("2026-06-02")},
		{name: "unsorted busy", from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			busy: []Interval{iv("2026-06-01T11:00:00Z", "2026-06-01T11:30:00Z"), iv("2026-06-01T09:15:00Z", "2026-06-01T09:45:00Z")},
			want: day("2026-06-01", "10:00", "10:30", "11:30")},
		{name: "booked without buffer", from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			booked: []Interval{iv("2026-06-01T10:00:00Z", "2026-06-01T10:30:00Z")},
			want:   day("2026-06-01", "09:00", "09:30", "10:30", "11:00", "11:30")},
		{name: "buffer around booked", mod: func(r *Rules) { r.Buffer = 15 * time.Minute }, from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			booked: []Interval{iv("2026-06-01T10:00:00Z", "2026-06-01T10:30:00Z")},
			want:   day("2026-06-01", "09:00", "11:00", "11:30")},
		{name: "buffer around busy", mod: func(r *Rules) { r.Buffer = 30 * time.Minute }, from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			busy: []Interval{iv("2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z")},
			want: day("2026-06-01", "09:00", "09:30", "10:00", "10:30", "11:00")},
		{name: "buffer exactly fits", mod: func(r *Rules) { r.Buffer = 30 * time.Minute }, from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			booked: []Interval{iv("2026-06-01T10:00:00Z", "2026-06-01T10:30:00Z")},
			want:   day("2026-06-01", "09:00", "11:00", "11:30")},
		{name: "daily cap reached", mod: func(r *Rules) { r.DailyCap = 2 }, from: "2026-06-01T00:00:00Z", to: "2026-06-03T00:00:00Z",
			booked: []Interval{iv("2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z"), iv("2026-06-01T11:00:00Z", "2026-06-01T11:30:00Z")},
			want:   all("2026-06-02")},
		{name: "daily cap not reached", mod: func(r *Rules) { r.DailyCap = 3 }, from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z",
			booked: []Interval{iv("2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z"), iv("2026-06-01T11:00:00Z", "2026-06-01T11:30:00Z")},
			want:   day("2026-06-01", "09:30", "10:00", "10:30", "11:30")},
		{name: "daily cap counts CEO-local dates", mod: func(r *Rules) {
			r.DailyCap = 1
			r.Location = mustLoc(t, "America/New_York")
			r.Hours = mustHours(t, "mon-fri 09:00-10:00")
		}, from: "2026-06-01T00:00:00Z", to: "2026-06-03T00:00:00Z",
			// 2026-06-02T02:00Z is still June 1 in New York.
			booked: []Interval{iv("2026-06-02T02:00:00Z", "2026-06-02T02:30:00Z")},
			want:   []string{"2026-06-02T13:00:00Z", "2026-06-02T13:30:00Z"}},
		{name: "empty window", from: "2026-06-01T10:00:00Z", to: "2026-06-01T10:00:00Z", want: nil},
		{name: "window in the past", now: utc(t, "2026-06-03T00:00:00Z"), from: "2026-06-01T00:00:00Z", to: "2026-06-02T00:00:00Z", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			if tt.mod != nil {
				tt.mod(&r)
			}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			n := now
			if !tt.now.IsZero() {
				n = tt.now
			}
			got := r.Slots(n, utc(t, tt.from), utc(t, tt.to), tt.busy, tt.booked)
			if !slices.Equal(starts(got), tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("slots\n got %q\nwant %q", starts(got), tt.want)
			}
			// Check agrees with Slots on every offered start and every half hour around.
			offered := map[int64]bool{}
			for _, s := range got {
				offered[s.Start.Unix()] = true
			}
			for c := utc(t, tt.from).Add(-time.Hour); c.Before(utc(t, tt.to)); c = c.Add(30 * time.Minute) {
				_, err := r.Check(n, c, tt.busy, tt.booked)
				inWindow := !c.Before(utc(t, tt.from))
				if inWindow && offered[c.Unix()] != (err == nil) {
					t.Errorf("Check(%v) = %v, offered %v", c, err, offered[c.Unix()])
				}
				if err != nil && !errors.Is(err, ErrNotOffered) {
					t.Errorf("Check(%v) = %v, want ErrNotOffered", c, err)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := Rules{Location: time.UTC, Hours: mustHours(t, "mon-fri 09:00-17:00"), HorizonDays: 30}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Rules)
		want string
	}{
		{"slot too short", func(r *Rules) { r.Slot = 30 * time.Second }, "slot length"},
		{"slot not minutes", func(r *Rules) { r.Slot = 90 * time.Second }, "slot length"},
		{"slot longer than hours", func(r *Rules) { r.Slot = 9 * time.Hour }, "long enough"},
		{"negative buffer", func(r *Rules) { r.Buffer = -time.Minute }, "buffer"},
		{"negative notice", func(r *Rules) { r.MinNotice = -time.Minute }, "notice"},
		{"negative horizon", func(r *Rules) { r.HorizonDays = -1 }, "horizon"},
		{"huge horizon", func(r *Rules) { r.HorizonDays = 100000 }, "horizon"},
		{"negative cap", func(r *Rules) { r.DailyCap = -1 }, "cap"},
		{"no hours", func(r *Rules) { r.Hours = Week{} }, "long enough"},
		{"unsorted hours", func(r *Rules) { r.Hours[1] = []Range{{600, 700}, {500, 550}} }, "overlap"},
		{"closed backwards", func(r *Rules) { r.Closed = []DateRange{{Date{2026, 1, 2}, Date{2026, 1, 1}}} }, "closed"},
	}
	for _, tt := range tests {
		r := ok
		r.Hours = mustHours(t, "mon-fri 09:00-17:00")
		tt.mod(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tt.name, err, tt.want)
		}
	}
}

// zoneNames lists every zone of the Go distribution's zone database.
func zoneNames(t testing.TB) []string {
	t.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip")
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("zone list: %v (the property test needs the Go distribution's zoneinfo.zip)", err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") {
			names = append(names, f.Name)
		}
	}
	if len(names) < 300 {
		t.Fatalf("zone list: only %d zones in %s", len(names), path)
	}
	return names
}

// TestSlotsEveryZone checks the slot invariants in every zone for a year.
func TestSlotsEveryZone(t *testing.T) {
	names := zoneNames(t)
	if testing.Short() {
		names = names[:40]
	}
	hours := mustHours(t, "mon-sun 00:00-03:15,11:00-12:30,22:30-24:00")
	for _, slot := range []time.Duration{30 * time.Minute, 45 * time.Minute} {
		for _, name := range names {
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			r := Rules{Location: loc, Hours: hours, Slot: slot, MinNotice: 12 * time.Hour, HorizonDays: 400}
			now := time.Date(2026, 1, 1, 7, 13, 0, 0, time.UTC)
			checkZoneYear(t, r, now)
		}
	}
}

func checkZoneYear(t *testing.T, r Rules, now time.Time) {
	t.Helper()
	loc, slot := r.Location, r.slot()
	starts := map[int]bool{} // configured wall starts, minutes
	for _, rg := range r.Hours[0] {
		for m := rg.Start; time.Duration(rg.End-m)*time.Minute >= slot; m += int(slot / time.Minute) {
			starts[m] = true
		}
	}
	from, to := now, now.AddDate(1, 0, 0)
	got := r.Slots(now, from, to, nil, nil)
	if len(got) == 0 {
		t.Fatalf("%s: no slots", loc)
	}
	perDate := map[Date]int{}
	for i, s := range got {
		l := s.Start.In(loc)
		if !starts[l.Hour()*60+l.Minute()] || l.Second() != 0 {
			t.Fatalf("%s: slot %v at wall %s, not a configured start", loc, s.Start, l.Format("15:04:05"))
		}
		if s.End.Sub(s.Start) != slot {
			t.Fatalf("%s: slot %v lasts %v", loc, s.Start, s.End.Sub(s.Start))
		}
		if s.Start.Before(now.Add(r.MinNotice)) {
			t.Fatalf("%s: slot %v before now+notice", loc, s.Start)
		}
		if i > 0 && s.Start.Before(got[i-1].End) {
			t.Fatalf("%s: slot %v not after the end of %v (unsorted, duplicate or overlapping)", loc, s.Start, got[i-1].Start)
		}
		// The fast path agrees with the careful conversion (sampled, and
		// always in the small hours, where zones change).
		if i%7 == 0 || l.Hour() < 4 {
			w, ok := wallInstant(loc, DateOf(l), l.Hour()*60+l.Minute())
			if !ok || !w.Equal(s.Start) {
				t.Fatalf("%s: slot %v, wallInstant says %v %v", loc, s.Start, w, ok)
			}
		}
		perDate[DateOf(l)]++
		// Check agrees: offered here, not offered a minute later. Sampled to keep the test fast.
		if i%61 == 0 {
			if c, err := r.Check(now, s.Start, nil, nil); err != nil || !c.Start.Equal(s.Start) {
				t.Fatalf("%s: Check(%v) = %v, %v", loc, s.Start, c, err)
			}
			if _, err := r.Check(now, s.Start.Add(time.Minute), nil, nil); !errors.Is(err, ErrNotOffered) {
				t.Fatalf("%s: Check(%v) = %v, want ErrNotOffered", loc, s.Start.Add(time.Minute), err)
			}
		}
	}
	// Every full date without a zone change offers every configured start.
	first, last := DateOf(got[0].Start.In(loc)).AddDays(1), DateOf(got[len(got)-1].Start.In(loc)).AddDays(-1)
	for d := first; d.Before(last); d = d.AddDays(1) {
		a, b := d.In(loc), d.AddDays(1).In(loc)
		_, ze := a.ZoneBounds()
		if (ze.IsZero() || ze.After(b)) && b.Sub(a) == 24*time.Hour && perDate[d] != len(starts) {
			t.Fatalf("%s: %v has %d slots, want %d", loc, d, perDate[d], len(starts))
		}
	}
	// Check on a transition day matches Slots exactly, for every minute around each slot.
	for i, s := range got {
		if s.Start.In(loc).Hour() > 4 || i%5 != 0 {
			continue
		}
		d := DateOf(s.Start.In(loc))
		a, b := d.In(loc), d.AddDays(1).In(loc)
		if b.Sub(a) == 24*time.Hour {
			continue
		}
		offered := map[int64]bool{}
		for _, x := range r.Slots(now, a, b, nil, nil) {
			offered[x.Start.Unix()] = true
		}
		for c := a; c.Before(a.Add(5 * time.Hour)); c = c.Add(15 * time.Minute) {
			_, err := r.Check(now, c, nil, nil)
			if (err == nil) != offered[c.Unix()] {
				t.Fatalf("%s: Check(%v) = %v, Slots offers it: %v", loc, c, err, offered[c.Unix()])
			}
		}
	}
}

func ExampleRules_Slots() {
	loc, _ := time.LoadLocation("Europe/Berlin")
	hours, _ := ParseHours("mon-fri 09:00-10:00")
	r := Rules{Location: loc, Hours: hours, Slot: 30 * time.Minute, MinNotice: 12 * time.Hour, HorizonDays: 30}
	now := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC) // a Friday
	for _, s := range r.Slots(now, now, now.Add(4*24*time.Hour), nil, nil) {
		fmt.Println(s.Start.Format("Mon 2006-01-02 15:04 MST"), s.End.Format("15:04"))
	}
	// Output:
	// Mon 2026-03-30 09:00 CEST 09:30
	// Mon 2026-03-30 09:30 CEST 10:00
	// Tue 2026-03-31 09:00 CEST 09:30
	// Tue 2026-03-31 09:30 CEST 10:00
}
