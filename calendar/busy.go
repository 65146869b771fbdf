package calendar

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Limits that keep a hostile or broken feed from exhausting the process.
const (
	maxFeedBytes      = 32 << 20  // a feed larger than this is refused
	maxNesting        = 8         // component nesting depth; deeper ones are skipped
	maxEventIter      = 50_000    // recurrence steps for one RRULE
	maxFeedIter       = 2_000_000 // recurrence steps for one feed
	maxFeedOccurrence = 500_000   // busy intervals kept from one feed
)

// ParseBusy parses one iCalendar feed and returns the busy intervals
// overlapping [from, to), sorted by Start and merged (overlapping or
// touching intervals become one).
//
// Every VEVENT is busy except those marked free (TRANSP:TRANSPARENT or
// X-MICROSOFT-CDO-BUSYSTATUS:FREE) or cancelled (STATUS:CANCELLED);
// tentative events are busy. Recurrences (RRULE, RDATE, EXDATE, lists and
// repeated lines alike; several RRULEs are their union) are expanded over
// [from, to) only; DTSTART always counts as an occurrence. Of two events
// with one UID and no RECURRENCE-ID the higher SEQUENCE is the event (the
// first on a tie). A RECURRENCE-ID override replaces its occurrence (moves
// it, or removes it when the override itself is cancelled or free): an
// instant on a timed series, a date on an all-day one (also when written as
// a date-time, as Outlook writes local midnight); RANGE=THISANDFUTURE
// applies the override's shift and length to every later occurrence. An
// override matching no occurrence of its series is left out, one without a
// series stands alone. All-day events
// (VALUE=DATE) are busy from local midnight to local midnight in floating,
// the CEO's zone, as are floating times (no TZID, no Z); an all-day start
// with a date-time DTEND ends at that instant. A TZID may be an IANA name
// (also with a leading solidus, RFC 5545 §3.2.19), a Windows name (Outlook,
// Exchange), an IANA name behind a prefix ("/mozilla.org/20050126_1/Europe/Berlin")
// or any name defined by a VTIMEZONE in the feed (whose TZID may escape its
// commas); an unknown TZID without a VTIMEZONE is read as floating.
// X-WR-TIMEZONE, which is not part of RFC 5545, is ignored. A timed event
// with neither DTEND nor DURATION takes no time and blocks nothing.
//
// Reading is liberal: a line, a value, an RRULE part or a component that
// cannot be understood is left out and the rest read (parseFeed lists what
// was left out as Skipped). What is left out never widens a free slot more
// than it must: an unreadable RRULE still blocks DTSTART, an unreadable
// EXDATE excludes nothing, an override that cannot be placed leaves its
// occurrence busy, and a rule with more occurrences than the limits allow
// blocks the rest of the window. The whole feed is refused only when it is
// no iCalendar data at all, stops inside a component (a cut-off download),
// or needs too much work (see the limits in the source); never with a
// panic.
func ParseBusy(r io.Reader, from, to time.Time, floating *time.Location) ([]Interval, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("calendar: read feed: %w", err)
	}
	f, err := parseFeed(data, from, to, floating)
	if err != nil {
		return nil, err
	}
	return mergeIntervals(f.busy), nil
}

// occurrence is one busy instance of an event, before merging.
type occurrence struct {
	Interval
	UID string
}

type parsedFeed struct {
	events  int          // VEVENTs in the feed
	busy    []Interval   // unmerged, unsorted
	occ     []occurrence // the same, with UIDs (kept for tests)
	skipped []Skipped    // what was left out, the first maxSkipped
	skips   int          // how many were left out in all
}

