package mailer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"leadbook/calendar"
	"leadbook/leads"
)

// FlagDone is the IMAP keyword set on every mailbox message that Replies
// acted on. The database keeps the Message-IDs too, so a message whose
// flag is lost is still never acted on twice.
const FlagDone = "$LeadbookDone"

// KindReplyStaff is the outbox kind of the note to staff that the CEO
// declined a call.
const KindReplyStaff = "reply_staff"

// maxReplyBytes bounds the messages Replies reads.
const maxReplyBytes = 2 << 20

// ReplyStore is the part of leads.Store that Replies uses.
type ReplyStore interface {
	FindBookingByUID(ctx context.Context, uid string) (*leads.Booking, error)
	CancelBooking(ctx context.Context, hash string, compose leads.BookingCompose) (*leads.Booking, error)
	MessageProcessed(ctx context.Context, messageID string) (bool, error)
	RecordReply(ctx context.Context, messageID, outcome string, reply *leads.BookingReply, msgs ...leads.OutboxMessage) (bool, error)
}

var _ ReplyStore = (*leads.Store)(nil)

// Replies reads the organizer's mailbox (INBOX) over IMAP for iTIP
// replies to invitations (text/calendar parts with METHOD:REPLY or
// COUNTER) and acts on them:
//
//   - the visitor declines: the call is cancelled as by the manage page,
//     with the usual cancellation mail;
//   - the CEO declines: staff get a note (KindReplyStaff) and the reply is
//     recorded, for the booking's staff page;
//   - any other reply (ACCEPTED, TENTATIVE, a COUNTER) is recorded.
//
// A reply counts only when it names a booking's UID and its From is the
// ATTENDEE it answers for, which must be the booking's visitor or the
// CEO; a reply to an older SEQUENCE than the booking's is recorded but not
// acted on. Every other message (unmatched, from someone else, malformed)
// is left as it is: no flag, not even \Seen. Messages acted on get
// FlagDone, and their Message-ID is recorded in the same transaction as
// what they did.
type Replies struct {
	URL                string      // imaps://host[:port] or imap://host[:port] (STARTTLS)
	Username, Password string      // LOGIN
	TLSConfig          *tls.Config // nil: the system's roots, for the URL's host
	Timeout            time.Duration
	Store              ReplyStore
	Composer           *Composer
	CEO                calendar.Person
	CEOZone            *time.Location
	Logger             *slog.Logger
	Now                func() time.Time
}

// PollResult counts what one Poll did.
type PollResult struct {
	Acted, Skipped int
}

func (r *Replies) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

func (r *Replies) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Replies) dial(ctx context.Context) (*imapclient.Client, error) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Hostname() == "" {
		return nil, errors.New("mailer: imap: bad URL")
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tc := r.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	opts := &imapclient.Options{TLSConfig: tc, Dialer: &net.Dialer{Timeout: timeout}}
	port := u.Port()
	var c *imapclient.Client
	switch u.Scheme {
	case "imaps":
		if port == "" {
			port = "993"
		}
		c, err = imapclient.DialTLS(net.JoinHostPort(u.Hostname(), port), opts)
	case "imap":
		if port == "" {
			port = "143"
		}
		c, err = imapclient.DialStartTLS(net.JoinHostPort(u.Hostname(), port), opts)
	default:
		return nil, errors.New("mailer: imap: want imaps:// or imap://")
	}
	if err != nil {
		return nil, fmt.Errorf("mailer: imap: connect: %w", err)
	}
	// The context bounds the whole session: closing the connection ends
	// every command waiting on it.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	go func() {
		<-c.Closed()
		stop()
	}()
	if err := c.Login(r.Username, r.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mailer: imap: login: %w", err)
	}
	return c, nil
}

