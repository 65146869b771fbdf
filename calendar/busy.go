package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// Limits that keep a hostile or broken feed from exhausting the process.
const (
	maxFeedBytes      = 32 << 20  // a feed larger than this is refused
	maxParamBytes     = 8 << 10   // name and parameters of one content line
	maxNesting        = 8         // component nesting depth
	maxEventIter      = 50_000    // recurrence steps for one event
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
// repeated lines alike) are expanded over [from, to) only; DTSTART always
// counts as an occurrence. A RECURRENCE-ID override replaces its occurrence
// (moves it, or removes it when the override is cancelled or free);
// RANGE=THISANDFUTURE applies the override's shift and length to every later
// occurrence. All-day events (VALUE=DATE) are busy from local midnight to
// local midnight in floating, the CEO's zone, as are floating times (no
// TZID, no Z). A TZID may be an IANA name, a Windows name (Outlook,
// Exchange), an IANA name behind a prefix ("/mozilla.org/20050126_1/Europe/Berlin")
// or any name defined by a VTIMEZONE in the feed; an unknown TZID without a
// VTIMEZONE is read as floating. A timed event with neither DTEND nor
// DURATION takes no time and blocks nothing.
//
// Malformed input returns an error (never a panic), as does a feed that
// needs too much work (see the limits in the source).
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
	events int          // VEVENTs in the feed
	busy   []Interval   // unmerged, unsorted
	occ    []occurrence // the same, with UIDs (kept for tests)
}

func parseFeed(data []byte, from, to time.Time, floating *time.Location) (f *parsedFeed, err error) {
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("calendar: feed larger than %d bytes", maxFeedBytes)
	}
	if floating == nil {
		floating = time.UTC
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("calendar: parse feed: empty window %v..%v", from, to)
	}
	if err := prescan(data); err != nil {
		return nil, err
	}
	defer func() {
		// go-ical and rrule-go may panic on input they do not expect.
		if v := recover(); v != nil {
			f, err = nil, fmt.Errorf("calendar: malformed feed: %v", v)
		}
	}()
	var cals []*ical.Calendar
	dec := ical.NewDecoder(bytes.NewReader(data))
	for {
		cal, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("calendar: malformed feed: %w", err)
		}
		cals = append(cals, cal)
	}
	if len(cals) == 0 {
		return nil, fmt.Errorf("calendar: malformed feed: no VCALENDAR")
	}
	p := &parser{from: from, to: to, zones: zoneResolver{floating: floating, vtz: map[string]*ical.Component{}, cache: map[string]*time.Location{}, until: to}}
	f = &parsedFeed{}
	var events []*ical.Component
	for _, cal := range cals {
		for _, c := range cal.Children {
			switch c.Name {
			case ical.CompTimezone:
				if id := propValue(c, ical.PropTimezoneID); id != "" {
					p.zones.vtz[id] = c
				}
			case ical.CompEvent:
				events = append(events, c)
			}
		}
	}
	f.events = len(events)
	// Group by UID: the master (no RECURRENCE-ID) and its overrides.
	type series struct {
		master    *ical.Component
		overrides []*ical.Component
	}
	byUID := map[string]*series{}
	var order []string
	for i, c := range events {
		uid := propValue(c, ical.PropUID)
		if uid == "" {
			uid = fmt.Sprintf("\x00no-uid-%d", i) // each UID-less event stands alone
		}
		s := byUID[uid]
		if s == nil {
			s = &series{}
			byUID[uid] = s
			order = append(order, uid)
		}
		if c.Props.Get(ical.PropRecurrenceID) != nil {
			s.overrides = append(s.overrides, c)
		} else if s.master == nil {
			s.master = c
		} // a second master with the same UID is a duplicate: ignored
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
	f.occ = p.occ
	f.busy = make([]Interval, len(p.occ))
	for i, o := range p.occ {
		f.busy[i] = o.Interval
	}
	return f, nil
}