func parseFeed(data []byte, from, to time.Time, floating *time.Location) (*parsedFeed, error) {
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("calendar: feed larger than %d bytes", maxFeedBytes)
	}
	if floating == nil {
		floating = time.UTC
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("calendar: parse feed: empty window %v..%v", from, to)
	}
	log := &skipLog{}
	roots, err := lexFeed(data, log)
	if err != nil {
		return nil, err
	}
	// Components of every VCALENDAR; a bare VEVENT or VTIMEZONE outside
	// one is read as if it were inside.
	var comps []*node
	calendars := 0
	for _, r := range roots {
		if r.name == "VCALENDAR" {
			calendars++
			reportBad(log, r, "")
			comps = append(comps, r.children...)
		} else {
			comps = append(comps, r)
		}
	}
	if calendars == 0 && !slices.ContainsFunc(comps, func(n *node) bool { return n.name == "VEVENT" }) {
		return nil, errors.New("calendar: malformed feed: no VCALENDAR")
	}
	p := &parser{from: from, to: to, log: log, unknownTZ: map[string]bool{},
		zones: zoneResolver{floating: floating, vtz: map[string]*node{}, cache: map[string]zoneEntry{}, until: to, log: log}}
	var events []*node
	for _, c := range comps {
		switch c.name {
		case "VTIMEZONE":
			// TZID is a TEXT value: Exchange escapes the commas of
			// "(UTC+07:00) Bangkok\, Hanoi\, Jakarta", which the TZID
			// parameters quote instead.
			if id := unescapeText(c.text("TZID")); id != "" && p.zones.vtz[id] == nil {
				p.zones.vtz[id] = c
			}
		case "VEVENT":
			events = append(events, c)
		}
	}
	// Group by UID: the main event (no RECURRENCE-ID) and its overrides.
	type series struct {
		master    *node
		overrides []*node
	}
	byUID := map[string]*series{}
	var order []string
	for i, c := range events {
		uid := c.text("UID")
		if uid == "" {
			uid = fmt.Sprintf("\x00no-uid-%d", i) // each UID-less event stands alone
		}
		s := byUID[uid]
		if s == nil {
			s = &series{}
			byUID[uid] = s
			order = append(order, uid)
		}
		switch {
		case c.get("RECURRENCE-ID") != nil:
			s.overrides = append(s.overrides, c)
		case s.master == nil || sequence(c) > sequence(s.master):
			s.master = c // a later revision of the same event
		}
	}
	for _, uid := range order {
		s := byUID[uid]
		if err := p.series(uid, s.master, s.overrides); err != nil {
			return nil, err
		}
		if len(p.occ) > maxFeedOccurrence {
			return nil, fmt.Errorf("calendar: feed has more than %d busy intervals", maxFeedOccurrence)
		}
	}
	f := &parsedFeed{events: len(events), occ: p.occ, skipped: log.list, skips: log.count}
	f.busy = make([]Interval, len(p.occ))
	for i, o := range p.occ {
		f.busy[i] = o.Interval
	}
	return f, nil
}

// reportBad logs the lines of n that could not be read.
func reportBad(log *skipLog, n *node, uid string) {
	for _, b := range n.bad {
		log.add(b.line, n.name, uid, "%s: ignored", b.reason)
	}
}

// sequence is an event's SEQUENCE, 0 when absent or unreadable.
func sequence(n *node) int {
	s, err := strconv.Atoi(n.text("SEQUENCE"))
	if err != nil {
		return 0
	}
	return s
}

// isFree reports whether n blocks no time: free or cancelled.
func isFree(n *node) bool {
	return strings.EqualFold(n.text("TRANSP"), "TRANSPARENT") ||
		strings.EqualFold(n.text("X-MICROSOFT-CDO-BUSYSTATUS"), "FREE") ||
		strings.EqualFold(n.text("STATUS"), "CANCELLED")
}

type parser struct {
	from, to  time.Time
	zones     zoneResolver
	log       *skipLog
	occ       []occurrence
	iter      int             // recurrence steps so far
	uid       string          // of the series being read, for reports
	unknownTZ map[string]bool // TZIDs reported as unknown
}

// skip reports a part of the current event that was left out.
func (p *parser) skip(line int, format string, args ...any) {
	p.log.add(line, "VEVENT", p.uid, format, args...)
}

// when is a DATE or DATE-TIME value: for a date, t is its midnight in UTC,
// used as a civil-date container.
type when struct {
	t        time.Time
	allDay   bool
	floating bool // a date-time with neither Z nor TZID
}

func (w when) key() int64 { return w.t.Unix() }

