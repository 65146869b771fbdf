package mailer

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/mail"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"leadbook/leads"
	"leadbook/templates"
)

// Outbox kinds of the messages composed here.
const (
	KindLeadConfirmation = "lead_confirmation"
	KindLeadNotification = "lead_notification"
)

// Names of the email templates in templates.Email.
const (
	tmplLeadConfirmation = "lead_confirmation"
	tmplLeadNotification = "lead_notification"
	tmplFallbackStaff    = "fallback_staff"
	tmplFallbackVisitor  = "fallback_visitor"
)

var emailTemplates = []string{tmplLeadConfirmation, tmplLeadNotification, tmplFallbackStaff, tmplFallbackVisitor,
	tmplBookingVisitor, tmplBookingCEO, tmplReminder, tmplBookingHold}

// Composer writes leadbook's emails from the templates in templates.Email:
// a text/template for the plain text (which also defines the subject) and
// an html/template for the HTML, so every visitor-typed value is escaped.
type Composer struct {
	// From is the sending mailbox (LEADBOOK_MAIL_FROM), also the ORGANIZER
	// of invitations.
	From mail.Address
	// Staff receives lead notifications and fallbacks
	// (LEADBOOK_STAFF_EMAIL); visitors' replies go to it too.
	Staff mail.Address
	// BaseURL is the site's address for links, without a trailing slash.
	BaseURL  string
	SiteName string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CalDAV, when set, makes every booking change queue a KindCalDAV row
	// beside its mail: the write of the event into the CEO's calendar
	// (LEADBOOK_CALDAV_URL), in the same transaction.
	CalDAV bool
	// RepliesRead says that replies to invitations are read (the
	// organizer's mailbox, LEADBOOK_IMAP_URL): invitations then ask for
	// them (RSVP=TRUE). Without it they carry RSVP=FALSE and the mail
	// points to the manage link instead.
	RepliesRead bool
	// Meeting is where calls happen (LEADBOOK_MEETING_URL).
	Meeting Meeting

	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// NewComposer parses the email templates once and returns a Composer. An
// empty staff address means the From mailbox; an empty site name means
// the host of baseURL.
func NewComposer(from, staff mail.Address, baseURL, siteName string) (*Composer, error) {
	if !validAddress(from.Address) {
		return nil, errors.New("mailer: composer: invalid From address")
	}
	if staff.Address == "" {
		staff = from
	}
	if !validAddress(staff.Address) {
		return nil, errors.New("mailer: composer: invalid staff address")
	}
	baseURL = strings.TrimRight(baseURL, "/")
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("mailer: composer: base URL %q is not http(s)", baseURL)
	}
	if siteName == "" {
		siteName = strings.TrimPrefix(strings.TrimPrefix(baseURL, "https://"), "http://")
	}
	c := &Composer{
		From:     cleanAddress(from),
		Staff:    cleanAddress(staff),
		BaseURL:  baseURL,
		SiteName: siteName,
		Now:      time.Now,
	}
	if err := c.parse(templates.Email); err != nil {
		return nil, err
	}
	return c, nil
}

var textFuncs = texttemplate.FuncMap{
	// quote indents every line of a multi-line value, so a visitor's
	// message stands apart from the text around it.
	"quote": func(s string) string {
		if s == "" {
			return "    (none)"
		}
		lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = "    " + l
			}
		}
		return strings.Join(lines, "\n")
	},
	"multiline": func(s string) bool { return strings.Contains(s, "\n") },
}

// utcOffset is a UTC offset as FormatSpan writes it ("UTC-05:00"); in
// HTML it is kept on one line (utcNoBreak: a non-breaking hyphen, and
// nowrap), as a break after its minus reads as a different offset.
var utcOffset = regexp.MustCompile(`UTC([+-])([0-9]{2}:[0-9]{2})`)

func utcNoBreak(s string) string {
	return `<span style="white-space:nowrap;">` + strings.Replace(s, "-", "&#8209;", 1) + `</span>`
}

var htmlFuncs = htmltemplate.FuncMap{
	// lines escapes s and turns its line breaks into <br>, which every
	// mail client renders (white-space: pre-wrap is not one of them).
	"lines": func(s string) htmltemplate.HTML {
		lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		for i, l := range lines {
			lines[i] = utcOffset.ReplaceAllStringFunc(htmltemplate.HTMLEscapeString(l), utcNoBreak)
		}
		return htmltemplate.HTML(strings.Join(lines, "<br>\n"))
	},
	"field": func(name, value string) field { return field{Name: name, Value: value} },
}

