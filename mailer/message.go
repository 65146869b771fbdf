// Package mailer composes leadbook's emails (text, HTML and, for
// invitations, text/calendar), sends them over SMTP or into a pickup folder,
// and drains the durable outbox that the leads package keeps.
//
// Nothing in this package logs personal data: log lines carry outbox ids,
// kinds, Message-IDs and SMTP codes, never addresses, names or subjects.
package mailer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"leadbook/leads"
)

// Calendar methods of an invitation (RFC 5546).
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
)

// InviteFileName is the name of the attached copy of an invitation.
const InviteFileName = "invite.ics"

// Message is one composed email. An outbox row holds it as a payload
// (JSON): either rendered whole (version 1), or, as the Composer queues
// them, as a draft (version 2): the template's name and data, the
// addresses, the calendar, the Message-ID and the date, all fixed when the
// row is written, with the text and HTML rendered by Composer.Render when
// the message is sent. Drafts keep rows small (half a kilobyte, not
// fifteen) and keep template work out of the request.
type Message struct {
	From, To mail.Address // one recipient per message
	ReplyTo  *mail.Address
	Subject  string
	Text     string
	HTML     string
	// Calendar is an optional iCalendar object, already folded, with CRLF
	// line ends. It goes out twice: as the text/calendar alternative that
	// mail clients treat as an invitation (RFC 6047), and as an attached
	// invite.ics for clients that only offer attachments.
	Calendar []byte
	// CalendarMethod is MethodRequest or MethodCancel when Calendar is set;
	// it must equal the object's METHOD property.
	CalendarMethod string
	// MessageID is "<random@host>", fixed when the outbox row is written
	// so that a retried delivery is recognisably the same message.
	MessageID string
	// InReplyTo is the Message-ID this message follows (an update of an
	// invitation names the first one): it goes out as In-Reply-To and
	// References.
	InReplyTo string
	Date      time.Time

	// template and data make the message a draft (see above).
	template string
	data     *emailData
}

// payloadVersion is the version of the JSON payload written by
// MarshalPayload. UnmarshalPayload refuses newer ones, so an old binary
// never sends half of a message it does not understand.
const payloadVersion = 1

// draftVersion is the version of a draft payload.
const draftVersion = 2

type payloadAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

type payload struct {
	Version        int             `json:"v"`
	From           payloadAddress  `json:"from"`
	To             payloadAddress  `json:"to"`
	ReplyTo        *payloadAddress `json:"reply_to,omitempty"`
	Subject        string          `json:"subject"`
	Text           string          `json:"text,omitempty"`
	HTML           string          `json:"html,omitempty"`
	Calendar       string          `json:"calendar,omitempty"`
	CalendarMethod string          `json:"calendar_method,omitempty"`
	MessageID      string          `json:"message_id"`
	InReplyTo      string          `json:"in_reply_to,omitempty"`
	Date           time.Time       `json:"date"`
	Template       string          `json:"template,omitempty"`
	Data           *emailData      `json:"data,omitempty"`
}

// MarshalPayload encodes m for an outbox row. It checks m first, so a
// message that could never be sent is refused when it is queued, not when
// it is due.
func (m *Message) MarshalPayload() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	p := payload{
		Template:       m.template,
		Data:           m.data,
		Version:        payloadVersion,
		From:           payloadAddress(m.From),
		To:             payloadAddress(m.To),
		Subject:        m.Subject,
		Text:           m.Text,
		HTML:           m.HTML,
		Calendar:       string(m.Calendar),
		CalendarMethod: m.CalendarMethod,
		MessageID:      m.MessageID,
		InReplyTo:      m.InReplyTo,
		Date:           m.Date,
	}
	if m.template != "" {
		p.Version, p.Subject, p.Text, p.HTML = draftVersion, "", "", ""
	}
	if m.ReplyTo != nil {
		r := payloadAddress(*m.ReplyTo)
		p.ReplyTo = &r
	}
	// Without HTML escaping the stored payload stays readable ("<id@host>"
	// rather than "\u003cid@host\u003e").
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("mailer: marshal payload: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalPayload decodes an outbox row's payload written by
// MarshalPayload and checks the message it holds. A draft needs its
// templates: Composer.Render reads both kinds.
func UnmarshalPayload(b []byte) (*Message, error) {
	p, err := decodePayload(b)
	if err != nil {
		return nil, err
	}
	if p.Version == draftVersion {
		return nil, errors.New("mailer: unmarshal payload: a draft needs Composer.Render")
	}
	return p.message()
}

func decodePayload(b []byte) (*payload, error) {
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("mailer: unmarshal payload: %w", err)
	}
	switch {
	case p.Version == payloadVersion:
	case p.Version == draftVersion && p.Template != "" && p.Data != nil:
	default:
		return nil, fmt.Errorf("mailer: unmarshal payload: unknown version %d", p.Version)
	}
	return &p, nil
}