// value parses a DATE or DATE-TIME value with the given TZID parameter.
// The value's form decides, not a VALUE parameter: "20261210T120000" with
// VALUE=DATE is read as the date-time it is, "20131210Z" as a date. Year 0
// is refused (rrule-go cannot step through it).
func (p *parser) value(v, tzid string, line int) (when, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	bad := func() (when, error) { return when{}, fmt.Errorf("bad date or date-time %q", clip(v, 40)) }
	switch {
	case (len(v) == 8 || len(v) == 9 && v[8] == 'Z') && digits(v[:8]):
		t, err := time.ParseInLocation("20060102", v[:8], time.UTC)
		if err != nil || t.Year() < 1 {
			return bad()
		}
		return when{t: t, allDay: true}, nil
	case (len(v) == 15 || len(v) == 16 && v[15] == 'Z') && digits(v[:8]) && v[8] == 'T' && digits(v[9:15]):
		loc, floating := p.zones.floating, true
		switch {
		case len(v) == 16:
			loc, floating = time.UTC, false
		case tzid != "":
			loc, floating = p.location(tzid, line), false
		}
		t, err := time.ParseInLocation("20060102T150405", v[:15], loc)
		if err != nil || t.Year() < 1 {
			return bad()
		}
		return when{t: t, floating: floating}, nil
	}
	return bad()
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (p *parser) prop(pr *prop) (when, error) {
	return p.value(pr.value, pr.param("TZID"), pr.line)
}

// location resolves a TZID, reporting once one that names nothing known.
func (p *parser) location(tzid string, line int) *time.Location {
	loc, known := p.zones.location(tzid)
	if !known && !p.unknownTZ[tzid] {
		p.unknownTZ[tzid] = true
		p.skip(line, "TZID %q names no known zone and no VTIMEZONE of the feed: its times are read in the CEO's zone", clip(tzid, 60))
	}
	return loc
}

// instant turns a start into the instant it stands for: dates become local
// midnight in the floating zone.
func (p *parser) instant(w when) time.Time {
	if w.allDay {
		return DateOf(w.t).In(p.zones.floating)
	}
	return w.t
}

// dateOf is the date a RECURRENCE-ID or EXDATE names on an all-day series:
// its own date, or for a date-time its date where it is local midnight
// (Outlook writes "RECURRENCE-ID;TZID=W. Europe Standard Time:20261210T000000"),
// else its date in the floating zone.
func (p *parser) dateOf(w when) Date {
	if h, m, s := w.t.Clock(); w.allDay || h == 0 && m == 0 && s == 0 {
		return DateOf(w.t)
	}
	return DateOf(w.t.In(p.zones.floating))
}

// span is the length of an event: whole days (wall-clock days, for a
// timed start too, as DURATION:P1D means), then an exact duration.
type span struct {
	days int
	d    time.Duration
}

func (p *parser) interval(start when, s span) Interval {
	if start.allDay {
		d := DateOf(start.t)
		return Interval{d.In(p.zones.floating), d.AddDays(s.days).In(p.zones.floating).Add(s.d)}
	}
	end := start.t
	if s.days != 0 {
		y, m, d := start.t.Date()
		hh, mm, ss := start.t.Clock()
		end = time.Date(y, m, d+s.days, hh, mm, ss, start.t.Nanosecond(), start.t.Location())
	}
	return Interval{start.t, end.Add(s.d)}
}

var (
	errNoStart         = errors.New("no DTSTART")
	errEndsBeforeStart = errors.New("it ends before it starts")
)

// eventSpan returns the start and length of a VEVENT: errNoStart without a
// DTSTART, another error when it cannot be placed. An unreadable DTEND or
// DURATION is reported and read as missing.
func (p *parser) eventSpan(n *node) (when, span, error) {
	sp := n.get("DTSTART")
	if sp == nil {
		return when{}, span{}, errNoStart
	}
	start, err := p.prop(sp)
	if err != nil {
		return when{}, span{}, fmt.Errorf("DTSTART: %w", err)
	}
	s, err := p.length(n, start)
	return start, s, err
}

func (p *parser) length(n *node, start when) (span, error) {
	if ep := n.get("DTEND"); ep != nil {
		end, err := p.prop(ep)
		if err == nil {
			var s span
			switch {
			case start.allDay && end.allDay:
				s.days = int((end.t.Unix() - start.t.Unix()) / 86400)
			case start.allDay:
				// A date-time end: the event ends at that instant, not at
				// the midnight of its date.
				s.d = p.instant(end).Sub(p.instant(start))
			default:
				s.d = p.instant(end).Sub(start.t)
			}
			if s.days < 0 || s.d < 0 {
				return span{}, errEndsBeforeStart
			}
			return s, nil
		}
		p.skip(ep.line, "DTEND unreadable (%v): ignored", err)
	}
	if dp := n.get("DURATION"); dp != nil {
		days, d, err := parseDuration(dp.value)
		if err == nil {
			if days < 0 || d < 0 {
				return span{}, errEndsBeforeStart
			}
			return span{days, d}, nil
		}
		if strings.HasPrefix(strings.TrimSpace(dp.value), "-") {
			return span{}, errEndsBeforeStart // whatever its length, it is negative
		}
		p.skip(dp.line, "DURATION unreadable (%v): ignored", err)
	}
	if start.allDay {
		return span{days: 1}, nil
	}
	return span{}, nil
}

// parseDuration reads a DURATION value (RFC 5545 §3.3.6) as whole days
// (weeks count 7) and an exact rest, both negative for a negative
// duration. Weeks may be combined with days.
func parseDuration(v string) (int, time.Duration, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	bad := fmt.Errorf("bad duration %q", clip(v, 40))
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	s, ok := strings.CutPrefix(s, "P")
	if !ok || s == "" {
		return 0, 0, bad
	}
	var days, secs int64
	inTime, any := false, false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return 0, 0, bad
			}
			inTime, s = true, s[1:]
			if s == "" {
				return 0, 0, bad
			}
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 || i == len(s) {
			return 0, 0, bad
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		switch u := s[i]; {
		case !inTime && u == 'W':
			days += 7 * n
		case !inTime && u == 'D':
			days += n
		case inTime && u == 'H':
			secs += 3600 * n
		case inTime && u == 'M':
			secs += 60 * n
		case inTime && u == 'S':
			secs += n
		default:
			return 0, 0, bad
		}
		any, s = true, s[i+1:]
	}
	if !any {
		return 0, 0, bad
	}
	if neg {
		days, secs = -days, -secs
	}
	return int(days), time.Duration(secs) * time.Second, nil
}