// prescan refuses input that would make go-ical's decoder slow (long
// parameter lists are copied byte by byte) or recurse deeply.
func prescan(data []byte) error {
	depth, params, inValue, inQuote := 0, 0, false, false
	var head []byte // first bytes of the logical line, for BEGIN/END
	endLine := func() error {
		h := strings.ToUpper(string(head))
		switch {
		case strings.HasPrefix(h, "BEGIN:"):
			depth++
			if depth > maxNesting {
				return fmt.Errorf("calendar: malformed feed: components nested deeper than %d", maxNesting)
			}
		case strings.HasPrefix(h, "END:"):
			depth--
		}
		return nil
	}
	for len(data) > 0 {
		var ln []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			ln, data = data[:i], data[i+1:]
		} else {
			ln, data = data, nil
		}
		ln = bytes.TrimSuffix(ln, []byte{'\r'})
		if len(ln) > 0 && (ln[0] == ' ' || ln[0] == '\t') {
			ln = ln[1:] // continuation of the logical line
		} else {
			if err := endLine(); err != nil {
				return err
			}
			params, inValue, inQuote, head = 0, false, false, head[:0]
		}
		if len(head) < 8 {
			head = append(head, ln[:min(len(ln), 8-len(head))]...)
		}
		for _, c := range ln {
			if inValue {
				break
			}
			switch {
			case c == '"':
				inQuote = !inQuote
			case c == ':' && !inQuote:
				inValue = true
			}
			if params++; params > maxParamBytes {
				return fmt.Errorf("calendar: malformed feed: content line parameters longer than %d bytes", maxParamBytes)
			}
		}
	}
	return endLine()
}

func propValue(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return strings.TrimSpace(p.Value)
	}
	return ""
}

// isFree reports whether c blocks no time: free or cancelled.
func isFree(c *ical.Component) bool {
	return strings.EqualFold(propValue(c, ical.PropTransparency), "TRANSPARENT") ||
		strings.EqualFold(propValue(c, "X-MICROSOFT-CDO-BUSYSTATUS"), "FREE") ||
		strings.EqualFold(propValue(c, ical.PropStatus), "CANCELLED")
}

type parser struct {
	from, to time.Time
	zones    zoneResolver
	occ      []occurrence
	iter     int // recurrence steps so far
}

// when is a DATE or DATE-TIME value: for a date, t is its midnight in UTC,
// used as a civil-date container.
type when struct {
	t      time.Time
	allDay bool
}

func (w when) key() int64 { return w.t.Unix() }

// value parses a DATE or DATE-TIME value with the given VALUE and TZID
// parameters.
func (p *parser) value(v, valueType, tzid string) (when, error) {
	v = strings.TrimSpace(v)
	switch {
	case strings.EqualFold(valueType, "DATE") || (len(v) == 8 && valueType == ""):
		t, err := time.ParseInLocation("20060102", v, time.UTC)
		if err != nil {
			return when{}, fmt.Errorf("bad date %q", v)
		}
		return when{t, true}, nil
	case strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z"):
		t, err := time.ParseInLocation("20060102T150405", v[:len(v)-1], time.UTC)
		if err != nil {
			return when{}, fmt.Errorf("bad date-time %q", v)
		}
		return when{t: t}, nil
	default:
		loc := p.zones.floating
		if tzid != "" {
			loc = p.zones.location(tzid)
		}
		t, err := time.ParseInLocation("20060102T150405", v, loc)
		if err != nil {
			return when{}, fmt.Errorf("bad date-time %q", v)
		}
		return when{t: t}, nil
	}
}

func (p *parser) prop(prop *ical.Prop) (when, error) {
	return p.value(prop.Value, prop.Params.Get(ical.ParamValue), prop.Params.Get(ical.PropTimezoneID))
}

// instant turns a start into the instant it stands for: dates become local
// midnight in the floating zone.
func (p *parser) instant(w when) time.Time {
	if w.allDay {
		return DateOf(w.t).In(p.zones.floating)
	}
	return w.t
}

// span is the length of an event: days for all-day events, else exact.
type span struct {
	days int
	d    time.Duration
}

