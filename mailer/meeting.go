package mailer

import (
	"errors"
	"net/url"
	"strings"

	"leadbook/calendar"
	"leadbook/leads"
)

// MeetingPhone is the LEADBOOK_MEETING_URL that makes calls phone calls:
// the CEO calls the number the visitor gives.
const MeetingPhone = "phone"

// RoomToken is what a meeting link template has where each booking's own
// room name goes.
const RoomToken = "{room}"

// Meeting is where calls happen (LEADBOOK_MEETING_URL): a link, the same
// for every call or with RoomToken for a room per booking; a phone call
// (Phone); or nothing said (the zero Meeting), as before the setting.
type Meeting struct {
	Link  string
	Phone bool
}

// ParseMeeting reads LEADBOOK_MEETING_URL: "", MeetingPhone, or an
// absolute http(s) link, which may hold RoomToken (once) in its path,
// query or fragment.
func ParseMeeting(v string) (Meeting, error) {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		return Meeting{}, nil
	case MeetingPhone:
		return Meeting{Phone: true}, nil
	}
	if strings.Count(v, RoomToken) > 1 {
		return Meeting{}, errors.New("want {room} at most once")
	}
	sample := strings.Replace(v, RoomToken, "abcdefghijklmnopqrstuvwxyz", 1)
	u, err := url.Parse(sample)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Contains(u.Host, "abcdefghijklmnopqrstuvwxyz") ||
		strings.ContainsAny(sample, " \"<>{}\\") || strings.ContainsFunc(sample, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return Meeting{}, errors.New("want phone, a link like https://meet.jit.si/northwind-{room} ({room} becomes each call's own room name), or leave it empty")
	}
	return Meeting{Link: v}, nil
}

// Room returns b's room name: the one stored with it, or, for a booking
// made before rooms were, the random part of its UID, which is as hard to
// guess and as private (both only reach the call's participants).
func Room(b *leads.Booking) string {
	if b.Room != "" {
		return b.Room
	}
	uid, _, _ := strings.Cut(b.UID, "@")
	return uid
}

// URL is b's video link; "" when calls are not held over a link.
func (m Meeting) URL(b *leads.Booking) string {
	if m.Link == "" {
		return ""
	}
	return strings.Replace(m.Link, RoomToken, url.PathEscape(Room(b)), 1)
}

// VisitorWhere is where b happens, in words for the visitor: the link,
// or that the CEO will call them. It never holds what the visitor typed
// (not their number: visitor mail goes to an unverified address).
func (m Meeting) VisitorWhere(b *leads.Booking, ceo string) string {
	switch {
	case m.Link != "":
		return m.URL(b)
	case m.Phone:
		return "By phone: " + ceo + " will call you on the number you gave us."
	}
	return ""
}

// CEOWhere is where b happens, for the CEO and staff: the link, or the
// number to call.
func (m Meeting) CEOWhere(b *leads.Booking) string {
	switch {
	case m.Link != "":
		return m.URL(b)
	case m.Phone:
		if b.Phone == "" {
			return "By phone (no number given)"
		}
		return "By phone: call " + b.Phone
	}
	return ""
}

// place sets inv's LOCATION (where) and, for a link, CONFERENCE.
func (m Meeting) place(inv *calendar.Invitation, b *leads.Booking, where string) {
	inv.Location = where
	if m.Link != "" {
		inv.Conference = m.URL(b)
	}
}

// AnswersText writes answers for a description or a plain-text mail:
// each label on its line, the answer under it.
func AnswersText(as []leads.Answer) string {
	var s strings.Builder
	for i, a := range as {
		if i > 0 {
			s.WriteString("\n\n")
		}
		s.WriteString(a.Label)
		s.WriteString("\n")
		if a.Value == "" {
			s.WriteString("-")
		} else {
			s.WriteString(a.Value)
		}
	}
	return s.String()
}

// CalendarLinks are a call's "add to calendar" links.
type CalendarLinks struct {
	Google, Outlook, Office string
}

// AddToCalendar returns the "add to calendar" links of the visitor's
// copy of the call (nothing for a cancelled one). They go to Google and
// Microsoft, so they carry the firm's words, the time and the place
// only: no manage link, nothing the visitor typed.
func (c *Composer) AddToCalendar(m BookingMail) CalendarLinks {
	return c.calendarLinks(c.Invitation(m), m)
}

// calendarLinks is AddToCalendar made from inv, m's visitor invitation
// (Invitation), which it is given by value and so leaves as it is.
func (c *Composer) calendarLinks(inv calendar.Invitation, m BookingMail) CalendarLinks {
	if !m.Booking.Live() {
		return CalendarLinks{}
	}
	inv.Description = c.visitorDescription(m.CEO.Name, inv.Location)
	return CalendarLinks{Google: inv.GoogleLink(), Outlook: inv.OutlookLink(calendar.OutlookLive), Office: inv.OutlookLink(calendar.OutlookOffice)}
}

// MeetingPlace is where calls happen, for callers that hold the Composer
// behind an interface (the booking handlers).
func (c *Composer) MeetingPlace() Meeting { return c.Meeting }