// message turns a decoded payload into a checked message.
func (p *payload) message() (*Message, error) {
	m := &Message{
		From:           mail.Address(p.From),
		To:             mail.Address(p.To),
		Subject:        p.Subject,
		Text:           p.Text,
		HTML:           p.HTML,
		CalendarMethod: p.CalendarMethod,
		MessageID:      p.MessageID,
		InReplyTo:      p.InReplyTo,
		Date:           p.Date,
	}
	if p.ReplyTo != nil {
		r := mail.Address(*p.ReplyTo)
		m.ReplyTo = &r
	}
	if p.Calendar != "" {
		m.Calendar = []byte(p.Calendar)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate reports whether m can be sent: sender, recipient and reply
// addresses that survive a round trip through net/mail, a Message-ID, a
// date, a body, and a known calendar method when there is a calendar. Its
// errors never quote the addresses, so they are safe to log.
func (m *Message) Validate() error {
	switch {
	case !validAddress(m.From.Address):
		return &PermanentError{Err: errors.New("mailer: invalid sender address")}
	case !validAddress(m.To.Address):
		return &PermanentError{Err: errors.New("mailer: invalid recipient address")}
	case m.ReplyTo != nil && !validAddress(m.ReplyTo.Address):
		return &PermanentError{Err: errors.New("mailer: invalid reply-to address")}
	case !validMessageID(m.MessageID):
		return &PermanentError{Err: errors.New("mailer: invalid message id")}
	case m.InReplyTo != "" && !validMessageID(m.InReplyTo):
		return &PermanentError{Err: errors.New("mailer: invalid in-reply-to message id")}
	case m.Date.IsZero():
		return &PermanentError{Err: errors.New("mailer: message has no date")}
	case m.Text == "" && m.HTML == "" && m.template == "":
		return &PermanentError{Err: errors.New("mailer: message has no body")}
	case len(m.Calendar) > 0 && m.CalendarMethod != MethodRequest && m.CalendarMethod != MethodCancel:
		return &PermanentError{Err: fmt.Errorf("mailer: unknown calendar method %q", cleanHeader(m.CalendarMethod))}
	}
	return nil
}

// validAddress reports whether s is a bare addr-spec that net/mail parses
// back to itself, which rules out CR, LF and anything a mail server would
// read as a second command.
func validAddress(s string) bool {
	if s == "" || strings.ContainsAny(s, "\r\n<>") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s, "@")
}

func validMessageID(s string) bool {
	if len(s) < 5 || len(s) > 250 || s[0] != '<' || s[len(s)-1] != '>' {
		return false
	}
	inner := s[1 : len(s)-1]
	at := strings.IndexByte(inner, '@')
	if at < 1 || at == len(inner)-1 {
		return false
	}
	for _, r := range inner {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("<>()[]\\,;:\"", r) {
			return false
		}
	}
	return true
}

// WriteTo writes m as RFC 5322 bytes with CRLF line ends, built by go-mail.
// Without a calendar the body is multipart/alternative (text/plain,
// text/html); with one it is multipart/mixed(multipart/alternative(
// text/plain, text/html, text/calendar; method=...), invite.ics).
// Boundaries are random; everything else is fixed by m.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	g, err := m.msg()
	if err != nil {
		return 0, err
	}
	n, err := g.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("mailer: write message: %w", err)
	}
	return n, nil
}

