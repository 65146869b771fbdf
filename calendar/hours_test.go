package calendar

import (
	"strings"
	"testing"
	"time"
)

func TestParseHours(t *testing.T) {
	r := func(a, b string) Range {
		t.Helper()
		x, err := parseClock(a)
		if err != nil {
			t.Fatal(err)
		}
		y, err := parseClock(b)
		if err != nil {
			t.Fatal(err)
		}
		return Range{x, y}
	}
	weekdays := func(rs ...Range) Week {
		var w Week
		for d := time.Monday; d <= time.Friday; d++ {
			w[d] = rs
		}
		return w
	}
	tests := []struct {
		in      string
		want    Week
		wantErr string // substring of the error; "" means no error
	}{
		{in: "mon-fri 09:00-17:00", want: weekdays(r("09:00", "17:00"))},
		{in: "  MON-Fri   09:00-17:00 ", want: weekdays(r("09:00", "17:00"))},
		{in: "monday-friday 09:00-17:00", want: weekdays(r("09:00", "17:00"))},
		{in: "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-12:00", want: func() Week {
			w := weekdays(r("09:00", "12:00"), r("13:00", "17:00"))
			w[time.Friday] = []Range{r("09:00", "12:00")}
			return w
		}()},
		{in: "sat 10:00-12:00", want: func() Week { var w Week; w[time.Saturday] = []Range{r("10:00", "12:00")}; return w }()},
		{in: "sun-mon 22:00-24:00", want: func() Week {
			var w Week
			w[time.Sunday] = []Range{r("22:00", "24:00")}
			w[time.Monday] = []Range{r("22:00", "24:00")}
			return w
		}()},
		{in: "fri-mon 00:00-01:00", want: func() Week {
			var w Week
			for _, d := range []time.Weekday{time.Friday, time.Saturday, time.Sunday, time.Monday} {
				w[d] = []Range{r("00:00", "01:00")}
			}
			return w
		}()},
		{in: "mon,wed 09:00-10:00; tue 08:00-09:00", want: func() Week {
			var w Week
			w[time.Monday] = []Range{r("09:00", "10:00")}
			w[time.Wednesday] = []Range{r("09:00", "10:00")}
			w[time.Tuesday] = []Range{r("08:00", "09:00")}
			return w
		}()},
		{in: "mon 13:00-14:00,09:00-10:00", want: func() Week { var w Week; w[time.Monday] = []Range{r("09:00", "10:00"), r("13:00", "14:00")}; return w }()},
		{in: "mon 09:00-12:00,12:00-13:00", want: func() Week { var w Week; w[time.Monday] = []Range{r("09:00", "12:00"), r("12:00", "13:00")}; return w }()},
		{in: "", wantErr: "empty"},
		{in: "mon-fri", wantErr: `"mon-fri"`},
		{in: "mon-fry 09:00-17:00", wantErr: `bad day "fry"`},
		{in: "mon-fri 9:00-17:00", wantErr: `bad range "9:00-17:00"`},
		{in: "mon-fri 09:00-17:60", wantErr: "bad range"},
		{in: "mon-fri 09:00-24:01", wantErr: "bad range"},
		{in: "mon-fri 24:00-24:00", wantErr: "bad range"},
		{in: "mon-fri 17:00-09:00", wantErr: "start not before end"},
		{in: "mon-fri 09:00-09:00", wantErr: "start not before end"},
		{in: "mon-fri 09:00", wantErr: `bad range "09:00"`},
		{in: "mon-fri 09:00-12:00,11:00-13:00", wantErr: "overlap"},
		{in: "mon-fri 09:00-12:00; wed 11:00-13:00", wantErr: "wed: ranges 09:00-12:00 and 11:00-13:00 overlap"},
		{in: "mon-fri 09:00-12:00;", wantErr: "empty rule"},
		{in: "mon-fri 09:00-12:00,", wantErr: `bad range ""`},
		{in: "mon-fri +9:00-12:00", wantErr: "bad range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHours(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "calendar: ") {
					t.Fatalf("ParseHours(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHours(%q): %v", tt.in, err)
			}
			if got.String() != tt.want.String() {
				t.Errorf("ParseHours(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := ParseHours(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("round trip of %q: %q, %v", got, again, err)
			}
		})
	}
}