// Poll reads the messages of INBOX not flagged FlagDone once, and acts on
// the replies among them.
func (r *Replies) Poll(ctx context.Context) (PollResult, error) {
	var res PollResult
	c, err := r.dial(ctx)
	if err != nil {
		return res, err
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		return res, fmt.Errorf("mailer: imap: select INBOX: %w", err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{FlagDone}, Smaller: maxReplyBytes}, nil).Wait()
	if err != nil {
		return res, fmt.Errorf("mailer: imap: search: %w", err)
	}
	uids := found.AllUIDs()
	section := &imap.FetchItemBodySection{Peek: true}
	for len(uids) > 0 {
		batch := uids[:min(len(uids), 50)]
		uids = uids[len(batch):]
		msgs, err := c.Fetch(imap.UIDSetNum(batch...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return res, fmt.Errorf("mailer: imap: fetch: %w", err)
		}
		for _, m := range msgs {
			done, err := r.handle(ctx, m.FindBodySection(section))
			if err != nil {
				return res, err
			}
			if !done {
				res.Skipped++
				continue
			}
			if err := c.Store(imap.UIDSetNum(m.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{FlagDone}}, nil).Close(); err != nil {
				return res, fmt.Errorf("mailer: imap: flag a message: %w", err)
			}
			res.Acted++
		}
	}
	if err := c.Logout().Wait(); err != nil {
		r.logger().Debug("mailer: imap: logout", "err", err)
	}
	return res, nil
}

// reply is what a message says, once understood.
type reply struct {
	messageID, from string
	method          string
	uid             string
	sequence        int
	attendees       map[string]string // address (lower case) -> PARTSTAT
}

// handle acts on one message and reports whether it was acted on (or had
// been before), and so is to be flagged. An error is the store's: the
// poll stops and the message is read again next time.
func (r *Replies) handle(ctx context.Context, raw []byte) (bool, error) {
	log := r.logger()
	rp, why := parseReply(raw)
	if why != "" {
		log.Debug("mailer: imap: message skipped", "why", why)
		return false, nil
	}
	log = log.With("message_id", rp.messageID)
	done, err := r.Store.MessageProcessed(ctx, rp.messageID)
	if err != nil || done {
		return done, err
	}
	b, err := r.Store.FindBookingByUID(ctx, rp.uid)
	if leads.ErrorCode(err) == leads.ENOTFOUND {
		log.Info("mailer: imap: reply to no booking of ours, left alone")
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var role string
	switch rp.from {
	case leads.EmailKey(b.Email):
		role = leads.ReplyVisitor
	case leads.EmailKey(r.CEO.Email):
		role = leads.ReplyCEO
	default:
		log.Info("mailer: imap: reply from neither the visitor nor the CEO, left alone", "booking", b.ID)
		return false, nil
	}
	partstat, ok := rp.attendees[rp.from]
	if !ok {
		log.Info("mailer: imap: reply whose sender is not its attendee, left alone", "booking", b.ID)
		return false, nil
	}
	rec := &leads.BookingReply{BookingID: b.ID, Method: rp.method, Attendee: rp.from, Role: role, PartStat: partstat, Sequence: rp.sequence}
	current := rp.sequence >= b.Sequence
	outcome := strings.ToLower(role + " " + rp.method + " " + partstat)
	var notes []leads.OutboxMessage
	switch {
	case !current:
		outcome += " (to an older version: recorded only)"
	case rp.method == "REPLY" && partstat == "DECLINED" && role == leads.ReplyVisitor && b.Live():
		if _, err := r.Store.CancelBooking(ctx, b.TokenHash, r.composeCancel()); err != nil {
			return false, err
		}
		outcome += ": call cancelled"
	case rp.method == "REPLY" && partstat == "DECLINED" && role == leads.ReplyCEO && b.Live():
		note, err := r.staffNote(b)
		if err != nil {
			return false, err
		}
		notes = append(notes, note)
		outcome += ": staff told"
	}
	if _, err := r.Store.RecordReply(ctx, rp.messageID, outcome, rec, notes...); err != nil {
		return false, err
	}
	log.Info("mailer: imap: reply acted on", "booking", b.ID, "outcome", outcome)
	return true, nil
}

func (r *Replies) composeCancel() leads.BookingCompose {
	return func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return r.Composer.BookingMessages(BookingMail{Booking: b, Lead: l, Change: ChangeCancelled,
			CEO: r.CEO, CEOZone: r.CEOZone, Now: r.now()})
	}
}

// staffNote tells staff that the CEO declined booking b, which still
// stands until someone moves or cancels it.
func (r *Replies) staffNote(b *leads.Booking) (leads.OutboxMessage, error) {
	c := r.Composer
	zone := r.CEOZone
	if zone == nil {
		zone = time.UTC
	}
	when := FormatSpan(b.Start, b.End, zone)
	link := fmt.Sprintf("%s/staff/leads/%d", c.BaseURL, b.LeadID)
	text := fmt.Sprintf("%s declined the call with %s on %s.\n\nThe call still stands: the visitor has not been told. "+
		"Please move or cancel it, or ask %s to accept it after all:\n%s\n", r.CEO.Name, leads.DisplayName(b.Name), when, r.CEO.Name, link)
	m := &Message{
		From: c.From, To: c.Staff, Subject: cleanHeader(fmt.Sprintf("%s declined the call on %s", r.CEO.Name, when)),
		Text:      text,
		HTML:      "<p>" + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(text)), "\n\n", "</p><p>") + "</p>",
		MessageID: NewMessageID(c.From.Address), Date: r.now(),
	}
	p, err := m.MarshalPayload()
	if err != nil {
		return leads.OutboxMessage{}, err
	}
	return leads.OutboxMessage{Kind: KindReplyStaff, Recipient: c.Staff.Address, MessageID: m.MessageID, Payload: p,
		LeadID: b.LeadID, BookingID: b.ID}, nil
}