func (p *parser) add(uid string, iv Interval) {
	if iv.Start.Before(iv.End) && iv.Start.Before(p.to) && iv.End.After(p.from) {
		p.occ = append(p.occ, occurrence{iv, uid})
	}
}

// skipEvent reports an event that cannot be placed.
func (p *parser) skipEvent(n *node, err error, then string) {
	p.log.add(n.line, "VEVENT", p.uid, "%v: skipped%s", err, then)
}

// series expands one UID: its main event (may be nil) and overrides.
func (p *parser) series(key string, master *node, overrides []*node) error {
	p.uid = key
	if strings.HasPrefix(key, "\x00") {
		p.uid = ""
	}
	uid := strings.TrimPrefix(key, "\x00")
	if master != nil {
		reportBad(p.log, master, p.uid)
	}
	var mst when
	var ms span
	haveMaster := false // read, free or busy
	if master != nil {
		var err error
		if mst, ms, err = p.eventSpan(master); err != nil {
			p.skipEvent(master, err, "")
		} else {
			haveMaster = true
		}
	}

	type override struct {
		n   *node
		rid when
	}
	// Of two overrides of one occurrence the higher SEQUENCE counts (the
	// later on a tie).
	var ovs []override
	at := map[int64]int{}
	for _, o := range overrides {
		reportBad(p.log, o, p.uid)
		rp := o.get("RECURRENCE-ID")
		rid, err := p.prop(rp)
		if err != nil {
			p.skip(rp.line, "RECURRENCE-ID unreadable (%v): the event blocks its own time and replaces no occurrence", err)
			if start, s, err := p.eventSpan(o); err != nil {
				p.skipEvent(o, err, "")
			} else if !isFree(o) {
				p.add(uid, p.interval(start, s))
			}
			continue
		}
		k := rid.key()
		if i, ok := at[k]; ok {
			if sequence(o) >= sequence(ovs[i].n) {
				ovs[i] = override{o, rid}
			}
			continue
		}
		at[k] = len(ovs)
		ovs = append(ovs, override{o, rid})
	}

	type future struct {
		at     int64 // RECURRENCE-ID, in the terms of the main event's keys
		shift  time.Duration
		length time.Duration
		free   bool
	}
	replacedAt := map[int64]bool{} // occurrences replaced, by instant
	replacedOn := map[Date]bool{}  // and by date (all-day series, date RECURRENCE-IDs)
	var futures []future
	var maxShift time.Duration
	type moved struct {
		n   *node
		rid when
		iv  Interval
	}
	var pending []moved // busy overrides, added once their occurrence is known to exist
	for _, ov := range ovs {
		o, rid := ov.n, ov.rid
		start, s, err := p.eventSpan(o)
		if errors.Is(err, errNoStart) { // an override without DTSTART keeps the occurrence's time
			start, s, err = rid, span{days: 1}, nil
			switch {
			case haveMaster && mst.allDay && !rid.allDay:
				d := p.dateOf(rid)
				start, s = when{t: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC), allDay: true}, ms
			case haveMaster && mst.allDay == rid.allDay:
				s = ms
			}
		}
		if err != nil {
			p.skipEvent(o, err, "; the occurrence it would replace stays busy")
			continue
		}
		free := isFree(o)
		rkey := rid.key()
		switch {
		case mst.allDay || rid.allDay:
			d := p.dateOf(rid)
			// A date-time RECURRENCE-ID on an all-day series (Outlook's
			// local midnight) breaks RFC 5545 §3.8.4.4, which wants the
			// value type of DTSTART, and the references split on it:
			// ical.js keeps the occurrence busy, recurring-ical-events
			// and Outlook move it. The override's own time is busy, and
			// so, not to offer what either calls busy, is the date it
			// names, unless the override keeps that date busy itself.
			sameDay := start.allDay && DateOf(start.t) == d
			if !(mst.allDay && !rid.allDay) || sameDay && !free {
				replacedOn[d] = true
			}
			if mst.allDay {
				rkey = time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix()
			}
		default:
			replacedAt[rkey] = true
		}
		if strings.EqualFold(o.get("RECURRENCE-ID").param("RANGE"), "THISANDFUTURE") {
			shift := p.instant(start).Sub(p.instant(rid))
			iv := p.interval(start, s)
			futures = append(futures, future{at: rkey, shift: shift, length: iv.End.Sub(iv.Start), free: free})
			maxShift = max(maxShift, shift, -shift)
		}
		if !free {
			pending = append(pending, moved{o, rid, p.interval(start, s)})
		}
	}
	if !haveMaster {
		for _, m := range pending {
			p.add(uid, m.iv) // overrides without their main event stand alone
		}
		return nil
	}
	length := p.interval(mst, ms)
	dur := length.End.Sub(length.Start)
	// Occurrences starting in [lo, hi) can overlap the window, also after a
	// THISANDFUTURE shift.
	lo := p.from.Add(-dur - maxShift - 48*time.Hour)
	hi := p.to.Add(maxShift + 48*time.Hour)

	starts := []when{mst}
	sure := true // every occurrence of the set is known: an override matching none can be told
	for _, rp := range master.all("RRULE") {
		more, cut, ok, err := p.rrule(rp, mst, lo, hi, true)
		if err != nil {
			return fmt.Errorf("calendar: event %q: %w", clip(uid, 120), err)
		}
		starts = append(starts, more...)
		if !cut.IsZero() && !isFree(master) {
			p.add(uid, Interval{cut, p.to})
		}
		sure = sure && ok && cut.IsZero()
	}
	var periods []when // RDATE periods, occurrences too
	for _, rd := range master.all("RDATE") {
		tzid := rd.param("TZID")
		for v := range strings.SplitSeq(rd.value, ",") {
			if strings.TrimSpace(v) == "" {
				continue
			}
			if strings.EqualFold(rd.param("VALUE"), "PERIOD") || strings.Contains(v, "/") {
				a, b, _ := strings.Cut(v, "/")
				w, err := p.value(a, tzid, rd.line)
				if err != nil {
					p.skip(rd.line, "RDATE period unreadable (%v): ignored", err)
					sure = false
					continue
				}
				var end time.Time
				if strings.HasPrefix(strings.ToUpper(strings.TrimLeft(strings.TrimSpace(b), "+-")), "P") {
					days, d, err := parseDuration(b)
					if err != nil {
						p.skip(rd.line, "RDATE period unreadable (%v): ignored", err)
						sure = false
						continue
					}
					end = p.interval(w, span{days, d}).End
				} else {
					e, err := p.value(b, tzid, rd.line)
					if err != nil {
						p.skip(rd.line, "RDATE period unreadable (%v): ignored", err)
						sure = false
						continue
					}
					end = p.instant(e)
				}
				periods = append(periods, w)
				if !replacedAt[w.key()] && !(mst.allDay && replacedOn[p.dateOf(w)]) && !isFree(master) {
					p.add(uid, Interval{p.instant(w), end})
				}
				continue
			}
			w, err := p.value(v, tzid, rd.line)
			if err != nil {
				p.skip(rd.line, "RDATE value unreadable (%v): ignored", err)
				sure = false
				continue
			}
			if w.allDay != mst.allDay { // a date among date-times (or back): same wall clock
				w = p.convert(w, mst)
			}
			starts = append(starts, w)
		}
	}
	exInstant := map[int64]bool{}
	exDate := map[Date]bool{}
	for _, ex := range master.all("EXDATE") {
		for v := range strings.SplitSeq(ex.value, ",") {
			if strings.TrimSpace(v) == "" {
				continue
			}
			w, err := p.value(v, ex.param("TZID"), ex.line)
			if err != nil {
				p.skip(ex.line, "EXDATE value unreadable (%v): ignored, the occurrence stays busy", err)
				continue
			}
			if w.allDay || mst.allDay {
				exDate[p.dateOf(w)] = true // every occurrence on that date
			} else {
				exInstant[w.key()] = true
			}
		}
	}
	// An override stands for an occurrence of the set: one whose
	// RECURRENCE-ID matches none (left over from before the series was
	// changed) is not shown by ical.js, nor by recurring-ical-events (its
	// issue 253). It is dropped only when the whole set is known; a match
	// of the wall clock alone counts as well.
	all := append(slices.Clip(starts), periods...)
	for _, m := range pending {
		if !sure || p.occurs(m.rid, mst, all, lo, hi, master) {
			p.add(uid, m.iv)
			continue
		}
		p.log.add(m.n.line, "VEVENT", p.uid, "RECURRENCE-ID %s matches no occurrence of its series: skipped", ridString(m.rid))
	}
	if isFree(master) {
		return nil
	}
	slices.SortFunc(futures, func(a, b future) int { return int(a.at - b.at) })
	seen := make(map[int64]bool, len(starts))
	for _, w := range starts {
		k := w.key()
		if seen[k] || exInstant[k] || replacedAt[k] {
			continue
		}
		seen[k] = true
		if d := DateOf(w.t); exDate[d] || replacedOn[d] {
			continue
		}
		iv := p.interval(w, ms)
		// The latest THISANDFUTURE override at or before this occurrence
		// applies.
		for i := len(futures) - 1; i >= 0; i-- {
			if f := futures[i]; f.at <= k {
				st := iv.Start.Add(f.shift)
				iv = Interval{st, st.Add(f.length)}
				if f.free {
					iv = Interval{}
				}
				break
			}
		}
		p.add(uid, iv)
	}
	return nil
}

