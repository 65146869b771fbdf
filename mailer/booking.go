package mailer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
)

// Booking changes, each with its own wording and iTIP method.
const (
	ChangeCreated     = "created"
	ChangeRescheduled = "rescheduled"
	ChangeCancelled   = "cancelled"
)

// Outbox kinds of booking mail.
const (
	KindInvitation    = "invitation"     // to the visitor: REQUEST or CANCEL
	KindInvitationCEO = "invitation_ceo" // to the CEO: the same event
	KindReminder      = leads.KindReminder
)

const (
	tmplBookingVisitor = "booking_visitor"
	tmplBookingCEO     = "booking_ceo"
	tmplReminder       = "reminder"
	tmplBookingHold    = "booking_hold"
)

// KindBookingHold is the outbox kind of the "confirm your call" mail a
// hold sends to the visitor.
const KindBookingHold = "booking_hold"

// BookingMail is everything a booking email needs.
type BookingMail struct {
	Booking   *leads.Booking
	Lead      *leads.Lead // may be nil: the booking carries name, email and company
	Change    string
	ManageURL string
	ICSURL    string
	CEO       calendar.Person
	CEOZone   *time.Location
	Reminder  time.Duration // 0: no reminder
	Now       time.Time
	// StaffURL is the booking's page on the dashboard, which the CEO's
	// mail links to ("" for none).
	StaffURL string
	// ByHost marks a change made by staff (a cancellation or a move), with
	// HostMessage, their words to the visitor, and RebookURL, the
	// visitor's link to pick another time with their details kept.
	ByHost      bool
	HostMessage string
	RebookURL   string
}

// FormatSpan writes a call's time for people: "Tuesday, 10 March 2026,
// 15:00–15:30 (Europe/Berlin, UTC+01:00)".
func FormatSpan(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	_, off := s.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	zone := fmt.Sprintf("%s, UTC%c%02d:%02d", loc.String(), sign, off/3600, off%3600/60)
	if loc == time.UTC {
		zone = "UTC"
	}
	day := s.Format("Monday, 2 January 2006")
	if calendar.DateOf(s) != calendar.DateOf(e.Add(-time.Nanosecond)) {
		return fmt.Sprintf("%s, %s – %s (%s)", day, s.Format("15:04"), e.Format("Monday 15:04"), zone)
	}
	return fmt.Sprintf("%s, %s–%s (%s)", day, s.Format("15:04"), e.Format("15:04"), zone)
}

// Invitation returns the booking as an iCalendar event, the visitor's
// copy: METHOD:REQUEST while it is live, METHOD:CANCEL (STATUS:CANCELLED)
// once cancelled; the booking's UID and SEQUENCE; ORGANIZER the From
// mailbox, the CEO as chair and the visitor as attendee. It goes to an
// unverified address, so it carries nothing the visitor typed but their
// name as DisplayName gives it (as the attendee): the SUMMARY and
// DESCRIPTION are the firm's words, with the manage link.
func (c *Composer) Invitation(m BookingMail) calendar.Invitation {
	b := m.Booking
	inv := calendar.Invitation{
		Method:    calendar.MethodRequest,
		UID:       b.UID,
		Sequence:  b.Sequence,
		Stamp:     m.Now,
		Start:     b.Start,
		End:       b.End,
		Summary:   "Free consultation call with " + m.CEO.Name,
		Organizer: calendar.Person{Name: c.From.Name, Email: c.From.Address},
		Chair:     m.CEO,
		Attendee:  calendar.Person{Name: leads.DisplayName(b.Name), Email: b.Email},
		URL:       m.ManageURL,
		RSVP:      c.RepliesRead,
	}
	if inv.Stamp.IsZero() {
		inv.Stamp = c.now()
	}
	if where := c.Meeting.VisitorWhere(b, m.CEO.Name); where != "" {
		c.Meeting.place(&inv, b, where)
	}
	desc := c.visitorDescription(m.CEO.Name, inv.Location)
	if m.ManageURL != "" && b.Live() {
		desc += "\n\nTo move or cancel the call: " + m.ManageURL
	}
	inv.Description = desc
	if !b.Live() {
		// A cancelled call has nothing left to move or cancel: no manage
		// link, and (calendar.Encode) no RSVP.
		inv.Method, inv.Cancelled, inv.URL = calendar.MethodCancel, true, ""
	}
	return inv
}

// visitorDescription is the DESCRIPTION of the visitor's copy of a call
// with ceo, where it happens (where, "" for nowhere given) but no manage
// link: the firm's words only. The invitation adds the manage link; the
// "add to calendar" links, which go to Google and Microsoft, do not.
func (c *Composer) visitorDescription(ceo, where string) string {
	desc := "A free consultation call with " + ceo + " of " + c.SiteName + "."
	if where != "" {
		desc += "\n\nWhere: " + where
	}
	return desc
}

