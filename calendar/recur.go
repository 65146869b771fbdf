package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// rule is an RRULE read liberally: the parts rrule-go understands, UNTIL
// apart (its value is read by the caller, whose DTSTART decides what a
// floating UNTIL means), and what was left out.
type rule struct {
	parts   string // "FREQ=WEEKLY;BYDAY=TU", without UNTIL
	until   string // the UNTIL value, "" if none
	dropped []string
}

// rruleParts are the parts of RFC 5545 §3.3.10 but UNTIL.
var rruleParts = map[string]bool{
	"FREQ": true, "COUNT": true, "INTERVAL": true, "BYSECOND": true, "BYMINUTE": true, "BYHOUR": true,
	"BYDAY": true, "BYMONTHDAY": true, "BYYEARDAY": true, "BYWEEKNO": true, "BYMONTH": true,
	"BYSETPOS": true, "WKST": true,
}

// parseRule reads an RRULE value. A part that is unknown ("UNTL=…"), has
// no value ("AnythingRandom") or that rrule-go rejects on its own
// ("BYDAY=XX") is dropped and listed; a repeated part keeps its first
// value. It fails when no FREQ is left.
func parseRule(value string) (rule, error) {
	v := strings.TrimSpace(value)
	for {
		rest, ok := cutPrefixFold(v, "RRULE:")
		if !ok {
			break
		}
		v = rest
	}
	var r rule
	var kept []string
	seen := map[string]bool{}
	hasFreq := false
	for part := range strings.SplitSeq(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name, val = strings.ToUpper(strings.TrimSpace(name)), strings.TrimSpace(val)
		switch {
		case !ok || val == "":
			r.dropped = append(r.dropped, fmt.Sprintf("part %q has no value", clip(part, 40)))
			continue
		case seen[name]:
			r.dropped = append(r.dropped, fmt.Sprintf("part %s repeated", clip(name, 20)))
			continue
		case name == "RSCALE" && strings.EqualFold(val, "GREGORIAN"):
			continue // RFC 7529: the default
		case name == "UNTIL":
			seen[name], r.until = true, val
			continue
		case !rruleParts[name]:
			r.dropped = append(r.dropped, fmt.Sprintf("unknown part %q", clip(part, 40)))
			continue
		}
		probe := "FREQ=DAILY;" + name + "=" + val
		if name == "FREQ" {
			probe = "FREQ=" + val
		}
		if !rulePartSane(name, val) || !ruleParses(probe) {
			r.dropped = append(r.dropped, fmt.Sprintf("part %q unreadable", clip(part, 40)))
			continue
		}
		seen[name] = true
		hasFreq = hasFreq || name == "FREQ"
		kept = append(kept, name+"="+strings.ToUpper(val))
	}
	if !hasFreq {
		return r, fmt.Errorf("no readable FREQ")
	}
	r.parts = strings.Join(kept, ";")
	return r, nil
}

// ruleParses reports whether rrule-go reads and accepts s.
func ruleParses(s string) bool {
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return false
	}
	opt.Dtstart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = rrule.NewRRule(*opt)
	return err == nil
}

// rulePartSane bounds numbers rrule-go would accept but should not loop
// on: an INTERVAL or COUNT beyond any calendar.
func rulePartSane(name, val string) bool {
	switch name {
	case "INTERVAL":
		return len(val) <= 6 && val != "0" // at most 999999
	case "COUNT":
		return len(val) <= 9
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