// convert re-expresses w with the value type of like.
func (p *parser) convert(w, like when) when {
	if like.allDay {
		return when{t: time.Date(w.t.Year(), w.t.Month(), w.t.Day(), 0, 0, 0, 0, time.UTC), allDay: true}
	}
	h, m, s := like.t.Clock()
	return when{t: time.Date(w.t.Year(), w.t.Month(), w.t.Day(), h, m, s, 0, like.t.Location()), floating: like.floating}
}

// until reads an RRULE's UNTIL for a rule starting at start. A date ends a
// timed rule at the end of that day; a floating date-time is read in the
// start's zone when the start is floating too, else as UTC (RFC 5545
// §3.3.10 requires UTC there; the references read it so).
func (p *parser) until(v string, start when) (time.Time, error) {
	v = strings.ToUpper(strings.TrimSpace(v))
	bad := fmt.Errorf("bad UNTIL %q", clip(v, 40))
	switch {
	case (len(v) == 8 || len(v) == 9 && v[8] == 'Z') && digits(v[:8]):
		t, err := time.ParseInLocation("20060102", v[:8], time.UTC)
		if err != nil {
			return time.Time{}, bad
		}
		if start.allDay {
			return t, nil
		}
		return time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 59, 0, start.t.Location()), nil
	case (len(v) == 15 || len(v) == 16 && v[15] == 'Z') && digits(v[:8]) && v[8] == 'T' && digits(v[9:15]):
		loc := time.UTC
		if len(v) == 15 && start.floating {
			loc = start.t.Location()
		}
		t, err := time.ParseInLocation("20060102T150405", v[:15], loc)
		if err != nil {
			return time.Time{}, bad
		}
		return t, nil
	}
	return time.Time{}, bad
}