// parseReply reads an iTIP reply out of a message, or says why it is not
// one.
func parseReply(raw []byte) (*reply, string) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, "not a message"
	}
	rp := &reply{messageID: strings.TrimSpace(msg.Header.Get("Message-Id"))}
	if rp.messageID == "" {
		return nil, "no Message-ID"
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil {
		return nil, "no From address"
	}
	rp.from = leads.EmailKey(from.Address)
	var parts [][]byte
	collectCalendars(mimeHeader(msg.Header), msg.Body, 0, &parts)
	for _, p := range parts {
		cal, err := calendar.Decode(p)
		if err != nil {
			continue
		}
		method, _ := cal.Props.Text(ical.PropMethod)
		method = strings.ToUpper(method)
		if method != "REPLY" && method != "COUNTER" {
			continue
		}
		for _, ev := range cal.Events() {
			uid, _ := ev.Props.Text(ical.PropUID)
			if uid == "" {
				continue
			}
			rp.method, rp.uid = method, uid
			if p := ev.Props.Get(ical.PropSequence); p != nil {
				rp.sequence, _ = p.Int()
			}
			rp.attendees = map[string]string{}
			for _, a := range ev.Props.Values(ical.PropAttendee) {
				addr := a.Value
				if len(addr) > 7 && strings.EqualFold(addr[:7], "mailto:") {
					addr = addr[7:]
				}
				ps := strings.ToUpper(a.Params.Get(ical.ParamParticipationStatus))
				if ps == "" {
					ps = "NEEDS-ACTION"
				}
				rp.attendees[leads.EmailKey(addr)] = ps
			}
			return rp, ""
		}
	}
	return nil, "no iTIP REPLY or COUNTER"
}

type mimeHeader map[string][]string

func (h mimeHeader) get(k string) string {
	if v := mail.Header(h).Get(k); v != "" {
		return v
	}
	return ""
}

// collectCalendars appends the decoded text/calendar parts of a MIME
// entity, looking inside multiparts (at most a few levels deep).
func collectCalendars(h mimeHeader, body io.Reader, depth int, out *[][]byte) {
	if depth > 5 || len(*out) > 8 {
		return
	}
	mt, params, err := mime.ParseMediaType(h.get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			collectCalendars(mimeHeader(p.Header), p, depth+1, out)
		}
	case mt == "text/calendar" || mt == "application/ics":
		var r io.Reader = io.LimitReader(body, maxReplyBytes)
		switch strings.ToLower(strings.TrimSpace(h.get("Content-Transfer-Encoding"))) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		}
		if b, err := io.ReadAll(r); err == nil {
			*out = append(*out, b)
		}
	}
}

// newlineStripper drops CR and LF, which base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}