func TestParseClosed(t *testing.T) {
	d := func(s string) Date {
		t.Helper()
		x, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct {
		in      string
		want    []DateRange
		wantErr string
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "2026-12-24", want: []DateRange{{d("2026-12-24"), d("2026-12-24")}}},
		{in: "2026-12-24,2026-12-31..2027-01-02", want: []DateRange{{d("2026-12-24"), d("2026-12-24")}, {d("2026-12-31"), d("2027-01-02")}}},
		{in: " 2026-12-24 , 2026-12-31 .. 2027-01-02 ", want: []DateRange{{d("2026-12-24"), d("2026-12-24")}, {d("2026-12-31"), d("2027-01-02")}}},
		{in: "2026-12-24,", wantErr: `""`},
		{in: "2026-12-32", wantErr: "2026-12-32"},
		{in: "2026-2-01", wantErr: "2026-2-01"},
		{in: "2027-01-02..2026-12-31", wantErr: "end before start"},
		{in: "2026-12-31..", wantErr: "bad date"},
		{in: "24.12.2026", wantErr: "bad date"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClosed(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "calendar: ") {
					t.Fatalf("ParseClosed(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseClosed(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseClosed(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("ParseClosed(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2026-12-31")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2027-01-01" {
		t.Errorf("AddDays(1) = %s", got)
	}
	if got := d.AddDays(-365).String(); got != "2025-12-31" {
		t.Errorf("AddDays(-365) = %s", got)
	}
	if !d.Before(d.AddDays(1)) || d.Before(d) || !d.AddDays(1).After(d) {
		t.Error("Before/After wrong")
	}
	if d.Weekday() != time.Thursday {
		t.Errorf("Weekday = %v", d.Weekday())
	}
	tests := []struct {
		zone, date, want string
	}{
		{"Europe/Berlin", "2026-03-29", "2026-03-28T23:00:00Z"},
		{"America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z"}, // midnight does not exist: 01:00 -03
		{"America/Santiago", "2026-04-05", "2026-04-05T04:00:00Z"},
		{"Asia/Beirut", "2026-03-29", "2026-03-28T22:00:00Z"}, // midnight does not exist: 01:00 +03
		{"Asia/Beirut", "2026-10-25", "2026-10-24T22:00:00Z"}, // 23:00-24:00 on the 24th repeats; midnight once
		{"UTC", "2026-01-01", "2026-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		d, _ := ParseDate(tt.date)
		got := d.In(mustLoc(t, tt.zone)).UTC().Format(time.RFC3339)
		if got != tt.want {
			t.Errorf("%s.In(%s) = %s, want %s", tt.date, tt.zone, got, tt.want)
		}
	}
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"mon-fri 09:00-17:00", "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-12:00", "sun-mon 22:00-24:00", "mon,wed-fri 08:00-09:00", "x", ";", "mon 09:00-", "mon 24:00-24:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseHours(s)
		if err != nil {
			return
		}
		for d, rs := range w {
			for i, r := range rs {
				if r.Start < 0 || r.End > 1440 || r.Start >= r.End || (i > 0 && r.Start < rs[i-1].End) {
					t.Fatalf("ParseHours(%q): day %d bad ranges %v", s, d, rs)
				}
			}
		}
		if _, err := ParseHours(w.String()); err != nil && w.String() != "" {
			t.Fatalf("ParseHours(%q) round trip %q: %v", s, w.String(), err)
		}
	})
}

func FuzzParseClosed(f *testing.F) {
	for _, s := range []string{"", "2026-12-24", "2026-12-24,2026-12-31..2027-01-02", "..", ",", "2026-12-31..2026-12-30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseClosed(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.To.Before(r.From) {
				t.Fatalf("ParseClosed(%q) = %v: end before start", s, rs)
			}
		}
	})
}