// rrule expands one RRULE for start, returning the occurrences that start
// in [lo, hi) (DTSTART itself is added by the caller). A rule that cannot
// be read is reported and yields nothing; one with more occurrences than
// maxEventIter is cut, and cut is where its busy time must run on to the
// end of the window. The error is for the feed's whole budget.
func (p *parser) rrule(rp *prop, start when, lo, hi time.Time, report bool) (out []when, cut time.Time, ok bool, err error) {
	r, err := parseRule(rp.value)
	for _, d := range r.dropped {
		if report {
			p.skip(rp.line, "RRULE %s: ignored", d)
		}
	}
	unreadable := func(err error) ([]when, time.Time, bool, error) {
		if report {
			p.skip(rp.line, "RRULE %q unreadable (%v): only its first occurrence, DTSTART, is blocked", clip(rp.value, 80), err)
		}
		return nil, time.Time{}, false, nil
	}
	ok = len(r.dropped) == 0
	if err != nil {
		return unreadable(err)
	}
	loc := start.t.Location() // UTC container for dates
	opt, err := rrule.StrToROptionInLocation(r.parts, loc)
	if err != nil {
		return unreadable(err)
	}
	if r.until != "" {
		if u, err := p.until(r.until, start); err != nil {
			if report {
				p.skip(rp.line, "RRULE UNTIL unreadable (%v): the rule is read without an end", err)
			}
			ok = false
		} else {
			opt.Until = u
		}
	}
	if start.allDay {
		lo, hi = lo.Add(-48*time.Hour), hi.Add(48*time.Hour) // compared as civil dates in UTC
	}
	opt.Dtstart = skipAhead(opt, start.t, lo)
	rr, err := rrule.NewRRule(*opt)
	if err != nil {
		return unreadable(err)
	}
	next := rr.Iterator()
	limit := -1
	for n := 0; ; n++ {
		t, ok := next()
		if !ok || !t.Before(hi) {
			break
		}
		// DTSTART counts as the first of COUNT even when the rule does
		// not produce it (RFC 5545 §3.3.10); rrule-go does not count it.
		if n == 0 && opt.Count > 0 && !t.Equal(start.t) {
			limit = opt.Count - 1
		}
		if n == limit {
			break
		}
		p.iter++
		if p.iter > maxFeedIter {
			return nil, time.Time{}, false, fmt.Errorf("recurrences need more than %d steps in all", maxFeedIter)
		}
		if n >= maxEventIter {
			w := p.instant(when{t: t, allDay: start.allDay})
			if report {
				p.skip(rp.line, "RRULE %q has more than %d occurrences to expand: busy from %s to the end of the window", clip(rp.value, 80), maxEventIter, w.UTC().Format(time.RFC3339))
			}
			return out, maxTime(w, p.from), false, nil
		}
		if !t.Before(lo) {
			out = append(out, when{t: t, allDay: start.allDay, floating: start.floating})
		}
	}
	return out, time.Time{}, ok, nil
}

