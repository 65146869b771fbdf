package calendar

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Interval is a span of time, [Start, End).
type Interval struct{ Start, End time.Time }

// Overlaps reports whether i and o share an instant.
func (i Interval) Overlaps(o Interval) bool { return i.Start.Before(o.End) && o.Start.Before(i.End) }

// Slot is a bookable call, [Start, End).
type Slot = Interval

// ErrNotOffered is returned (wrapped) by Rules.Check when a start time is not
// an open slot.
var ErrNotOffered = errors.New("calendar: slot not offered")

// DefaultSlot is the slot length used when Rules.Slot is zero.
const DefaultSlot = 30 * time.Minute

// maxHorizonDays bounds Rules.HorizonDays so that a typo cannot make slot
// generation walk for years.
const maxHorizonDays = 3660

// Rules are the CEO's availability rules.
//
// Slots are generated per local date in Location. For each Range of the
// date's weekday, candidate starts are the wall times Range.Start,
// Range.Start+Slot, ... as long as start+Slot <= Range.End (in wall-clock
// minutes). Each wall time is converted with the zone, so working hours stay
// at the same wall time across daylight-saving changes:
//
//   - a wall time that does not exist (spring-forward gap) yields no slot;
//   - a wall time that exists twice (fall-back) yields one slot, at its first
//     occurrence;
//   - a slot is [start, start+Slot) in absolute time, so every slot is exactly
//     Slot long; it is offered only if its end is not after the end of its
//     range, taken as the first instant the wall clock reads Range.End on that
//     date (the end of the gap when Range.End falls in one; the start of the
//     next date for 24:00);
//   - a candidate that starts before the end of the previous candidate of the
//     same date is dropped (this only happens right after a spring-forward
//     gap shorter than Slot), so offered slots never overlap.
//
// A slot is blocked when it overlaps a busy interval or a booked interval,
// each extended by Buffer on both sides: the CEO gets Buffer of free time
// around calls booked here and around meetings from his own calendars alike.
// A date is closed when it is in Closed, when it is after the horizon (today
// in Location plus HorizonDays) or when DailyCap bookings already start on it
// (in Location). No slot starts before now+MinNotice.
type Rules struct {
	Location    *time.Location // the CEO's zone; nil means UTC
	Hours       Week
	Slot        time.Duration // slot length; 0 means DefaultSlot
	Buffer      time.Duration // free time required before and after every booked call and busy interval
	MinNotice   time.Duration // earliest bookable start is now+MinNotice
	HorizonDays int           // last bookable local date is today (in Location) + HorizonDays
	DailyCap    int           // max live bookings per local date; 0 = no cap
	Closed      []DateRange
}

// Validate reports the first rule that cannot work.
func (r Rules) Validate() error {
	slot := r.slot()
	switch {
	case slot < time.Minute || slot%time.Minute != 0:
		return fmt.Errorf("calendar: slot length %v: want a whole number of minutes, at least 1m", r.Slot)
	case slot > 24*time.Hour:
		return fmt.Errorf("calendar: slot length %v: longer than a day", r.Slot)
	case r.Buffer < 0:
		return fmt.Errorf("calendar: buffer %v: negative", r.Buffer)
	case r.MinNotice < 0:
		return fmt.Errorf("calendar: minimum notice %v: negative", r.MinNotice)
	case r.HorizonDays < 0 || r.HorizonDays > maxHorizonDays:
		return fmt.Errorf("calendar: horizon %d days: want 0 to %d", r.HorizonDays, maxHorizonDays)
	case r.DailyCap < 0:
		return fmt.Errorf("calendar: daily cap %d: negative", r.DailyCap)
	}
	fits := false
	for d, rs := range r.Hours {
		for i, rg := range rs {
			if rg.Start < 0 || rg.End > 24*60 || rg.Start >= rg.End {
				return fmt.Errorf("calendar: hours: %s: bad range %s", dayNames[d], rg)
			}
			if i > 0 && rg.Start < rs[i-1].End {
				return fmt.Errorf("calendar: hours: %s: ranges %s and %s overlap or are not sorted", dayNames[d], rs[i-1], rg)
			}
			if time.Duration(rg.End-rg.Start)*time.Minute >= slot {
				fits = true
			}
		}
	}
	if !fits {
		return fmt.Errorf("calendar: hours %q: no range is long enough for one %v slot", r.Hours.String(), slot)
	}
	for _, c := range r.Closed {
		if c.To.Before(c.From) {
			return fmt.Errorf("calendar: closed dates %s..%s: end before start", c.From, c.To)
		}
	}
	return nil
}

