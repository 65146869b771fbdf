package calendar

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	ical "github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// zoneResolver turns the TZIDs of one feed into locations.
type zoneResolver struct {
	floating *time.Location
	vtz      map[string]*ical.Component // VTIMEZONE by TZID
	cache    map[string]*time.Location
	until    time.Time // VTIMEZONE rules are expanded up to here
}

// location resolves tzid: Windows name, IANA name (also behind a prefix
// such as /mozilla.org/20050126_1/), the feed's VTIMEZONE, else floating.
func (z *zoneResolver) location(tzid string) *time.Location {
	if loc, ok := z.cache[tzid]; ok {
		return loc
	}
	loc := z.resolve(tzid)
	z.cache[tzid] = loc
	return loc
}

func (z *zoneResolver) resolve(tzid string) *time.Location {
	name := strings.TrimSpace(strings.Trim(tzid, `"`))
	if loc := LookupZone(name); loc != nil {
		return loc
	}
	if c := z.vtz[tzid]; c != nil {
		if loc, err := zoneFromVTimezone(name, c, z.until); err == nil {
			return loc
		}
	}
	return z.floating
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
	if len(name) > 64 || strings.Contains(name, "..") || (multi && !slices.Contains(ianaAreas, area)) || (!multi && !slices.Contains(ianaSingle, name)) {
		return nil
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r)) {
			return nil
		}
	}
	loc, err := time.LoadLocation(name)
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
// with onsets up to the end of the year after until.
func zoneFromVTimezone(name string, c *ical.Component, until time.Time) (*time.Location, error) {
	endYear := until.Year() + 1
	var ts []transition
	first := struct {
		at     int64
		offset int
		ok     bool
	}{}
	for _, o := range c.Children {
		if o.Name != ical.CompTimezoneStandard && o.Name != ical.CompTimezoneDaylight {
			continue
		}
		from, err1 := parseUTCOffset(propValue(o, ical.PropTimezoneOffsetFrom))
		to, err2 := parseUTCOffset(propValue(o, ical.PropTimezoneOffsetTo))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("calendar: VTIMEZONE %q: bad offset", name)
		}
		start, err := time.ParseInLocation("20060102T150405", propValue(o, ical.PropDateTimeStart), time.UTC)
		if err != nil {
			return nil, fmt.Errorf("calendar: VTIMEZONE %q: bad DTSTART", name)
		}
		abbr := propValue(o, "TZNAME")
		if abbr == "" || len(abbr) > 16 || strings.ContainsAny(abbr, "\x00,<>") {
			abbr = formatOffset(to)
		}
		dst := o.Name == ical.CompTimezoneDaylight
		onsets := []time.Time{start}
		if rr := propValue(o, ical.PropRecurrenceRule); rr != "" {
			opt, err := rrule.StrToROptionInLocation(rr, time.UTC)
			if err != nil {
				return nil, fmt.Errorf("calendar: VTIMEZONE %q: RRULE: %w", name, err)
			}
			opt.Dtstart = start
			// Yearly rules of Windows zones start in 1601: begin a few years
			// before the feed's window (BYMONTH and BYDAY carry the rule).
			if opt.Freq == rrule.YEARLY && opt.Count == 0 && max(opt.Interval, 1) == 1 && len(opt.Bymonth) > 0 && start.Year() < until.Year()-3 {
				opt.Dtstart = time.Date(until.Year()-3, 1, 1, start.Hour(), start.Minute(), start.Second(), 0, time.UTC)
				onsets = nil
			}
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				return nil, fmt.Errorf("calendar: VTIMEZONE %q: RRULE: %w", name, err)
			}
			next := r.Iterator()
			for n := 0; n < 1000; n++ {
				t, ok := next()
				if !ok || t.Year() > endYear {
					break
				}
				onsets = append(onsets, t)
			}
		}
		for _, rd := range o.Props.Values(ical.PropRecurrenceDates) {
			for _, v := range strings.Split(rd.Value, ",") {
				if t, err := time.ParseInLocation("20060102T150405", strings.TrimSpace(v), time.UTC); err == nil {
					onsets = append(onsets, t)
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
		return nil, fmt.Errorf("calendar: VTIMEZONE %q: no observance", name)
	}
	slices.SortFunc(ts, func(a, b transition) int { return int(a.at - b.at) })
	ts = slices.CompactFunc(ts, func(a, b transition) bool { return a.at == b.at })
	return time.LoadLocationFromTZData(name, tzif(transition{offset: first.offset, abbr: formatOffset(first.offset)}, ts))
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