// occurs reports whether rid names an occurrence of the main event that
// starts at start: one of known (DTSTART, RDATEs and the RRULE occurrences
// in [lo, hi)), or one its RRULEs give near rid. The instant, the wall
// clock or, on an all-day series or for a date, the date may match.
func (p *parser) occurs(rid, start when, known []when, lo, hi time.Time, master *node) bool {
	match := func(w when) bool {
		if start.allDay || rid.allDay {
			return p.dateOf(w) == p.dateOf(rid)
		}
		return w.key() == rid.key() || w.t.Format("20060102T150405") == rid.t.Format("20060102T150405")
	}
	if slices.ContainsFunc(known, match) {
		return true
	}
	at := p.instant(rid)
	if !at.Before(lo) && at.Before(hi) {
		return false // the RRULEs were expanded there
	}
	for _, rp := range master.all("RRULE") {
		near, cut, _, err := p.rrule(rp, start, at.Add(-48*time.Hour), at.Add(48*time.Hour), false)
		if err != nil || !cut.IsZero() || slices.ContainsFunc(near, match) {
			return true
		}
	}
	return false
}

// ridString formats a RECURRENCE-ID for a report.
func ridString(w when) string {
	if w.allDay {
		return DateOf(w.t).String()
	}
	return w.t.Format("2006-01-02T15:04:05 MST")
}