func (r Rules) slot() time.Duration {
	if r.Slot == 0 {
		return DefaultSlot
	}
	return r.Slot
}

func (r Rules) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// Slots returns the open slots whose Start is in [from, to), sorted, given
// the busy intervals from the CEO's calendars and the live bookings (each
// booking's own [start, end)). busy and booked should be sorted by Start
// (ParseBusy and Feeds.Busy return them so); Slots checks that in one pass
// and sorts a copy when they are not. Slot times are in r.Location. Rules
// are assumed valid (see Validate); a slot length under a minute yields nil.
func (r Rules) Slots(now, from, to time.Time, busy, booked []Interval) []Slot {
	slot := r.slot()
	if slot < time.Minute || !from.Before(to) {
		return nil
	}
	loc := r.loc()
	earliest := now.Add(r.MinNotice)
	if from.Before(earliest) {
		from = earliest
	}
	if !from.Before(to) {
		return nil
	}
	first := DateOf(from.In(loc))
	last := DateOf(to.In(loc))
	if h := DateOf(now.In(loc)).AddDays(r.HorizonDays); h.Before(last) {
		last = h
	}
	if last.Before(first) {
		return nil
	}
	busy, busyLen := sortedIntervals(busy)
	booked, bookedLen := sortedIntervals(booked)

	perDay := 0
	for _, rs := range r.Hours {
		n := 0
		for _, rg := range rs {
			if c := (time.Duration(rg.End-rg.Start) * time.Minute) / slot; c > 0 {
				n += int(c)
			}
		}
		perDay = max(perDay, n)
	}
	days := 0
	for d := first; !last.Before(d) && days <= maxHorizonDays+2; d = d.AddDays(1) {
		days++
	}
	out := make([]Slot, 0, min(perDay*days, 1<<16))

	g := generator{loc: loc, slot: slot}
	busyCur := newSweep(busy, r.Buffer, busyLen, from)
	bookedCur := newSweep(booked, r.Buffer, bookedLen, from)
	for d, n := first, 0; !last.Before(d) && n < days; d, n = d.AddDays(1), n+1 {
		if len(r.Hours[d.Weekday()]) == 0 || r.closed(d) {
			continue
		}
		g.day(d)
		if r.DailyCap > 0 && countStarts(booked, g.dayStart, g.nextDay) >= r.DailyCap {
			continue
		}
		var prevEnd time.Time
		for _, rg := range r.Hours[d.Weekday()] {
			limit := g.limit(rg.End)
			for m := rg.Start; time.Duration(rg.End-m)*time.Minute >= slot; m += int(slot / time.Minute) {
				s, ok := g.at(m)
				if !ok {
					continue
				}
				e := s.Add(slot)
				if e.After(limit) || s.Before(prevEnd) {
					continue
				}
				prevEnd = e
				if s.Before(from) || !s.Before(to) {
					continue
				}
				if busyCur.blocks(s, e) || bookedCur.blocks(s, e) {
					continue
				}
				out = append(out, Slot{s, e})
			}
		}
	}
	return out
}

// Check reports whether start is an offered slot right now: it returns the
// slot exactly when Slots(now, start, start+1ns, busy, booked) contains a
// slot starting at start, and an error wrapping ErrNotOffered otherwise.
func (r Rules) Check(now, start time.Time, busy, booked []Interval) (Slot, error) {
	for _, s := range r.Slots(now, start, start.Add(time.Nanosecond), busy, booked) {
		if s.Start.Equal(start) {
			return s, nil
		}
	}
	return Slot{}, fmt.Errorf("%w: %s", ErrNotOffered, start.Format(time.RFC3339))
}

func (r Rules) closed(d Date) bool {
	for _, c := range r.Closed {
		if c.Contains(d) {
			return true
		}
	}
	return false
}

// countStarts counts the intervals of iv (sorted by Start) that start in
// [from, to).
func countStarts(iv []Interval, from, to time.Time) int {
	lo, _ := slices.BinarySearchFunc(iv, from, func(i Interval, t time.Time) int { return i.Start.Compare(t) })
	hi, _ := slices.BinarySearchFunc(iv, to, func(i Interval, t time.Time) int { return i.Start.Compare(t) })
	return hi - lo
}

