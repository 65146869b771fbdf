package calendar

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// zoneResolver turns the TZIDs of one feed into locations.
type zoneResolver struct {
	floating *time.Location
	vtz      map[string]*node // VTIMEZONE by TZID
	cache    map[string]zoneEntry
	until    time.Time // VTIMEZONE rules are expanded up to here
	log      *skipLog  // for what a VTIMEZONE holds that cannot be read
}

type zoneEntry struct {
	loc   *time.Location
	known bool
}

// location resolves tzid: Windows name, IANA name (also behind a prefix
// such as /mozilla.org/20050126_1/, or a leading solidus), the feed's
// VTIMEZONE, else floating with known false.
func (z *zoneResolver) location(tzid string) (*time.Location, bool) {
	if e, ok := z.cache[tzid]; ok {
		return e.loc, e.known
	}
	loc, known := z.resolve(tzid)
	z.cache[tzid] = zoneEntry{loc, known}
	return loc, known
}

// resolve prefers the IANA rules of a name the zone database knows over the
// feed's VTIMEZONE of that name: they agree where the VTIMEZONE is right,
// and they go on where it stops (a VTIMEZONE listing the changes of past
// years only).
func (z *zoneResolver) resolve(tzid string) (*time.Location, bool) {
	name := strings.TrimSpace(strings.Trim(tzid, `"`))
	if loc := LookupZone(name); loc != nil {
		return loc, true
	}
	c := z.vtz[name]
	if c == nil {
		c = z.vtz[unescapeText(name)]
	}
	if c == nil {
		return z.floating, false
	}
	loc, err := zoneFromVTimezone(name, c, z.until, z.log)
	if err != nil {
		z.log.add(c.line, "VTIMEZONE", "", "%v: its times are read in the CEO's zone", err)
		return z.floating, true
	}
	return loc, true
}

// LookupZone returns the zone a calendar TZID names without a VTIMEZONE: an
// IANA name, a Windows zone name (mapped as CLDR does for territory 001) or
// an IANA name behind a path prefix ("/mozilla.org/20050126_1/Europe/Berlin",
// "/softwarestudio.org/Olson_20011030_5/America/New_York"). It returns nil
// for anything else.
func LookupZone(name string) *time.Location {
	name = strings.TrimSpace(strings.Trim(name, `"`))
	if iana, ok := windowsZones[name]; ok {
		name = iana
	}
	for {
		if loc := loadIANA(name); loc != nil {
			return loc
		}
		i := strings.IndexByte(name, '/')
		if i < 0 {
			return nil
		}
		name = name[i+1:]
	}
}

// ianaAreas are the first parts of IANA zone names; single-part names are
// accepted from ianaSingle only, so that no TZID reaches a file such as
// /usr/share/zoneinfo/localtime.
var (
	ianaAreas  = []string{"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Brazil", "Canada", "Chile", "Europe", "Etc", "Indian", "Mexico", "Pacific", "US"}
	ianaSingle = []string{"UTC", "GMT", "UCT", "Zulu", "Universal", "Greenwich", "CET", "EET", "MET", "WET", "EST", "MST", "HST", "EST5EDT", "CST6CDT", "MST7MDT", "PST8PDT"}
)

func loadIANA(name string) *time.Location {
	area, _, multi := strings.Cut(name, "/")
	if len(name) > 64 || strings.Contains(name, "..") || strings.Contains(name, "//") || strings.HasSuffix(name, "/") || (multi && !slices.Contains(ianaAreas, area)) || (!multi && !slices.Contains(ianaSingle, name)) {
		return nil
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r)) {
			return nil
		}
	}
	loc, err := LoadZone(name)
	if err != nil {
		return nil
	}
	return loc
}

// transition is one onset of a VTIMEZONE observance.
type transition struct {
	at     int64 // Unix seconds
	offset int   // seconds east of UTC, after the onset
	dst    bool
	abbr   string
}

// zoneFromVTimezone builds a location from a VTIMEZONE's STANDARD and
// DAYLIGHT observances (DTSTART, TZOFFSETFROM, TZOFFSETTO, RRULE, RDATE),
// with onsets up to the end of the year after until. An observance that
// cannot be read is reported to log (when not nil) and left out; a DTSTART
// may be a date (its midnight).
func zoneFromVTimezone(name string, c *node, until time.Time, log *skipLog) (*time.Location, error) {
	report := func(line int, format string, args ...any) {
		if log != nil {
			log.add(line, "VTIMEZONE", "", "%q: "+format, append([]any{clip(name, 60)}, args...)...)
		}
	}
	for _, b := range c.bad {
		report(b.line, "%s: ignored", b.reason)
	}
	endYear := until.Year() + 1
	var ts []transition
	first := struct {
		at     int64
		offset int
		ok     bool
	}{}
	for _, o := range c.children {
		if o.name != "STANDARD" && o.name != "DAYLIGHT" {
			continue
		}
		for _, b := range o.bad {
			report(b.line, "%s: ignored", b.reason)
		}
		to, err := parseUTCOffset(o.text("TZOFFSETTO"))
		if err != nil {
			report(o.line, "%s without a readable TZOFFSETTO: ignored", o.name)
			continue
		}
		from, err := parseUTCOffset(o.text("TZOFFSETFROM"))
		if err != nil {
			from = to
		}
		start, err := localTime(o.text("DTSTART"))
		if err != nil {
			report(o.line, "%s without a readable DTSTART: ignored", o.name)
			continue
		}
		abbr := o.text("TZNAME")
		if abbr == "" || len(abbr) > 16 || strings.ContainsAny(abbr, "\x00,<>") {
			abbr = formatOffset(to)
		}
		dst := o.name == "DAYLIGHT"
		onsets := []time.Time{start}
		for _, rp := range o.all("RRULE") {
			more, moved, err := observanceOnsets(rp.value, start, until, endYear)
			if err != nil {
				report(rp.line, "%s RRULE unreadable (%v): ignored", o.name, err)
				continue
			}
			if moved && len(onsets) > 0 && onsets[0].Equal(start) {
				onsets = onsets[1:] // the rule's own first onset is long past
			}
			onsets = append(onsets, more...)
		}
		for _, rd := range o.all("RDATE") {
			for v := range strings.SplitSeq(rd.value, ",") {
				if t, err := localTime(v); err == nil {
					onsets = append(onsets, t)
				} else {
					report(rd.line, "%s RDATE value unreadable: ignored", o.name)
				}
			}
		}
		for _, t := range onsets {
			at := t.Unix() - int64(from) // onset wall time is in the old offset
			if t.Year() > endYear {
				continue
			}
			ts = append(ts, transition{at: at, offset: to, dst: dst, abbr: abbr})
			if !first.ok || at < first.at {
				first.at, first.offset, first.ok = at, from, true
			}
		}
	}
	if !first.ok {
		return nil, fmt.Errorf("calendar: VTIMEZONE %q: no observance", clip(name, 60))
	}
	slices.SortFunc(ts, func(a, b transition) int { return int(a.at - b.at) })
	ts = slices.CompactFunc(ts, func(a, b transition) bool { return a.at == b.at })
	return time.LoadLocationFromTZData(name, tzif(transition{offset: first.offset, abbr: formatOffset(first.offset)}, ts))
}