func (c *Composer) parse(fsys fs.FS) error {
	c.text = map[string]*texttemplate.Template{}
	c.html = map[string]*htmltemplate.Template{}
	layout, err := htmltemplate.New("layout.html.tmpl").Funcs(htmlFuncs).ParseFS(fsys, "email/layout.html.tmpl")
	if err != nil {
		return fmt.Errorf("mailer: parse email layout: %w", err)
	}
	for _, name := range emailTemplates {
		t, err := texttemplate.New(name+".txt.tmpl").Funcs(textFuncs).Option("missingkey=error").
			ParseFS(fsys, "email/"+name+".txt.tmpl")
		if err != nil {
			return fmt.Errorf("mailer: parse email %s: %w", name, err)
		}
		if t.Lookup("subject") == nil {
			return fmt.Errorf("mailer: parse email %s: no \"subject\" template", name)
		}
		c.text[name] = t
		l, err := layout.Clone()
		if err != nil {
			return fmt.Errorf("mailer: parse email %s: %w", name, err)
		}
		h, err := l.ParseFS(fsys, "email/"+name+".html.tmpl")
		if err != nil {
			return fmt.Errorf("mailer: parse email %s: %w", name, err)
		}
		if h.Lookup("content") == nil {
			return fmt.Errorf("mailer: parse email %s: no \"content\" template", name)
		}
		c.html[name] = h
	}
	return nil
}

