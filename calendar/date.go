package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date (no zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a date written as YYYY-MM-DD, e.g. "2026-12-24".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return Date{}, fmt.Errorf("calendar: bad date %q (want YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// AddDays returns the date n days after d (before d when n is negative).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// After reports whether d is after o.
func (d Date) After(o Date) bool { return o.Before(d) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// civilUnix is the Unix time of the wall clock d 00:00 read as UTC: the base
// from which wall-clock seconds of the day are counted.
func (d Date) civilUnix() int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix()
}

// In returns the first instant of d in loc: local midnight, or, when midnight
// does not exist on that date (a daylight-saving jump at midnight, as in
// America/Santiago), the first instant that does.
func (d Date) In(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t, ok := wallInstant(loc, d, 0)
	if ok {
		return t
	}
	// Midnight is in a gap: the day starts at the transition, which bounds
	// the zone period that contains t.
	start, end := t.ZoneBounds()
	if DateOf(t).Before(d) {
		return end
	}
	return start
}

// wallInstant converts the wall clock "minute of day" on date d in loc to an
// instant. ok is false when that wall time does not exist (spring-forward
// gap); t is then Go's normalised time. A wall time that exists twice
// (fall-back) yields its first occurrence.
func wallInstant(loc *time.Location, d Date, minute int) (t time.Time, ok bool) {
	h, m := minute/60, minute%60
	t = time.Date(d.Year, d.Month, d.Day, h, m, 0, 0, loc)
	if !sameWall(t, d, h, m) {
		return t, false
	}
	// time.Date picks either occurrence of a repeated wall time; look for an
	// earlier one just before the start of t's zone period.
	zs, _ := t.ZoneBounds()
	if zs.IsZero() {
		return t, true
	}
	_, cur := t.Zone()
	_, prev := zs.Add(-time.Second).Zone()
	if prev > cur {
		alt := t.Add(-time.Duration(prev-cur) * time.Second)
		if alt.Before(zs) && sameWall(alt, d, h, m) {
			return alt, true
		}
	}
	return t, true
}

func sameWall(t time.Time, d Date, h, m int) bool {
	y, mo, dd := t.Date()
	hh, mm, _ := t.Clock()
	return y == d.Year && mo == d.Month && dd == d.Day && hh == h && mm == m
}
