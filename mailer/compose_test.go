package mailer

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"leadbook/leads"
)

func TestLeadMessagesEscapesHTML(t *testing.T) {
	c, _ := testComposer(t)
	l := testLead()
	l.Name = `<script>alert("name")</script>`
	l.Company = `<img src=x onerror=alert(1)>`
	l.Message = "Hi <b>there</b>\n<script>alert('msg')</script>"
	confirm, notify := leadMessages(t, c, l)
	for _, m := range []*Message{confirm, notify} {
		for _, bad := range []string{"<script>", "<img", "<b>"} {
			if strings.Contains(m.HTML, bad) {
				t.Errorf("%s: HTML contains %q", m.Subject, bad)
			}
		}
	}
	if !strings.Contains(confirm.HTML, "Hello &lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;,") {
		t.Errorf("confirmation: escaped name missing from HTML:\n%s", confirm.HTML)
	}
	if !strings.Contains(notify.HTML, "&lt;script&gt;alert(&#39;msg&#39;)&lt;/script&gt;") {
		t.Errorf("%s: escaped message missing from HTML", notify.Subject)
	}
	// Plain text is not HTML: it shows what was typed.
	if !strings.Contains(notify.Text, "<script>alert('msg')</script>") {
		t.Errorf("%s: text lacks the message as typed", notify.Subject)
	}
}

func TestLeadMessagesHeaders(t *testing.T) {
	c, _ := testComposer(t)
	l := testLead()
	l.Name = "Eve\r\nBcc: victim@example.net"
	l.Company = "Evil\nInc"
	confirm, notify := leadMessages(t, c, l)

	// The address-like word goes from the display name (leads.DisplayName).
	if notify.ReplyTo == nil || notify.ReplyTo.Address != "zoe@example.org" || notify.ReplyTo.Name != "Eve Bcc:" {
		t.Errorf("notification Reply-To = %v, want the visitor", notify.ReplyTo)
	}
	if notify.To.Address != "sales@example.com" {
		t.Errorf("notification To = %v, want staff", notify.To)
	}
	if confirm.To.Address != "zoe@example.org" || confirm.ReplyTo == nil || confirm.ReplyTo.Address != "sales@example.com" {
		t.Errorf("confirmation To %v, Reply-To %v", confirm.To, confirm.ReplyTo)
	}
	if want := "New lead: Eve Bcc: victim@example.net (Evil Inc)"; notify.Subject != want {
		t.Errorf("Subject = %q, want %q", notify.Subject, want)
	}
	for _, m := range []*Message{confirm, notify} {
		raw := writeMessage(t, m)
		hdr := raw[:bytes.Index(raw, []byte("\r\n\r\n"))]
		parsed, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if parsed.Header.Get("Bcc") != "" || bytes.Contains(hdr, []byte("\nBcc:")) {
			t.Errorf("%s: a Bcc header was injected:\n%s", m.Subject, hdr)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("subject has a line break: %q", m.Subject)
		}
	}
}

func TestLeadMessagesContent(t *testing.T) {
	c, clock := testComposer(t)
	l := testLead()
	confirm, notify := leadMessages(t, c, l)
	for _, want := range []string{"Zoë Müller", "zoe@example.org", "Acme GmbH", "+49 30 1234567",
		"We need a new booking system.", "contact", "2026-03-02 09:30:00 UTC", "https://www.example.com/staff/leads/42"} {
		if !strings.Contains(notify.Text, want) || !strings.Contains(notify.HTML, want) {
			t.Errorf("notification lacks %q", want)
		}
	}
	for _, want := range []string{"Hello Zoë Müller,", "Thank you for leaving your details", "https://www.example.com/book"} {
		if !strings.Contains(confirm.Text, want) || !strings.Contains(confirm.HTML, want) {
			t.Errorf("confirmation lacks %q", want)
		}
	}
	// The visitor's address is unverified: nothing else they typed.
	for _, bad := range []string{"We need a new booking system.", "Acme GmbH", "+49 30 1234567"} {
		if strings.Contains(confirm.Text, bad) || strings.Contains(confirm.HTML, bad) {
			t.Errorf("confirmation repeats %q", bad)
		}
	}
	if !confirm.Date.Equal(clock.Now()) {
		t.Errorf("Date = %v", confirm.Date)
	}

	// Before the lead is stored its id is unknown: link the dashboard.
	l.ID = 0
	_, notify = leadMessages(t, c, l)
	if !strings.Contains(notify.Text, "https://www.example.com/staff\n") || strings.Contains(notify.Text, "/staff/leads/") {
		t.Errorf("notification without id links:\n%s", notify.Text)
	}
}