// skipAhead moves the start of a rule without COUNT forward by whole
// periods to just before lo, so that a weekly meeting begun years ago is not
// stepped through from its first week. The moved start keeps the rule's
// phase: the BY* parts rrule-go would derive from DTSTART are made explicit.
func skipAhead(opt *rrule.ROption, dt, lo time.Time) time.Time {
	if opt.Count > 0 || !dt.Before(lo) {
		return dt
	}
	interval := max(opt.Interval, 1)
	loc := dt.Location()
	lo = lo.In(loc)
	y, m, d := dt.Date()
	hh, mm, ss := dt.Clock()
	noDays := len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(opt.Bymonthday) == 0 && len(opt.Byweekday) == 0
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		period := interval
		if opt.Freq == rrule.WEEKLY {
			period *= 7
			if len(opt.Byweekday) == 0 {
				opt.Byweekday = []rrule.Weekday{weekdays[dt.Weekday()]}
			}
		}
		days := int(DateOf(lo).civilUnix()-DateOf(dt).civilUnix()) / 86400
		if k := days/period - 1; k > 0 {
			return time.Date(y, m, d+k*period, hh, mm, ss, 0, loc)
		}
	case rrule.MONTHLY, rrule.YEARLY:
		period := interval
		if opt.Freq == rrule.YEARLY {
			period *= 12
			if noDays && len(opt.Bymonth) == 0 {
				opt.Bymonth = []int{int(m)}
			}
		}
		if noDays {
			opt.Bymonthday = []int{d}
		}
		ly, lm, _ := lo.Date()
		months := (ly-y)*12 + int(lm-m)
		if k := months/period - 1; k > 0 {
			if opt.Freq == rrule.YEARLY {
				return time.Date(y+k*interval, 1, 1, hh, mm, ss, 0, loc)
			}
			return time.Date(y, m+time.Month(k*period), 1, hh, mm, ss, 0, loc)
		}
	case rrule.HOURLY, rrule.MINUTELY, rrule.SECONDLY:
		unit := map[rrule.Frequency]time.Duration{rrule.HOURLY: time.Hour, rrule.MINUTELY: time.Minute, rrule.SECONDLY: time.Second}[opt.Freq]
		period := time.Duration(interval) * unit
		if k := int64(lo.Sub(dt)/period) - 1; k > 0 && len(opt.Byhour)+len(opt.Byminute)+len(opt.Bysecond) == 0 && noDays && len(opt.Bymonth) == 0 {
			return dt.Add(time.Duration(k) * period)
		}
	}
	return dt
}

var weekdays = [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// mergeIntervals sorts iv by Start and merges overlapping or touching
// intervals.
func mergeIntervals(iv []Interval) []Interval {
	if len(iv) == 0 {
		return nil
	}
	iv = slices.Clone(iv)
	slices.SortFunc(iv, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	out := iv[:1]
	for _, x := range iv[1:] {
		last := &out[len(out)-1]
		if !x.Start.After(last.End) {
			if x.End.After(last.End) {
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}