func (c *Composer) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// emailData is what every email template sees.
type emailData struct {
	SiteName string `json:"site,omitempty"`
	BaseURL  string `json:"base,omitempty"`
	Subject  string `json:"-"` // set after the subject is rendered, for the HTML title

	// A lead, for lead_confirmation and lead_notification.
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Company  string `json:"company,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Message  string `json:"message,omitempty"`
	Source   string `json:"source,omitempty"`
	Received string `json:"received,omitempty"`
	BookURL  string `json:"book_url,omitempty"`
	StaffURL string `json:"staff_url,omitempty"`

	// A submission, for fallback_staff and fallback_visitor.
	Form   string  `json:"form,omitempty"`
	Fields []field `json:"fields,omitempty"`
	Reason string  `json:"reason,omitempty"`

	// A booking, for booking_visitor, booking_ceo and reminder.
	Change      string `json:"change,omitempty"` // ChangeCreated, ChangeRescheduled or ChangeCancelled
	CEOName     string `json:"ceo,omitempty"`
	VisitorTime string `json:"visitor_time,omitempty"`
	CEOTime     string `json:"ceo_time,omitempty"`
	UTCTime     string `json:"utc_time,omitempty"`
	VisitorZone string `json:"visitor_zone,omitempty"`
	CEOZone     string `json:"ceo_zone,omitempty"`
	ManageURL   string `json:"manage_url,omitempty"`
	// RepliesRead: answers to the invitation are read (Composer.RepliesRead).
	RepliesRead bool   `json:"replies_read,omitempty"`
	ICSURL      string `json:"ics_url,omitempty"`
	HoldUntil   string `json:"hold_until,omitempty"` // booking_hold: until when the time is held, in the visitor's zone
	// A host-side change, for booking_visitor and booking_ceo: made by
	// staff, with their message to the visitor and the visitor's link to
	// book again with their details kept.
	ByHost      bool   `json:"by_host,omitempty"`
	HostMessage string `json:"host_message,omitempty"`
	RebookURL   string `json:"rebook_url,omitempty"`

	// Where the call happens (Meeting.VisitorWhere or CEOWhere), the
	// visitor's phone and answers (the CEO's mail only), and the "add to
	// calendar" links (the visitor's, while the call is on).
	Where      string         `json:"where,omitempty"`
	WhereLink  bool           `json:"where_link,omitempty"` // Where is a link
	Answers    []leads.Answer `json:"answers,omitempty"`
	GoogleURL  string         `json:"google_url,omitempty"`
	OutlookURL string         `json:"outlook_url,omitempty"`
	OfficeURL  string         `json:"office_url,omitempty"`
}

// maxSubject caps a subject, in characters: a visitor's name and company
// go into some, and a header line has a hard limit of 998 octets.
const maxSubject = 250

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return strings.TrimSpace(s[:j]) + "…"
		}
		i++
	}
	return s
}

// textWidth is the longest line of a plain-text body, in characters
// (RFC 5322 2.1.1 recommends 78).
const textWidth = 78

// wrapText breaks each line of s longer than width at its spaces; the
// lines it adds keep the line's indentation, so a quoted message stays
// quoted, and a "label:  value" line hangs its value under the value. A word longer than the width (a link) stays whole on its line.
func wrapText(s string, width int) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if utf8.RuneCountInString(l) <= width {
			out = append(out, l)
			continue
		}
		lead := l[:len(l)-len(strings.TrimLeft(l, " "))]
		indent := lead
		if i := strings.Index(l, ":  "); i > 0 && i < 24 {
			j := i + 1
			for j < len(l) && l[j] == ' ' {
				j++
			}
			indent = strings.Repeat(" ", utf8.RuneCountInString(l[:j]))
		}
		cur, n := lead, utf8.RuneCountInString(lead)
		empty := true
		for _, w := range strings.Split(strings.TrimLeft(l, " "), " ") {
			if w == "" {
				if !empty {
					cur += " "
					n++
				}
				continue
			}
			wn := utf8.RuneCountInString(w)
			if !empty && n+1+wn > width {
				out = append(out, strings.TrimRight(cur, " "))
				cur, n, empty = indent, utf8.RuneCountInString(indent), true
			}
			if !empty {
				cur += " "
				n++
			}
			cur += w
			n += wn
			empty = false
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// field is one named value of a submission, for the fallback templates.
type field struct{ Name, Value string }

// render executes the named text and HTML templates into a message
// without addresses.
func (c *Composer) render(name string, d *emailData) (*Message, error) {
	t, h := c.text[name], c.html[name]
	if t == nil || h == nil {
		return nil, fmt.Errorf("mailer: no email template %q", name)
	}
	var subj, text, html bytes.Buffer
	if err := t.ExecuteTemplate(&subj, "subject", d); err != nil {
		return nil, fmt.Errorf("mailer: render %s subject: %w", name, err)
	}
	d.Subject = truncateRunes(cleanHeader(subj.String()), maxSubject)
	if err := t.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("mailer: render %s text: %w", name, err)
	}
	if err := h.ExecuteTemplate(&html, "layout", d); err != nil {
		return nil, fmt.Errorf("mailer: render %s html: %w", name, err)
	}
	return &Message{
		From:      c.From,
		Subject:   d.Subject,
		Text:      wrapText(text.String(), textWidth),
		HTML:      html.String(),
		MessageID: NewMessageID(c.From.Address),
		Date:      c.now(),
	}, nil
}

// draft is a message to be rendered from template name with d when it is
// sent; render's checks of the template happen now.
func (c *Composer) draft(name string, d *emailData) (*Message, error) {
	if c.text[name] == nil || c.html[name] == nil {
		return nil, fmt.Errorf("mailer: no email template %q", name)
	}
	return &Message{From: c.From, MessageID: NewMessageID(c.From.Address), Date: c.now(), template: name, data: d}, nil
}

// Render turns an outbox payload into the message to send: a draft is
// rendered with this Composer's templates, a rendered message is decoded.
func (c *Composer) Render(b []byte) (*Message, error) {
	p, err := decodePayload(b)
	if err != nil {
		return nil, err
	}
	if p.Version != draftVersion {
		return p.message()
	}
	r, err := c.render(p.Template, p.Data)
	if err != nil {
		return nil, &PermanentError{Err: err}
	}
	p.Subject, p.Text, p.HTML = r.Subject, r.Text, r.HTML
	return p.message()
}

// LeadMessages composes, for a new lead, the visitor's confirmation and
// the staff notification, as outbox rows to store with the lead. It works
// on a normalized copy of l and needs a valid email address. The
// notification links to the lead in the staff pages when l.ID is known,
// and to the dashboard otherwise.
func (c *Composer) LeadMessages(l *leads.Lead) ([]leads.OutboxMessage, error) {
	v := *l
	v.Normalize()
	if !leads.ValidEmail(v.Email) {
		return nil, &leads.Error{Code: leads.EINVALID, Message: "Please correct the highlighted fields.",
			Fields: map[string]string{"email": "Please enter a valid email address, like name@example.com."}}
	}
	received := v.CreatedAt
	if received.IsZero() {
		received = c.now()
	}
	staffURL := c.BaseURL + "/staff"
	if v.ID != 0 {
		staffURL = fmt.Sprintf("%s/staff/leads/%d", c.BaseURL, v.ID)
	}
	// The address is unverified: whoever typed it may not own it, so the
	// confirmation carries only what the firm writes and a capped name,
	// none of the visitor's free text. The staff get it all.
	name := leads.DisplayName(v.Name)
	confirm, err := c.draft(tmplLeadConfirmation, &emailData{
		SiteName: c.SiteName, BaseURL: c.BaseURL, Name: name,
		Received: received.UTC().Format("2006-01-02 15:04:05 UTC"), BookURL: c.BaseURL + "/book",
	})
	if err != nil {
		return nil, err
	}
	confirm.To = mail.Address{Name: name, Address: v.Email}
	staff := c.Staff
	confirm.ReplyTo = &staff

	notify, err := c.draft(tmplLeadNotification, &emailData{
		SiteName: c.SiteName, BaseURL: c.BaseURL,
		Name: v.Name, Email: v.Email, Company: v.Company, Phone: v.Phone, Message: v.Message, Source: v.Source,
		Received: received.UTC().Format("2006-01-02 15:04:05 UTC"),
		BookURL:  c.BaseURL + "/book", StaffURL: staffURL,
	})
	if err != nil {
		return nil, err
	}
	notify.To = c.Staff
	notify.ReplyTo = &mail.Address{Name: leads.DisplayName(v.Name), Address: v.Email}

	return outboxRows(l.ID, []string{KindLeadConfirmation, KindLeadNotification}, confirm, notify)
}

func outboxRows(leadID int64, kinds []string, msgs ...*Message) ([]leads.OutboxMessage, error) {
	rows := make([]leads.OutboxMessage, len(msgs))
	for i, m := range msgs {
		p, err := m.MarshalPayload()
		if err != nil {
			return nil, err
		}
		rows[i] = leads.OutboxMessage{
			Kind: kinds[i], Recipient: m.To.Address, MessageID: m.MessageID, Payload: p, LeadID: leadID,
		}
	}
	return rows, nil
}

// Submission is a form submission that could not be stored, for Fallback.
type Submission struct {
	// Form names the form: "contact" or "booking".
	Form string
	// Fields are the submitted name/value pairs, in the form's order.
	Fields [][2]string
	// Email is the visitor's address as typed.
	Email string
	// Reason is a short, fixed description of what failed ("database
	// unavailable"); never raw error text, which may carry internals.
	Reason string
	At     time.Time
}

// Fallback composes the "something went wrong" emails for a submission
// that could not be stored: to staff, the whole submission, so that the
// lead is not lost; and, when s.Email is a valid address, to the visitor,
// an apology that says how to reach us. The messages are meant for Direct,
// since the outbox lives in the database that just failed.
func (c *Composer) Fallback(s Submission) ([]*Message, error) {
	at := s.At
	if at.IsZero() {
		at = c.now()
	}
	email := strings.TrimSpace(s.Email)
	var name string
	fields := make([]field, 0, len(s.Fields))
	for _, f := range s.Fields {
		fields = append(fields, field{Name: cleanHeader(f[0]), Value: f[1]})
		if strings.EqualFold(f[0], "name") && name == "" {
			name = f[1]
		}
	}
	reason := cleanHeader(s.Reason)
	if reason == "" {
		reason = "unknown"
	}
	d := &emailData{
		SiteName: c.SiteName, BaseURL: c.BaseURL, Name: truncateRunes(cleanHeader(name), leads.MaxName), Email: email,
		Form: cleanHeader(s.Form), Fields: fields, Reason: reason,
		Received: at.UTC().Format("2006-01-02 15:04:05 UTC"),
		BookURL:  c.BaseURL + "/book",
	}
	staffMsg, err := c.render(tmplFallbackStaff, d)
	if err != nil {
		return nil, err
	}
	staffMsg.To = c.Staff
	msgs := []*Message{staffMsg}
	if !leads.ValidEmail(email) {
		return msgs, nil
	}
	visitor := mail.Address{Name: leads.DisplayName(name), Address: email}
	staffMsg.ReplyTo = &visitor

	// The visitor's copy: the firm's apology, a capped name, nothing else
	// of the submission, as the address is unverified.
	vd := &emailData{SiteName: c.SiteName, BaseURL: c.BaseURL, Name: leads.DisplayName(name), Form: d.Form,
		Received: d.Received, BookURL: d.BookURL}
	visitorMsg, err := c.render(tmplFallbackVisitor, vd)
	if err != nil {
		return nil, err
	}
	visitorMsg.To = mail.Address{Name: vd.Name, Address: email}
	staff := c.Staff
	visitorMsg.ReplyTo = &staff
	return append(msgs, visitorMsg), nil
}