func TestLeadMessagesRows(t *testing.T) {
	c, _ := testComposer(t)
	rows, err := c.LeadMessages(testLead())
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].MessageID == rows[1].MessageID || !strings.HasSuffix(rows[0].MessageID, "@example.com>") {
		t.Errorf("Message-IDs %q, %q", rows[0].MessageID, rows[1].MessageID)
	}
	if rows[0].Recipient != "zoe@example.org" || rows[1].Recipient != "sales@example.com" || rows[0].LeadID != 42 {
		t.Errorf("rows: %+v", rows)
	}

	bad := testLead()
	bad.Email = "not-an-address"
	if _, err := c.LeadMessages(bad); leads.ErrorCode(err) != leads.EINVALID {
		t.Errorf("LeadMessages with a bad email = %v, want EINVALID", err)
	}
}

func TestFallback(t *testing.T) {
	c, _ := testComposer(t)
	at := time.Date(2026, 3, 2, 10, 15, 0, 0, time.FixedZone("CET", 3600))
	s := Submission{
		Form: "contact",
		Fields: [][2]string{
			{"name", "Zoë <b>Müller</b>"},
			{"email", "zoe@example.org"},
			{"company", "Acme GmbH"},
			{"phone", ""},
			{"message", "Line one\nLine two with <script>x</script>"},
			{"consent", "on"},
		},
		Email:  "zoe@example.org",
		Reason: "database unavailable",
		At:     at,
	}
	msgs, err := c.Fallback(s)
	if err != nil {
		t.Fatalf("Fallback: %v", err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want staff and visitor", len(msgs))
	}
	staff, visitor := msgs[0], msgs[1]
	if staff.To.Address != "sales@example.com" || staff.ReplyTo == nil || staff.ReplyTo.Address != "zoe@example.org" {
		t.Errorf("staff mail To %v, Reply-To %v", staff.To, staff.ReplyTo)
	}
	for _, f := range s.Fields {
		if !strings.Contains(staff.Text, f[0]+":") {
			t.Errorf("staff text lacks field %q", f[0])
		}
		for _, line := range strings.Split(f[1], "\n") {
			if !strings.Contains(staff.Text, line) {
				t.Errorf("staff text lacks %q of field %q", line, f[0])
			}
		}
		if !strings.Contains(staff.HTML, f[0]) {
			t.Errorf("staff HTML lacks field %q", f[0])
		}
	}
	for _, want := range []string{"contact", "2026-03-02 09:15:00 UTC", "database unavailable", "Line two with"} {
		if !strings.Contains(staff.Text, want) || !strings.Contains(staff.HTML, want) {
			t.Errorf("staff mail lacks %q", want)
		}
	}
	if strings.Contains(staff.HTML, "<script>") || strings.Contains(staff.HTML, "<b>Müller") {
		t.Error("staff HTML does not escape the submission")
	}
	if visitor.To.Address != "zoe@example.org" || visitor.To.Name != "Zoë <b>Müller</b>" ||
		visitor.ReplyTo == nil || visitor.ReplyTo.Address != "sales@example.com" {
		t.Errorf("visitor mail To %v, Reply-To %v", visitor.To, visitor.ReplyTo)
	}
	for _, want := range []string{"did not reach us", "reply to this email"} {
		if !strings.Contains(visitor.Text, want) {
			t.Errorf("visitor text lacks %q:\n%s", want, visitor.Text)
		}
	}
	if strings.Contains(visitor.Text, "database") {
		t.Error("visitor mail shows the internal reason")
	}
	for _, m := range msgs {
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", m.Subject, err)
		}
		if m.MessageID == "" || m.Date.IsZero() {
			t.Errorf("%s: no Message-ID or Date", m.Subject)
		}
	}

	// An invalid visitor address: staff still get everything, the
	// visitor nothing.
	s.Email = "zoe@@example"
	s.Fields[1][1] = s.Email
	msgs, err = c.Fallback(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].To.Address != "sales@example.com" || msgs[0].ReplyTo != nil {
		t.Errorf("with a bad address: %d messages, To %v", len(msgs), msgs[0].To)
	}
	if !strings.Contains(msgs[0].Text, "zoe@@example") {
		t.Error("staff mail lacks the address as typed")
	}
}

func TestLongSubject(t *testing.T) {
	c, _ := testComposer(t)
	l := testLead()
	l.Name = strings.Repeat("Ö", leads.MaxName)
	l.Company = strings.Repeat("long company name ", 11)
	_, notify := leadMessages(t, c, l)
	if n := len([]rune(notify.Subject)); n != maxSubject+1 || !strings.HasSuffix(notify.Subject, "…") {
		t.Errorf("subject of %d characters: %q", n, notify.Subject)
	}
	raw := writeMessage(t, notify)
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d octets", len(line))
		}
	}
}