// localTime reads an observance's DTSTART or RDATE: a local date-time (a
// trailing Z ignored) or a date, as wall clock in a UTC container.
func localTime(v string) (time.Time, error) {
	v = strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(v)), "Z")
	layout := "20060102T150405"
	if len(v) == 8 {
		layout = "20060102"
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err == nil && t.Year() < 1 {
		err = fmt.Errorf("year 0")
	}
	return t, err
}

// observanceOnsets expands an observance's RRULE from start up to the end
// of endYear. Yearly rules of Windows zones start in 1601: they begin a few
// years before until instead (BYMONTH and BYDAY carry the rule), and moved
// says so.
func observanceOnsets(value string, start, until time.Time, endYear int) (out []time.Time, moved bool, err error) {
	r, err := parseRule(value)
	if err != nil {
		return nil, false, err
	}
	opt, err := rrule.StrToROptionInLocation(r.parts, time.UTC)
	if err != nil {
		return nil, false, err
	}
	if r.until != "" {
		if u, err := localTime(r.until); err == nil {
			opt.Until = u
		}
	}
	opt.Dtstart = start
	if opt.Freq == rrule.YEARLY && opt.Count == 0 && max(opt.Interval, 1) == 1 && len(opt.Bymonth) > 0 && start.Year() < until.Year()-3 && until.Year() > 4 {
		opt.Dtstart = time.Date(until.Year()-3, 1, 1, start.Hour(), start.Minute(), start.Second(), 0, time.UTC)
		moved = true
	}
	rr, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil, false, err
	}
	next := rr.Iterator()
	for n := 0; n < 1000; n++ {
		t, ok := next()
		if !ok || t.Year() > endYear {
			break
		}
		out = append(out, t)
	}
	return out, moved, nil
}

// tzif encodes a version 1 TZif file (RFC 8536): type 0 is the zone before
// the first transition.
func tzif(initial transition, ts []transition) []byte {
	type ttype struct {
		offset int
		dst    bool
		abbr   string
	}
	types := []ttype{{initial.offset, false, initial.abbr}}
	idx := make([]byte, 0, len(ts))
	var times []int32
	for _, t := range ts {
		if t.at < -1<<31 || t.at >= 1<<31 {
			continue
		}
		tt := ttype{t.offset, t.dst, t.abbr}
		i := slices.Index(types[1:], tt) + 1
		if i == 0 {
			types = append(types, tt)
			i = len(types) - 1
		}
		times = append(times, int32(t.at))
		idx = append(idx, byte(i))
	}
	var chars []byte
	abbrIdx := make([]int, len(types))
	for i, tt := range types {
		abbrIdx[i] = len(chars)
		chars = append(chars, tt.abbr...)
		chars = append(chars, 0)
	}
	var b bytes.Buffer
	b.WriteString("TZif")
	b.WriteByte(0) // version 1
	b.Write(make([]byte, 15))
	for _, n := range []int{0, 0, 0, len(times), len(types), len(chars)} {
		_ = binary.Write(&b, binary.BigEndian, uint32(n))
	}
	for _, t := range times {
		_ = binary.Write(&b, binary.BigEndian, t)
	}
	b.Write(idx)
	for i, tt := range types {
		_ = binary.Write(&b, binary.BigEndian, int32(tt.offset))
		dst := byte(0)
		if tt.dst {
			dst = 1
		}
		b.WriteByte(dst)
		b.WriteByte(byte(abbrIdx[i]))
	}
	b.Write(chars)
	return b.Bytes()
}

// parseUTCOffset parses a UTC-OFFSET value: +HHMM, -HHMM or ±HHMMSS.
func parseUTCOffset(s string) (int, error) {
	if (len(s) != 5 && len(s) != 7) || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	n := 0
	for i := 1; i < len(s); i += 2 {
		v, err := strconv.Atoi(s[i : i+2])
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad UTC offset %q", s)
		}
		n = n*60 + v
	}
	if len(s) == 5 {
		n *= 60
	}
	if n >= 24*3600 {
		return 0, fmt.Errorf("bad UTC offset %q", s)
	}
	if s[0] == '-' {
		n = -n
	}
	return n, nil
}

func formatOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	return fmt.Sprintf("%c%02d%02d", sign, sec/3600, sec/60%60)
}
