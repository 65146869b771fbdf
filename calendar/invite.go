package calendar

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ProdID is the PRODID of every calendar the package writes.
const ProdID = "-//leadbook//leadbook calendar 1.0//EN"

// Invitation methods (RFC 5546).
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
)

// Person is a calendar user: a display name and a mailbox.
type Person struct{ Name, Email string }

// Caps, in characters, on what an invitation shows as a title and as a
// name: SUMMARY and the CN of a calendar user are visible in every
// calendar the event lands in, so a visitor's text there is bounded
// whatever the caller passes (longer values are cut, with "…").
const (
	MaxSummary = 160
	MaxCN      = 64
)

// capRunes cuts s to at most n characters, the last one "…" when cut.
func capRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return strings.TrimSpace(s[:j]) + "…"
		}
		i++
	}
	return s
}

// Invitation is one booking as an iCalendar event.
type Invitation struct {
	Method                         string // MethodRequest or MethodCancel (which implies STATUS:CANCELLED); "" for a feed entry
	UID                            string // one per booking
	Sequence                       int
	Stamp                          time.Time // DTSTAMP
	Start, End                     time.Time
	Summary, Description, Location string
	URL                            string // manage link
	Organizer                      Person // equal to the mail From:
	Chair                          Person // the CEO: ATTENDEE;ROLE=CHAIR;PARTSTAT=ACCEPTED
	Attendee                       Person // the visitor: ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE or FALSE
	Cancelled                      bool
	// RSVP asks the visitor for a reply (RSVP=TRUE): only where replies
	// are read (the organizer's mailbox over IMAP). False: RSVP=FALSE.
	RSVP bool

	// Conference is the call's video link (RFC 7986 CONFERENCE, with
	// VALUE=URI and FEATURE=VIDEO); "" for none.
	Conference string
}

// Encode returns inv as a complete iTIP calendar (VERSION, PRODID,
// CALSCALE, METHOD and one VEVENT) with times in UTC, folded at 75 octets
// with CRLF line ends.
func (inv Invitation) Encode() ([]byte, error) {
	switch inv.Method {
	case MethodRequest, MethodCancel:
	default:
		return nil, fmt.Errorf("calendar: encode invitation %q: method %q: want %s or %s", inv.UID, inv.Method, MethodRequest, MethodCancel)
	}
	var b bytes.Buffer
	calendarHeader(&b)
	line(&b, "METHOD:"+inv.Method)
	if err := inv.event(&b); err != nil {
		return nil, err
	}
	b.WriteString("END:VCALENDAR\r\n")
	return Fold(b.Bytes()), nil
}

// FeedRefresh is how often subscribers are asked to reload EncodeFeed's
// calendar.
const FeedRefresh = time.Hour

// EncodeFeed returns the subscription feed of the CEO's bookings: a
// calendar named name with METHOD:PUBLISH (what Google Calendar's own
// exports carry; Apple Calendar and Outlook accept it on subscriptions),
// X-WR-CALNAME and NAME, REFRESH-INTERVAL and X-PUBLISHED-TTL, and one
// VEVENT per invitation (their Method is ignored; Cancelled ones carry
// STATUS:CANCELLED). As RFC 5546 wants for PUBLISH, events carry the
// ORGANIZER but no ATTENDEE; the visitor is named in CONTACT. Events are written in the order given. stamp is the
// DTSTAMP of events whose Stamp is zero.
func EncodeFeed(name string, events []Invitation, stamp time.Time) ([]byte, error) {
	var b bytes.Buffer
	calendarHeader(&b)
	line(&b, "METHOD:PUBLISH")
	if name != "" {
		line(&b, "X-WR-CALNAME:"+escapeText(name))
		line(&b, "NAME:"+escapeText(name))
	}
	ttl := "PT" + strconv.Itoa(int(FeedRefresh/time.Minute)) + "M"
	line(&b, "REFRESH-INTERVAL;VALUE=DURATION:"+ttl)
	line(&b, "X-PUBLISHED-TTL:"+ttl)
	for _, inv := range events {
		if inv.Stamp.IsZero() {
			inv.Stamp = stamp
		}
		inv.Method = ""
		if err := inv.event(&b); err != nil {
			return nil, err
		}
	}
	b.WriteString("END:VCALENDAR\r\n")
	return Fold(b.Bytes()), nil
}

func calendarHeader(b *bytes.Buffer) {
	line(b, "BEGIN:VCALENDAR")
	line(b, "VERSION:2.0")
	line(b, "PRODID:"+ProdID)
	line(b, "CALSCALE:GREGORIAN")
}

func line(b *bytes.Buffer, s string) {
	b.WriteString(s)
	b.WriteString("\r\n")
}