// CEOInvitation is the same event as Invitation, the CEO's copy (the
// invitation mailed to the CEO, the CEO's feed): no manage link, which is
// the visitor's key, and everything the visitor wrote.
func (c *Composer) CEOInvitation(m BookingMail) calendar.Invitation {
	return c.ceoInvitation(c.Invitation(m), m)
}

// ceoInvitation is CEOInvitation made from inv, m's visitor invitation
// (Invitation), which it is given by value and so leaves as it is.
func (c *Composer) ceoInvitation(inv calendar.Invitation, m BookingMail) calendar.Invitation {
	b := m.Booking
	inv.URL = ""
	inv.Summary = fmt.Sprintf("Free consultation call: %s and %s", leads.DisplayName(b.Name), m.CEO.Name)
	inv.Description = fmt.Sprintf("A free consultation call with %s (%s).", b.Name, b.Email)
	if b.Company != "" {
		inv.Description += "\nCompany: " + b.Company
	}
	inv.Location, inv.Conference = "", ""
	if where := c.Meeting.CEOWhere(b); where != "" {
		c.Meeting.place(&inv, b, where)
		inv.Description += "\nWhere: " + where
	} else if b.Phone != "" {
		inv.Description += "\nPhone: " + b.Phone
	}
	if b.Message != "" {
		inv.Description += "\n\nTopic: " + b.Message
	}
	if len(b.Answers) > 0 {
		inv.Description += "\n\n" + AnswersText(b.Answers)
	}
	return inv
}

// BookingMessages composes the mail a booking change sends, as outbox rows:
// to the visitor and to the CEO, each their own message with the invitation
// (or cancellation) as text/calendar and invite.ics; and, for a new or moved
// call, the visitor's reminder, due Reminder before the call (none when that
// moment has passed).
func (c *Composer) BookingMessages(m BookingMail) ([]leads.OutboxMessage, error) {
	b := m.Booking
	if m.CEOZone == nil {
		m.CEOZone = time.UTC
	}
	if m.Now.IsZero() {
		m.Now = c.now()
	}
	visitorZone, err := calendar.LoadZone(b.Timezone)
	if err != nil {
		visitorZone = m.CEOZone
	}
	inv := c.Invitation(m)
	ics, err := inv.Encode()
	if err != nil {
		return nil, fmt.Errorf("mailer: booking %s: %w", b.UID, err)
	}
	ceoICS, err := c.ceoInvitation(inv, m).Encode()
	if err != nil {
		return nil, fmt.Errorf("mailer: booking %s: %w", b.UID, err)
	}
	// What the visitor's mail shows of the booking: the firm's words and
	// a capped name, none of the visitor's free text, as their address is
	// unverified. The CEO's adds everything the visitor wrote.
	visitorData := func() *emailData {
		return &emailData{
			SiteName: c.SiteName, BaseURL: c.BaseURL, Name: leads.DisplayName(b.Name), Change: m.Change, CEOName: m.CEO.Name,
			VisitorTime: FormatSpan(b.Start, b.End, visitorZone), CEOTime: FormatSpan(b.Start, b.End, m.CEOZone),
			UTCTime: FormatSpan(b.Start, b.End, time.UTC), VisitorZone: visitorZone.String(), CEOZone: m.CEOZone.String(),
			ManageURL: m.ManageURL, ICSURL: m.ICSURL, BookURL: c.BaseURL + "/book",
			Where: c.Meeting.VisitorWhere(b, m.CEO.Name), WhereLink: c.Meeting.Link != "",
			ByHost: m.ByHost, HostMessage: m.HostMessage, RebookURL: m.RebookURL, RepliesRead: c.RepliesRead,
		}
	}
	links := c.calendarLinks(inv, m)
	ceoData := visitorData()
	ceoData.Name, ceoData.Email, ceoData.Company, ceoData.Message = b.Name, b.Email, b.Company, b.Message
	ceoData.ManageURL, ceoData.ICSURL, ceoData.RebookURL, ceoData.StaffURL = "", "", "", m.StaffURL
	ceoData.Where, ceoData.Answers = c.Meeting.CEOWhere(b), b.Answers
	if !c.Meeting.Phone {
		ceoData.Phone = b.Phone // by phone, Where has the number already
	}
	visitor := mail.Address{Name: leads.DisplayName(b.Name), Address: b.Email}
	ceo := mail.Address{Name: cleanHeader(m.CEO.Name), Address: m.CEO.Email}

	vd := visitorData()
	vd.GoogleURL, vd.OutlookURL, vd.OfficeURL = links.Google, links.Outlook, links.Office
	toVisitor, err := c.draft(tmplBookingVisitor, vd)
	if err != nil {
		return nil, err
	}
	toVisitor.To, toVisitor.Calendar, toVisitor.CalendarMethod = visitor, ics, inv.Method
	staff := c.Staff
	toVisitor.ReplyTo = &staff

	toCEO, err := c.draft(tmplBookingCEO, ceoData)
	if err != nil {
		return nil, err
	}
	toCEO.To, toCEO.Calendar, toCEO.CalendarMethod = ceo, ceoICS, inv.Method
	toCEO.ReplyTo = &mail.Address{Name: leads.DisplayName(b.Name), Address: b.Email}

	// The first invitation of a call has a Message-ID made from its UID,
	// so each update and the cancellation can name it in In-Reply-To and
	// References, and mail clients thread them with it.
	if m.Change == ChangeCreated {
		toVisitor.MessageID = invitationMessageID(b.UID, KindInvitation, c.From.Address)
		toCEO.MessageID = invitationMessageID(b.UID, KindInvitationCEO, c.From.Address)
	} else {
		toVisitor.InReplyTo = invitationMessageID(b.UID, KindInvitation, c.From.Address)
		toCEO.InReplyTo = invitationMessageID(b.UID, KindInvitationCEO, c.From.Address)
	}

	msgs := []*Message{toVisitor, toCEO}
	kinds := []string{KindInvitation, KindInvitationCEO}
	var due time.Time
	if m.Change != ChangeCancelled && m.Reminder > 0 && b.Live() {
		if due = b.Start.Add(-m.Reminder); due.After(m.Now) {
			r, err := c.draft(tmplReminder, visitorData())
			if err != nil {
				return nil, err
			}
			r.To, r.Date = visitor, due
			r.ReplyTo = &staff
			msgs, kinds = append(msgs, r), append(kinds, KindReminder)
		}
	}
	rows, err := outboxRows(b.LeadID, kinds, msgs...)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].BookingID = b.ID
		if kinds[i] == KindReminder {
			rows[i].NextAttemptAt = due
		}
	}
	if c.CalDAV {
		// The payload names the change only for people reading the
		// outbox: the delivery writes the booking as it is then.
		rows = append(rows, leads.OutboxMessage{
			Kind: KindCalDAV, Recipient: m.CEO.Email, MessageID: NewMessageID(c.From.Address),
			Payload:   fmt.Appendf(nil, `{"uid":%q,"sequence":%d,"change":%q}`, b.UID, b.Sequence, m.Change),
			LeadID:    b.LeadID,
			BookingID: b.ID,
		})
	}
	return rows, nil
}