// sortedIntervals returns iv if it is sorted by Start, else a sorted copy,
// and the length of its longest interval.
func sortedIntervals(iv []Interval) ([]Interval, time.Duration) {
	// Unix seconds and nanoseconds: much cheaper than Time.Before and Sub
	// on thousands of intervals.
	var longest int64
	sorted := true
	var ps int64
	var pn int
	for i := range iv {
		s, e := iv[i].Start.Unix(), iv[i].End.Unix()
		longest = max(longest, e-s+1)
		n := iv[i].Start.Nanosecond()
		if i > 0 && (s < ps || (s == ps && n < pn)) {
			sorted = false
		}
		ps, pn = s, n
	}
	if !sorted {
		iv = slices.Clone(iv)
		slices.SortFunc(iv, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	}
	return iv, time.Duration(min(longest, int64(math.MaxInt64/time.Second))) * time.Second
}

// sweep answers "does [s, e) overlap an interval extended by buffer" for
// queries whose e never decreases, in amortised O(1): it keeps the largest
// End of the intervals that start before e+buffer.
type sweep struct {
	iv     []Interval
	buffer time.Duration
	next   int
	maxEnd time.Time
	any    bool
}

// newSweep starts a sweep for queries from from on: intervals that start
// more than buffer+longest before from end before it and are skipped.
func newSweep(iv []Interval, buffer, longest time.Duration, from time.Time) sweep {
	lim := from.Add(-buffer - longest - time.Nanosecond)
	i, _ := slices.BinarySearchFunc(iv, lim, func(x Interval, t time.Time) int { return x.Start.Compare(t) })
	return sweep{iv: iv, buffer: buffer, next: i}
}

func (w *sweep) blocks(s, e time.Time) bool {
	lim := e.Add(w.buffer)
	for w.next < len(w.iv) && w.iv[w.next].Start.Before(lim) {
		if end := w.iv[w.next].End; !w.any || end.After(w.maxEnd) {
			w.maxEnd, w.any = end, true
		}
		w.next++
	}
	return w.any && w.maxEnd.Add(w.buffer).After(s)
}

// generator converts wall-clock minutes of one date to instants. On a date
// whose zone period reaches well past both ends (almost every date) it adds
// a fixed offset; on the dates around a transition it goes through
// wallInstant.
type generator struct {
	loc      *time.Location
	slot     time.Duration
	d        Date
	dayStart time.Time // first instant of d
	nextDay  time.Time // first instant of the next date
	civil    int64     // d 00:00 read as UTC, in Unix seconds
	offset   int64     // zone offset, seconds east of UTC, when fast
	fast     bool
}

func (g *generator) day(d Date) {
	g.d = d
	g.dayStart = d.In(g.loc)
	g.nextDay = d.AddDays(1).In(g.loc)
	g.civil = d.civilUnix()
	_, off := g.dayStart.Zone()
	g.offset = int64(off)
	zs, ze := g.dayStart.ZoneBounds()
	// The fixed offset is right, and no wall time is repeated, when the zone
	// period started more than a day before this date and ends more than a
	// day after it (offsets differ by less than a day).
	base := g.civil - g.offset
	g.fast = (zs.IsZero() || zs.Unix() <= base-86400) && (ze.IsZero() || ze.Unix() >= base+2*86400)
}

// at returns the instant of wall minute m of the current date.
func (g *generator) at(m int) (time.Time, bool) {
	if g.fast {
		return time.Unix(g.civil+int64(m)*60-g.offset, 0).In(g.loc), true
	}
	return wallInstant(g.loc, g.d, m)
}

// limit returns the first instant at which the wall clock of the current
// date reads m (or later, when m is in a gap).
func (g *generator) limit(m int) time.Time {
	if m >= 24*60 {
		return g.nextDay
	}
	if t, ok := g.at(m); ok {
		return t
	}
	t, _ := wallInstant(g.loc, g.d, m)
	// m is in a gap: the first later wall time is the transition, which is
	// the end of the normalised time's zone period when Go normalised to an
	// earlier wall time, else its start.
	zs, ze := t.ZoneBounds()
	if t.Unix()+int64(zoneOffset(t)) < g.civil+int64(m)*60 {
		return ze
	}
	return zs
}

func zoneOffset(t time.Time) int { _, o := t.Zone(); return o }
