package calendar

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Range is a span of wall-clock minutes from local midnight, [Start, End).
// End may be 1440 (24:00).
type Range struct{ Start, End int }

// String formats r as HH:MM-HH:MM.
func (r Range) String() string { return clock(r.Start) + "-" + clock(r.End) }

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// Week holds the working hours of each day, indexed by time.Weekday; each
// day's ranges are sorted and do not overlap.
type Week [7][]Range

// String formats w in the syntax ParseHours reads, one rule per day.
func (w Week) String() string {
	var parts []string
	for i := range 7 {
		d := time.Weekday((i + 1) % 7) // Monday first
		if len(w[d]) == 0 {
			continue
		}
		rs := make([]string, len(w[d]))
		for j, r := range w[d] {
			rs[j] = r.String()
		}
		parts = append(parts, dayNames[d]+" "+strings.Join(rs, ","))
	}
	return strings.Join(parts, "; ")
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseHours parses working hours such as "mon-fri 09:00-17:00".
//
// Rules are joined by ';', each a day list, white space and ranges joined by
// ','; "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-12:00". A day list is
// days ("mon" or "monday", any case) and day spans ("mon-fri") joined by ','
// ("mon,wed,fri" or "mon-wed,fri"). A span runs forward through the week and
// may wrap past Sunday: "fri-mon" is Friday, Saturday, Sunday and Monday;
// "sun-mon" is Sunday and Monday. Times are HH:MM, 24-hour; 24:00 may end a
// range. Ranges of one day, from any rule, must not overlap (adjacent ranges
// such as 09:00-12:00,12:00-13:00 are allowed and stay separate: no slot
// spans both). A day named by no rule has no hours. Errors name the bad part.
func ParseHours(s string) (Week, error) {
	var w Week
	if strings.TrimSpace(s) == "" {
		return w, fmt.Errorf("calendar: hours: empty")
	}
	for _, rule := range strings.Split(s, ";") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			return w, fmt.Errorf("calendar: hours %q: empty rule", s)
		}
		daysPart, rangesPart, ok := strings.Cut(rule, " ")
		if !ok {
			return w, fmt.Errorf("calendar: hours: rule %q: want days and ranges, e.g. \"mon-fri 09:00-17:00\"", rule)
		}
		days, err := parseDays(daysPart)
		if err != nil {
			return w, fmt.Errorf("calendar: hours: rule %q: %w", rule, err)
		}
		for _, rs := range strings.Split(strings.TrimSpace(rangesPart), ",") {
			r, err := parseRange(strings.TrimSpace(rs))
			if err != nil {
				return w, fmt.Errorf("calendar: hours: rule %q: %w", rule, err)
			}
			for d := range 7 {
				if days&(1<<d) != 0 {
					w[d] = append(w[d], r)
				}
			}
		}
	}
	for d := range 7 {
		slices.SortFunc(w[d], func(a, b Range) int { return a.Start - b.Start })
		for i := 1; i < len(w[d]); i++ {
			if w[d][i].Start < w[d][i-1].End {
				return w, fmt.Errorf("calendar: hours: %s: ranges %s and %s overlap", dayNames[d], w[d][i-1], w[d][i])
			}
		}
	}
	return w, nil
}

// parseDays returns a bit set of weekdays (bit i = time.Weekday(i)).
func parseDays(s string) (uint8, error) {
	var set uint8
	for _, part := range strings.Split(s, ",") {
		a, b, span := strings.Cut(part, "-")
		from, err := parseDay(a)
		if err != nil {
			return 0, err
		}
		to := from
		if span {
			if to, err = parseDay(b); err != nil {
				return 0, err
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			set |= 1 << d
			if d == to {
				break
			}
		}
	}
	return set, nil
}

func parseDay(s string) (int, error) {
	l := strings.ToLower(s)
	for i, n := range dayNames {
		if l == n || l == strings.ToLower(time.Weekday(i).String()) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("bad day %q (want mon, tue, wed, thu, fri, sat or sun)", s)
}

func parseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("bad range %q (want HH:MM-HH:MM)", s)
	}
	start, err1 := parseClock(strings.TrimSpace(a))
	end, err2 := parseClock(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || start == 24*60 {
		return Range{}, fmt.Errorf("bad range %q (want HH:MM-HH:MM, 00:00 to 24:00)", s)
	}
	if start >= end {
		return Range{}, fmt.Errorf("bad range %q: start not before end", s)
	}
	return Range{start, end}, nil
}

func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("bad time %q", s)
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] < '0' || s[0] > '9' || s[3] < '0' || s[3] > '9' ||
		h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// DateRange is an inclusive span of dates.
type DateRange struct{ From, To Date }

// Contains reports whether d is in r.
func (r DateRange) Contains(d Date) bool { return !d.Before(r.From) && !r.To.Before(d) }

// ParseClosed parses dates with no calls: dates and inclusive date spans
// joined by ',', e.g. "2026-12-24,2026-12-31..2027-01-02". An empty (or
// blank) string yields nil.
func ParseClosed(s string) ([]DateRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []DateRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, span := strings.Cut(part, "..")
		from, err := ParseDate(strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("calendar: closed dates: %q: %w", part, err)
		}
		to := from
		if span {
			if to, err = ParseDate(strings.TrimSpace(b)); err != nil {
				return nil, fmt.Errorf("calendar: closed dates: %q: %w", part, err)
			}
			if to.Before(from) {
				return nil, fmt.Errorf("calendar: closed dates: %q: end before start", part)
			}
		}
		out = append(out, DateRange{from, to})
	}
	return out, nil
}