// Bytes returns the RFC 5322 form of m.
func (m *Message) Bytes() ([]byte, error) {
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// msg builds the go-mail message. go-mail writes a part's Content-Type as
// "<content type>; charset=<charset>", so the text/calendar part gets its
// RFC 6047 method parameter by carrying it in the content type itself.
func (m *Message) msg() (*gomail.Msg, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	g := gomail.NewMsg(
		gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithNoDefaultUserAgent(),
	)
	from, to := cleanAddress(m.From), cleanAddress(m.To)
	g.SetAddrHeaderFromMailAddress(gomail.HeaderFrom, &from)
	g.SetAddrHeaderFromMailAddress(gomail.HeaderTo, &to)
	if m.ReplyTo != nil {
		r := cleanAddress(*m.ReplyTo)
		g.SetAddrHeaderFromMailAddress(gomail.HeaderReplyTo, &r)
	}
	g.SetGenHeaderPreformatted(gomail.HeaderSubject, encodeSubject(cleanHeader(m.Subject)))
	if m.InReplyTo != "" {
		g.SetGenHeader(gomail.HeaderInReplyTo, m.InReplyTo)
		g.SetGenHeader(gomail.HeaderReferences, m.InReplyTo)
	}
	g.SetDateWithValue(m.Date)
	g.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"))
	// Every message leadbook sends is automatic (RFC 3834): this keeps
	// vacation responders from answering it.
	g.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")

	first := true
	add := func(ct gomail.ContentType, body string, opts ...gomail.PartOption) {
		if first {
			g.SetBodyString(ct, body, opts...)
			first = false
			return
		}
		g.AddAlternativeString(ct, body, opts...)
	}
	if m.Text != "" {
		add(gomail.TypeTextPlain, crlf(m.Text))
	}
	if m.HTML != "" {
		add(gomail.TypeTextHTML, crlf(m.HTML))
	}
	if len(m.Calendar) > 0 {
		// Base64 keeps the folded CRLF lines byte for byte whatever the
		// relay does, and needs no 8BITMIME for non-ASCII names.
		add(gomail.ContentType("text/calendar; method="+m.CalendarMethod), string(m.Calendar),
			gomail.WithPartEncoding(gomail.EncodingB64))
		// application/ics rather than text/calendar: clients that honour
		// the alternative part do not offer the attachment as a second
		// invitation.
		if err := g.AttachReader(InviteFileName, bytes.NewReader(m.Calendar),
			gomail.WithFileContentType("application/ics"),
			gomail.WithFileEncoding(gomail.EncodingB64)); err != nil {
			return nil, fmt.Errorf("mailer: attach invitation: %w", err)
		}
	}
	return g, nil
}

// crlf turns every line end into CRLF, as RFC 5322 requires; the
// quoted-printable encoder keeps CRLF pairs as hard line breaks.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// cleanHeader makes s safe for a header: one line with no control
// characters (leads.SingleLine). go-mail then encodes non-ASCII text per
// RFC 2047.
func cleanHeader(s string) string { return leads.SingleLine(s) }

func cleanAddress(a mail.Address) mail.Address {
	return mail.Address{Name: cleanHeader(a.Name), Address: a.Address}
}

// NewMessageID returns a new "<128-bit random hex@domain>" Message-ID,
// with the domain of from ("localhost" when it has none).
func NewMessageID(from string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("mailer: read random: %v", err))
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domainOf(from) + ">"
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || at == len(addr)-1 {
		return "localhost"
	}
	d := strings.ToLower(addr[at+1:])
	for _, r := range d {
		if !(r == '.' || r == '-' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			return "localhost"
		}
	}
	return d
}

// encodeSubject writes a Subject value: the ASCII words before the first
// that is not ASCII as they are, the rest as RFC 2047 encoded words, folded
// between words at 78 characters but never before the first word (go-mail
// folds a long first encoded word onto a line of its own, which some
// clients show as a subject starting with a blank).
func encodeSubject(s string) string {
	words := strings.Split(s, " ")
	plain := len(words)
	for i, w := range words {
		if strings.ContainsFunc(w, func(r rune) bool { return r >= 0x80 }) {
			plain = i
			break
		}
	}
	tokens := words[:plain]
	if plain < len(words) {
		rest := mime.QEncoding.Encode("UTF-8", strings.Join(words[plain:], " "))
		tokens = append(tokens[:plain:plain], strings.Split(rest, " ")...)
	}
	var b strings.Builder
	n := len("Subject: ")
	for i, t := range tokens {
		if i > 0 {
			if n+1+len(t) > 78 {
				b.WriteString("\r\n")
				n = 0
			}
			b.WriteString(" ")
			n++
		}
		b.WriteString(t)
		n += len(t)
	}
	return b.String()
}