func (p *parser) interval(start when, s span) Interval {
	if start.allDay {
		d := DateOf(start.t)
		return Interval{d.In(p.zones.floating), d.AddDays(max(s.days, 0)).In(p.zones.floating)}
	}
	return Interval{start.t, start.t.Add(s.d)}
}

// eventSpan returns the start and length of a VEVENT.
func (p *parser) eventSpan(c *ical.Component) (when, span, bool, error) {
	sp := c.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return when{}, span{}, false, nil
	}
	start, err := p.prop(sp)
	if err != nil {
		return when{}, span{}, false, fmt.Errorf("DTSTART: %w", err)
	}
	var s span
	switch {
	case c.Props.Get(ical.PropDateTimeEnd) != nil:
		end, err := p.prop(c.Props.Get(ical.PropDateTimeEnd))
		if err != nil {
			return when{}, span{}, false, fmt.Errorf("DTEND: %w", err)
		}
		if start.allDay {
			s.days = int(end.t.Sub(start.t).Round(24*time.Hour) / (24 * time.Hour))
		} else {
			s.d = p.instant(end).Sub(start.t)
		}
	case c.Props.Get(ical.PropDuration) != nil:
		d, err := c.Props.Get(ical.PropDuration).Duration()
		if err != nil {
			return when{}, span{}, false, fmt.Errorf("DURATION: %w", err)
		}
		if start.allDay {
			s.days = int((d + 24*time.Hour - 1) / (24 * time.Hour))
		} else {
			s.d = d
		}
	case start.allDay:
		s.days = 1
	}
	if s.d < 0 || s.days < 0 {
		return when{}, span{}, false, fmt.Errorf("ends before it starts")
	}
	return start, s, true, nil
}

func (p *parser) add(uid string, iv Interval) {
	if iv.Start.Before(iv.End) && iv.Start.Before(p.to) && iv.End.After(p.from) {
		p.occ = append(p.occ, occurrence{iv, uid})
	}
}