func (inv Invitation) event(b *bytes.Buffer) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("calendar: encode invitation %q: "+format, append([]any{inv.UID}, args...)...)
	}
	if inv.UID == "" || strings.ContainsFunc(inv.UID, isControl) {
		return fail("bad UID")
	}
	if inv.Sequence < 0 {
		return fail("negative SEQUENCE %d", inv.Sequence)
	}
	if inv.Stamp.IsZero() || inv.Start.IsZero() || !inv.Start.Before(inv.End) {
		return fail("need DTSTAMP and a start before the end")
	}
	org, err := calAddress(inv.Organizer)
	if err != nil {
		return fail("organizer: %w", err)
	}
	cancelled := inv.Cancelled || inv.Method == MethodCancel
	var attendees []string
	if inv.Chair.Email != "" {
		a, err := calAddress(inv.Chair)
		if err != nil {
			return fail("chair: %w", err)
		}
		attendees = append(attendees, "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=CHAIR;PARTSTAT=ACCEPTED"+a)
	}
	if inv.Attendee.Email != "" {
		a, err := calAddress(inv.Attendee)
		if err != nil {
			return fail("attendee: %w", err)
		}
		// A cancellation asks for no answer (RFC 5546 3.2.5); otherwise
		// a reply is asked for only where replies are read.
		rsvp := ";RSVP=FALSE"
		switch {
		case cancelled:
			rsvp = ""
		case inv.RSVP:
			rsvp = ";RSVP=TRUE"
		}
		attendees = append(attendees, "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION"+rsvp+a)
	}
	if inv.Method != "" && len(attendees) == 0 {
		return fail("an invitation needs an attendee")
	}
	line(b, "BEGIN:VEVENT")
	line(b, "UID:"+escapeText(inv.UID))
	line(b, "SEQUENCE:"+strconv.Itoa(inv.Sequence))
	line(b, "DTSTAMP:"+utcStamp(inv.Stamp))
	line(b, "DTSTART:"+utcStamp(inv.Start))
	line(b, "DTEND:"+utcStamp(inv.End))
	if inv.Summary != "" {
		line(b, "SUMMARY:"+escapeText(capRunes(inv.Summary, MaxSummary)))
	}
	if inv.Description != "" {
		line(b, "DESCRIPTION:"+escapeText(inv.Description))
	}
	if inv.Location != "" {
		line(b, "LOCATION:"+escapeText(inv.Location))
	}
	if inv.Conference != "" {
		if !safeURI(inv.Conference) {
			return fail("bad conference link %q", inv.Conference)
		}
		line(b, "CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Video call:"+inv.Conference)
	}
	if inv.URL != "" {
		if strings.ContainsFunc(inv.URL, func(r rune) bool { return isControl(r) || r == ' ' || r == '"' }) {
			return fail("bad URL %q", inv.URL)
		}
		line(b, "URL:"+inv.URL)
	}
	line(b, "ORGANIZER"+org)
	if inv.Method != "" {
		for _, a := range attendees {
			line(b, a)
		}
	} else if inv.Attendee.Email != "" {
		// RFC 5546 PUBLISH allows no ATTENDEE; the visitor goes in CONTACT.
		c := strings.TrimSpace(capRunes(inv.Attendee.Name, MaxCN) + " <" + strings.TrimSpace(inv.Attendee.Email) + ">")
		line(b, "CONTACT:"+escapeText(c))
	}
	if cancelled {
		line(b, "STATUS:CANCELLED")
	} else {
		line(b, "STATUS:CONFIRMED")
	}
	line(b, "TRANSP:OPAQUE")
	line(b, "END:VEVENT")
	return nil
}

// safeURI reports whether s is an absolute http(s) link that can stand
// as a property's URI value as it is: no spaces, quotes or control
// characters.
func safeURI(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) &&
		!strings.ContainsFunc(s, func(r rune) bool { return isControl(r) || r == ' ' || r == '"' || r == '<' || r == '>' })
}

func utcStamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// calAddress returns ";CN=...:mailto:..." for p.
func calAddress(p Person) (string, error) {
	email := strings.TrimSpace(p.Email)
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.ContainsFunc(email, func(r rune) bool {
		return isControl(r) || r == ' ' || r == '"' || r == '<' || r == '>' || r == ',' || r == ';' || r == ':'
	}) {
		return "", fmt.Errorf("bad email address %q", p.Email)
	}
	var s strings.Builder
	if name := paramValue(capRunes(p.Name, MaxCN)); name != "" {
		s.WriteString(";CN=")
		s.WriteString(name)
	}
	s.WriteString(":mailto:")
	s.WriteString(email)
	return s.String(), nil
}

// paramValue makes s a parameter value: control characters and double
// quotes (which no parameter value may hold) become spaces, and the value is
// quoted when it holds ';', ':' or ','.
func paramValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if isControl(r) || r == '"' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, ";:,") {
		return `"` + s + `"`
	}
	return s
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash, ';', ','
// and newlines; other control characters are dropped.
func escapeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteByte(' ')
		case isControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Fold returns content with CRLF line ends and every line longer than 75
// octets folded (RFC 5545 §3.1): continuation lines start with a space and
// a line is never split inside a UTF-8 character. Lines may end in LF or
// CRLF on input; a final line without an end gets one.
func Fold(content []byte) []byte {
	const limit = 75
	out := make([]byte, 0, len(content)+len(content)/60*3+2)
	for len(content) > 0 {
		var ln []byte
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			ln, content = content[:i], content[i+1:]
		} else {
			ln, content = content, nil
		}
		ln = bytes.TrimSuffix(ln, []byte{'\r'})
		room := limit
		for len(ln) > room {
			cut := room
			for cut > 0 && !utf8.RuneStart(ln[cut]) {
				cut--
			}
			if cut == 0 { // not UTF-8: cut anyway rather than loop
				cut = room
			}
			out = append(out, ln[:cut]...)
			out = append(out, "\r\n "...)
			ln = ln[cut:]
			room = limit - 1
		}
		out = append(out, ln...)
		out = append(out, '\r', '\n')
	}
	return out
}