// HoldMessages composes the mail a hold sends: one message to the visitor
// with the link that confirms the call, and nothing for the CEO, who is
// invited only once the visitor confirms (BookingMessages then). The
// address is not verified yet, so the message carries nothing the visitor
// typed: no name (not even in To), no company, no message; only the time,
// which was picked from our own list, and our own words.
func (c *Composer) HoldMessages(m BookingMail) ([]leads.OutboxMessage, error) {
	b := m.Booking
	if !b.Held() {
		return nil, fmt.Errorf("mailer: hold mail for booking %s: not a hold", b.UID)
	}
	if m.CEOZone == nil {
		m.CEOZone = time.UTC
	}
	visitorZone, err := calendar.LoadZone(b.Timezone)
	if err != nil {
		visitorZone = m.CEOZone
	}
	hold := b.HoldUntil.In(visitorZone)
	d := &emailData{
		SiteName: c.SiteName, BaseURL: c.BaseURL, CEOName: m.CEO.Name,
		VisitorTime: FormatSpan(b.Start, b.End, visitorZone), VisitorZone: visitorZone.String(),
		ManageURL: m.ManageURL, BookURL: c.BaseURL + "/book",
		HoldUntil: hold.Format("15:04") + " (" + visitorZone.String() + ")",
	}
	msg, err := c.draft(tmplBookingHold, d)
	if err != nil {
		return nil, err
	}
	msg.To = mail.Address{Address: b.Email}
	staff := c.Staff
	msg.ReplyTo = &staff
	rows, err := outboxRows(b.LeadID, []string{KindBookingHold}, msg)
	if err != nil {
		return nil, err
	}
	rows[0].BookingID = b.ID
	return rows, nil
}

// invitationMessageID is the Message-ID of the first invitation of the
// call with this UID to one recipient (kind KindInvitation or
// KindInvitationCEO): a hash of both, so it is the same whenever it is
// computed and tells nothing of the UID, at the domain of from.
func invitationMessageID(uid, kind, from string) string {
	h := sha256.Sum256([]byte("leadbook invitation\x00" + kind + "\x00" + uid))
	return "<" + hex.EncodeToString(h[:16]) + "@" + domainOf(from) + ">"
}