// series expands one UID: its master event (may be nil) and overrides.
func (p *parser) series(uid string, master *ical.Component, overrides []*ical.Component) error {
	fail := func(err error) error {
		return fmt.Errorf("calendar: event %q: %w", strings.TrimPrefix(uid, "\x00"), err)
	}
	type future struct {
		at     int64 // RECURRENCE-ID
		shift  time.Duration
		length time.Duration
		free   bool
	}
	replaced := map[int64]bool{}
	var futures []future
	var maxShift time.Duration
	masterFree := master != nil && isFree(master)
	for _, o := range overrides {
		rid, err := p.prop(o.Props.Get(ical.PropRecurrenceID))
		if err != nil {
			return fail(fmt.Errorf("RECURRENCE-ID: %w", err))
		}
		start, s, ok, err := p.eventSpan(o)
		if err != nil {
			return fail(err)
		}
		if !ok { // an override without DTSTART keeps the original time
			start, s, ok = rid, span{days: 1}, true
			if m := master; m != nil {
				if _, ms, mok, err := p.eventSpan(m); err == nil && mok {
					s = ms
				}
			}
		}
		free := isFree(o) || masterFree
		replaced[rid.key()] = true
		if strings.EqualFold(o.Props.Get(ical.PropRecurrenceID).Params.Get("RANGE"), "THISANDFUTURE") {
			shift := p.instant(start).Sub(p.instant(rid))
			iv := p.interval(start, s)
			futures = append(futures, future{at: rid.key(), shift: shift, length: iv.End.Sub(iv.Start), free: free})
			maxShift = max(maxShift, shift, -shift)
		}
		if !free {
			p.add(uid, p.interval(start, s))
		}
	}
	if master == nil || masterFree {
		return nil
	}
	start, s, ok, err := p.eventSpan(master)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return nil
	}
	length := p.interval(start, s)
	dur := length.End.Sub(length.Start)
	// Occurrences starting in [lo, hi) can overlap the window, also after a
	// THISANDFUTURE shift.
	lo := p.from.Add(-dur - maxShift - 48*time.Hour)
	hi := p.to.Add(maxShift + 48*time.Hour)

	starts := []when{start}
	if rp := master.Props.Get(ical.PropRecurrenceRule); rp != nil {
		more, err := p.rrule(rp.Value, start, lo, hi)
		if err != nil {
			return fail(err)
		}
		starts = append(starts, more...)
	}
	for _, rd := range master.Props.Values(ical.PropRecurrenceDates) {
		for _, v := range strings.Split(rd.Value, ",") {
			if strings.EqualFold(rd.Params.Get(ical.ParamValue), "PERIOD") || strings.Contains(v, "/") {
				a, b, _ := strings.Cut(v, "/")
				w, err := p.value(a, "", rd.Params.Get(ical.PropTimezoneID))
				if err != nil {
					return fail(fmt.Errorf("RDATE: %w", err))
				}
				var end time.Time
				if strings.HasPrefix(strings.ToUpper(strings.TrimLeft(b, "+-")), "P") {
					prop := ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: b}
					d, err := prop.Duration()
					if err != nil {
						return fail(fmt.Errorf("RDATE: %w", err))
					}
					end = p.instant(w).Add(d)
				} else {
					e, err := p.value(b, "", rd.Params.Get(ical.PropTimezoneID))
					if err != nil {
						return fail(fmt.Errorf("RDATE: %w", err))
					}
					end = p.instant(e)
				}
				if !replaced[w.key()] {
					p.add(uid, Interval{p.instant(w), end})
				}
				continue
			}
			w, err := p.value(v, rd.Params.Get(ical.ParamValue), rd.Params.Get(ical.PropTimezoneID))
			if err != nil {
				return fail(fmt.Errorf("RDATE: %w", err))
			}
			if w.allDay != start.allDay { // a date among date-times (or back): same wall clock
				w = p.convert(w, start)
			}
			starts = append(starts, w)
		}
	}
	exInstant := map[int64]bool{}
	exDate := map[Date]bool{}
	for _, ex := range master.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(ex.Value, ",") {
			w, err := p.value(v, ex.Params.Get(ical.ParamValue), ex.Params.Get(ical.PropTimezoneID))
			if err != nil {
				return fail(fmt.Errorf("EXDATE: %w", err))
			}
			if w.allDay && !start.allDay {
				exDate[DateOf(w.t)] = true // every occurrence on that local date
			} else {
				exInstant[w.key()] = true
			}
		}
	}
	slices.SortFunc(futures, func(a, b future) int { return int(a.at - b.at) })
	seen := make(map[int64]bool, len(starts))
	for _, w := range starts {
		k := w.key()
		if seen[k] || exInstant[k] || replaced[k] {
			continue
		}
		seen[k] = true
		if len(exDate) > 0 && exDate[DateOf(w.t)] {
			continue
		}
		iv := p.interval(w, s)
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
	return when{t: time.Date(w.t.Year(), w.t.Month(), w.t.Day(), h, m, s, 0, like.t.Location())}
}

// rrule expands an RRULE for start, returning the occurrences that start in
// [lo, hi) (DTSTART itself is added by the caller).
func (p *parser) rrule(value string, start when, lo, hi time.Time) ([]when, error) {
	loc := start.t.Location() // UTC container for dates
	opt, err := rrule.StrToROptionInLocation(strings.TrimPrefix(strings.TrimSpace(value), "RRULE:"), loc)
	if err != nil {
		return nil, fmt.Errorf("RRULE %q: %w", value, err)
	}
	if start.allDay {
		lo, hi = lo.Add(-48*time.Hour), hi.Add(48*time.Hour) // compared as civil dates in UTC
	}
	opt.Dtstart = skipAhead(opt, start.t, lo)
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, fmt.Errorf("RRULE %q: %w", value, err)
	}
	next := r.Iterator()
	var out []when
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
		if n >= maxEventIter || p.iter > maxFeedIter {
			return nil, fmt.Errorf("RRULE %q: too many occurrences", value)
		}
		if !t.Before(lo) {
			out = append(out, when{t: t, allDay: start.allDay})
		}
	}
	return out, nil
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