func TestNewComposer(t *testing.T) {
	from := mail.Address{Address: "bookings@example.com"}
	for _, tc := range []struct {
		name    string
		from    mail.Address
		staff   mail.Address
		baseURL string
		ok      bool
	}{
		{"ok", from, mail.Address{Address: "sales@example.com"}, "https://example.com", true},
		{"staff defaults to from", from, mail.Address{}, "http://localhost:8080", true},
		{"bad from", mail.Address{Address: "bookings"}, mail.Address{}, "https://example.com", false},
		{"bad staff", from, mail.Address{Address: "x"}, "https://example.com", false},
		{"bad base URL", from, mail.Address{}, "javascript:alert(1)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewComposer(tc.from, tc.staff, tc.baseURL, "")
			if (err == nil) != tc.ok {
				t.Fatalf("NewComposer = %v, want ok %v", err, tc.ok)
			}
			if err == nil && (c.Staff.Address == "" || c.SiteName == "" || strings.HasSuffix(c.BaseURL, "/")) {
				t.Errorf("composer %+v", c)
			}
		})
	}
}

// TestDraftsRenderWhenSent checks the outbox form of composed mail: a small
// draft that only a Composer can render, into the same message as
// rendering at once would give.
func TestDraftsRenderWhenSent(t *testing.T) {
	c, _ := testComposer(t)
	rows, err := c.LeadMessages(testLead())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r.Payload) > 2000 {
			t.Errorf("%s payload is %d bytes: drafts should hold data, not rendered mail", r.Kind, len(r.Payload))
		}
		if _, err := UnmarshalPayload(r.Payload); err == nil {
			t.Errorf("%s: a draft decoded without its templates", r.Kind)
		}
		m, err := c.Render(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if m.MessageID != r.MessageID || m.To.Address != r.Recipient || m.Subject == "" || !strings.Contains(m.Text, "Zoë Müller") ||
			!strings.Contains(m.HTML, "Zoë Müller") {
			t.Errorf("%s rendered as %+v", r.Kind, m)
		}
	}
	// A payload naming a template this binary lacks is refused for good.
	bad := strings.Replace(string(rows[0].Payload), `"template":"lead_confirmation"`, `"template":"gone"`, 1)
	if _, err := c.Render([]byte(bad)); !Permanent(err) {
		t.Fatalf("unknown template: %v, want a permanent error", err)
	}
}

func TestWrapText(t *testing.T) {
	long := "word " + strings.Repeat("x", 90)
	for _, tc := range []struct{ in, want string }{
		{"short line", "short line"},
		{"  Your time:  Thursday, 5 March 2026, 09:00–09:30 (America/Argentina/Buenos_Aires, UTC-03:00)",
			"  Your time:  Thursday, 5 March 2026, 09:00–09:30\n              (America/Argentina/Buenos_Aires, UTC-03:00)"},
		{"    " + strings.Repeat("ab ", 30), "    " + strings.TrimSpace(strings.Repeat("ab ", 25)) + "\n    " + strings.Repeat("ab ", 4) + "ab "},
		{long, "word\n" + strings.Repeat("x", 90)},
	} {
		if got := wrapText(tc.in, 78); got != tc.want {
			t.Errorf("wrapText(%q) =\n%q, want\n%q", tc.in, got, tc.want)
		}
		for _, l := range strings.Split(wrapText(tc.in, 78), "\n") {
			if n := utf8.RuneCountInString(l); n > 78 && strings.Contains(strings.TrimSpace(l), " ") {
				t.Errorf("line of %d characters: %q", n, l)
			}
		}
	}
}

func TestEncodeSubjectFirstWordOnFirstLine(t *testing.T) {
	for _, s := range []string{
		"Cancelled: your call with Dana Ceo on Friday, 6 March 2026, 09:00–09:30 (America/New_York, UTC-05:00)",
		"Zoë Müller booked a call on Friday, 6 March 2026, 09:00–09:30 (America/New_York, UTC-05:00) with a long tail",
		"Plain ASCII subject",
	} {
		m := &Message{From: mail.Address{Address: "a@example.com"}, To: mail.Address{Address: "b@example.com"},
			Subject: s, Text: "x", MessageID: "<1@example.com>", Date: time.Unix(0, 0)}
		raw, err := m.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(raw, []byte("\r\nSubject:"))
		if i < 0 {
			t.Fatalf("no Subject in %q", raw)
		}
		line, _, _ := bytes.Cut(raw[i+2:], []byte("\r\n"))
		if len(line) <= len("Subject: ") || line[len("Subject:")] != ' ' || line[len("Subject: ")] == ' ' {
			t.Errorf("Subject folded before its first word: %q", line)
		}
		dec, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(dec.Header.Get("Subject"))
		if err != nil || got != s {
			t.Errorf("Subject decodes to %q (%v), want %q", got, err, s)
		}
	}
}
