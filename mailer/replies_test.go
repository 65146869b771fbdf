package mailer

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"leadbook/calendar"
	"leadbook/calendar/davtest"
	"leadbook/leads"
)

// replyMail is an iTIP REPLY as a calendar app sends it: multipart with
// a text part and a base64 text/calendar part.
func replyMail(msgID, from, attendee, uid, partstat string, seq int) string {
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Mail//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nSEQUENCE:" + fmt.Sprint(seq) + "\r\nDTSTAMP:20260302T100000Z\r\nDTSTART:20260310T140000Z\r\nDTEND:20260310T143000Z\r\n" +
		"ORGANIZER:mailto:hello@northwind.test\r\nATTENDEE;PARTSTAT=" + partstat + ";CN=Someone:mailto:" + attendee +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	enc := base64Lines(ics)
	return "From: Someone <" + from + ">\r\nTo: hello@northwind.test\r\nSubject: Declined: call\r\nMessage-ID: " + msgID +
		"\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain\r\n\r\nI cannot make it.\r\n--b1\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + enc + "--b1--\r\n"
}

func base64Lines(s string) string {
	var b strings.Builder
	enc := []byte(s)
	out := make([]byte, (len(enc)+2)/3*4)
	base64.StdEncoding.Encode(out, enc)
	for len(out) > 76 {
		b.Write(out[:76])
		b.WriteString("\r\n")
		out = out[76:]
	}
	b.Write(out)
	b.WriteString("\r\n")
	return b.String()
}

// mailbox appends messages to the server's INBOX and reads their flags.
type mailbox struct {
	t   *testing.T
	srv *davtest.IMAP
}

func (m mailbox) client() *imapclient.Client {
	m.t.Helper()
	c, err := imapclient.DialStartTLS(m.srv.Addr, &imapclient.Options{TLSConfig: m.srv.TLS})
	if err != nil {
		m.t.Fatal(err)
	}
	if err := c.Login(m.srv.Username, m.srv.Password).Wait(); err != nil {
		m.t.Fatal(err)
	}
	return c
}

func (m mailbox) append(msgs ...string) {
	m.t.Helper()
	c := m.client()
	defer c.Close()
	for _, msg := range msgs {
		cmd := c.Append("INBOX", int64(len(msg)), nil)
		if _, err := cmd.Write([]byte(msg)); err != nil {
			m.t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			m.t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			m.t.Fatal(err)
		}
	}
}

// flags returns each message's flags by Message-ID.
func (m mailbox) flags() map[string][]imap.Flag {
	m.t.Helper()
	c := m.client()
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		m.t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		// An empty mailbox has no 1:*.
		return nil
	}
	out := map[string][]imap.Flag{}
	for _, msg := range msgs {
		out["<"+msg.Envelope.MessageID+">"] = msg.Flags
	}
	return out
}

func (m mailbox) clearFlags() {
	m.t.Helper()
	c := m.client()
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		m.t.Fatal(err)
	}
	if err := c.Store(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{FlagDone}}, nil).Close(); err != nil {
		m.t.Fatal(err)
	}
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

// TestRepliesDovecot reads replies from a real Dovecot: the visitor's
// decline cancels the call once (also when its flag is lost and it is
// read again); a decline from an unknown sender, a malformed message and
// a reply to no booking change nothing and stay unflagged; the CEO's
// decline tells staff; an acceptance is recorded.
func TestRepliesDovecot(t *testing.T) {
	srv := davtest.Dovecot(t)
	ctx := context.Background()
	clock := newClock()
	st := openStore(t, clock)
	comp, err := NewComposer(mail.Address{Name: "Northwind", Address: "hello@northwind.test"},
		mail.Address{Address: "staff@northwind.test"}, "https://northwind.test", "Northwind")
	if err != nil {
		t.Fatal(err)
	}
	comp.Now = clock.Now
	ceo := calendar.Person{Name: "Dana Ceo", Email: "ceo@northwind.test"}
	compose := func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return comp.BookingMessages(BookingMail{Booking: b, Lead: l, Change: ChangeCreated, CEO: ceo, Now: clock.Now()})
	}
	book := func(start time.Time, email, uid string) *leads.Booking {
		b, _, err := st.CreateBooking(ctx, &leads.NewBooking{
			Lead:  leads.Lead{Name: "Ada Lovelace", Email: email, ConsentVersion: "v1"},
			Start: start, End: start.Add(30 * time.Minute), Timezone: "Europe/London",
			UID: uid, TokenHash: "hash-" + uid, WindowFrom: start.Add(-time.Hour), WindowTo: start.Add(time.Hour),
		}, nil, compose)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1 := book(time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC), "ada@example.com", "uid-one@northwind.test")
	b2 := book(time.Date(2026, 3, 11, 14, 0, 0, 0, time.UTC), "grace@example.com", "uid-two@northwind.test")
	logger, _ := testLogger(t)
	r := &Replies{URL: srv.URL, Username: srv.Username, Password: srv.Password, TLSConfig: srv.TLS,
		Store: st, Composer: comp, CEO: ceo, Logger: logger, Now: clock.Now}

	mb := mailbox{t, srv}
	mb.append(
		replyMail("<decline@ada>", "ada@example.com", "ada@example.com", b1.UID, "DECLINED", 0),
		replyMail("<stranger@x>", "mallory@evil.test", "mallory@evil.test", b2.UID, "DECLINED", 0),
		replyMail("<spoof@x>", "mallory@evil.test", "grace@example.com", b2.UID, "DECLINED", 0),
		replyMail("<nobooking@x>", "ada@example.com", "ada@example.com", "uid-none@northwind.test", "DECLINED", 0),
		"From: ada@example.com\r\nMessage-ID: <broken@ada>\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:"+b1.UID+"\r\n",
		replyMail("<accept@grace>", "grace@example.com", "grace@example.com", b2.UID, "ACCEPTED", 0),
		replyMail("<ceo@northwind>", "ceo@northwind.test", "ceo@northwind.test", b2.UID, "DECLINED", 0),
	)

	cancellations := func() int {
		rows, err := st.ListMail(ctx, leads.MailFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, row := range rows {
			if row.Kind == KindInvitation && row.BookingID == b1.ID && strings.Contains(string(row.Payload), "METHOD:CANCEL") {
				n++
			}
		}
		return n
	}

	res, err := r.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acted != 3 || res.Skipped != 4 {
		t.Fatalf("poll: %+v, want 3 acted on, 4 left", res)
	}
	if got, _ := st.FindBooking(ctx, b1.ID); got.Status != leads.BookingCancelled {
		t.Fatalf("the visitor's decline left the booking %s", got.Status)
	}
	if got, _ := st.FindBooking(ctx, b2.ID); got.Status != leads.BookingConfirmed {
		t.Fatalf("booking two is %s: a stranger's, a spoofed or the CEO's decline cancelled it", got.Status)
	}
	if n := cancellations(); n != 1 {
		t.Fatalf("cancellation mails: %d, want 1", n)
	}
	flags := mb.flags()
	for id, want := range map[string]bool{"<decline@ada>": true, "<accept@grace>": true, "<ceo@northwind>": true,
		"<stranger@x>": false, "<spoof@x>": false, "<nobooking@x>": false, "<broken@ada>": false} {
		if got := hasFlag(flags[id], FlagDone); got != want {
			t.Errorf("%s flagged %v, want %v (%v)", id, got, want, flags[id])
		}
		if hasFlag(flags[id], imap.FlagSeen) {
			t.Errorf("%s was marked seen", id)
		}
	}
	replies, err := st.BookingReplies(ctx, b2.ID)
	if err != nil || len(replies) != 2 || replies[0].PartStat != "ACCEPTED" || replies[1].Role != leads.ReplyCEO {
		t.Fatalf("booking two's replies %+v %v", replies, err)
	}
	rows, _ := st.ListMail(ctx, leads.MailFilter{Limit: 1000})
	notes := 0
	for _, row := range rows {
		if row.Kind == KindReplyStaff && row.BookingID == b2.ID && row.Recipient == "staff@northwind.test" {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("staff notes: %d, want 1", notes)
	}

	// The flags lost: everything is read again, nothing acted on twice.
	mb.clearFlags()
	res, err = r.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Acted != 3 || res.Skipped != 4 {
		t.Fatalf("second poll: %+v", res)
	}
	if n := cancellations(); n != 1 {
		t.Fatalf("cancellation mails after a second read: %d, want 1", n)
	}
	if replies, _ := st.BookingReplies(ctx, b2.ID); len(replies) != 2 {
		t.Fatalf("replies recorded twice: %+v", replies)
	}
	if !hasFlag(mb.flags()["<decline@ada>"], FlagDone) {
		t.Fatal("not flagged again")
	}
}
