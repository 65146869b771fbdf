package mailer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

const testCalendar = "BEGIN:VCALENDAR\r\n" +
	"VERSION:2.0\r\n" +
	"PRODID:-//leadbook//test//EN\r\n" +
	"METHOD:REQUEST\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:booking-42@example.com\r\n" +
	"SEQUENCE:0\r\n" +
	"DTSTAMP:20260302T093000Z\r\n" +
	"DTSTART:20260305T140000Z\r\n" +
	"DTEND:20260305T143000Z\r\n" +
	"SUMMARY:Free consultation call with Zoë\r\n" +
	"ORGANIZER;CN=Bookings:mailto:bookings@example.com\r\n" +
	"ATTENDEE;CN=Ceo;ROLE=CHAIR;PARTSTAT=ACCEPTED:mailto:ceo@example.com\r\n" +
	"ATTENDEE;CN=Zoë Visitor;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:zoe@example.\r\n" +
	" org\r\n" +
	"STATUS:CONFIRMED\r\n" +
	"END:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func testComposer(t testing.TB) (*Composer, *testClock) {
	t.Helper()
	clock := newClock()
	c, err := NewComposer(
		mail.Address{Name: "Bookings", Address: "bookings@example.com"},
		mail.Address{Name: "Sales Team", Address: "sales@example.com"},
		"https://www.example.com/", "Example Consulting")
	if err != nil {
		t.Fatalf("NewComposer: %v", err)
	}
	c.Now = clock.Now
	return c, clock
}

func testLead() *leads.Lead {
	return &leads.Lead{
		ID:      42,
		Name:    "Zoë Müller",
		Email:   "zoe@example.org",
		Company: "Acme GmbH",
		Phone:   "+49 30 1234567",
		Message: "We need a new booking system.\nCan you help?\n\nThanks!",
		Source:  leads.SourceContact,
	}
}

// leadMessages composes a lead's messages and decodes their payloads,
// with fixed Message-IDs for golden files.
func leadMessages(t *testing.T, c *Composer, l *leads.Lead) (confirm, notify *Message) {
	t.Helper()
	rows, err := c.LeadMessages(l)
	if err != nil {
		t.Fatalf("LeadMessages: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("LeadMessages returned %d rows, want 2", len(rows))
	}
	var msgs []*Message
	for i, r := range rows {
		m, err := c.Render(r.Payload)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if r.MessageID != m.MessageID || r.Recipient != m.To.Address {
			t.Errorf("row %d: row has %q/%q, payload %q/%q", i, r.MessageID, r.Recipient, m.MessageID, m.To.Address)
		}
		m.MessageID = fmt.Sprintf("<fixed%d@example.com>", i)
		msgs = append(msgs, m)
	}
	if rows[0].Kind != KindLeadConfirmation || rows[1].Kind != KindLeadNotification {
		t.Errorf("kinds = %q, %q", rows[0].Kind, rows[1].Kind)
	}
	return msgs[0], msgs[1]
}

// describe prints the top-level headers of a raw message in their order,
// then its tree of MIME parts as mime/multipart reads it back. Boundaries
// are random, so they are printed as <boundary-N>.
func describe(t *testing.T, raw, cal []byte) []byte {
	t.Helper()
	if regexp.MustCompile(`[^\r]\n`).Match(raw) {
		t.Errorf("message has a bare LF line end")
	}
	var out bytes.Buffer
	boundaries := map[string]string{}
	norm := func(s string) string {
		return regexp.MustCompile(`boundary="?([^";\s]+)"?`).ReplaceAllStringFunc(s, func(m string) string {
			b := regexp.MustCompile(`boundary="?([^";\s]+)"?`).FindStringSubmatch(m)[1]
			if _, ok := boundaries[b]; !ok {
				boundaries[b] = fmt.Sprintf("<boundary-%d>", len(boundaries)+1)
			}
			return "boundary=" + boundaries[b]
		})
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	var order []string
	// Read the header block twice: once raw for the order, once parsed.
	for _, line := range strings.Split(string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))]), "\r\n") {
		if line != "" && line[0] != ' ' && line[0] != '\t' {
			order = append(order, line[:strings.IndexByte(line, ':')])
		}
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("read header: %v", err)
	}
	out.WriteString("headers:\n")
	for _, k := range order {
		for _, v := range h.Values(k) {
			fmt.Fprintf(&out, "  %s: %s\n", k, norm(v))
		}
	}
	out.WriteString("parts:\n")
	describePart(t, &out, textproto.MIMEHeader(h), tp.R, 1, norm, cal)
	return out.Bytes()
}

func describePart(t *testing.T, out *bytes.Buffer, h textproto.MIMEHeader, body io.Reader, depth int, norm func(string) string, cal []byte) {
	t.Helper()
	indent := strings.Repeat("  ", depth)
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("parse content type %q: %v", h.Get("Content-Type"), err)
	}
	fmt.Fprintf(out, "%s%s", indent, mt)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := params[k]
		if k == "boundary" {
			v = strings.TrimPrefix(norm("boundary="+v), "boundary=")
		}
		fmt.Fprintf(out, "; %s=%s", k, v)
	}
	if cte := h.Get("Content-Transfer-Encoding"); cte != "" {
		fmt.Fprintf(out, " [%s]", cte)
	}
	if cd := h.Get("Content-Disposition"); cd != "" {
		fmt.Fprintf(out, " {%s}", cd)
	}
	out.WriteString("\n")
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("next part: %v", err)
			}
			describePart(t, out, p.Header, p, depth+1, norm, cal)
		}
		return
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	var dec []byte
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		dec, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	case "base64":
		dec, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
	default:
		dec = raw
	}
	if err != nil {
		t.Fatalf("decode %s part: %v", mt, err)
	}
	fmt.Fprintf(out, "%s  (%d bytes decoded)\n", indent, len(dec))
	if mt == "text/calendar" || mt == "application/ics" {
		if !bytes.Equal(dec, cal) {
			t.Errorf("%s part does not decode to the calendar sent:\n%q", mt, dec)
		}
	}
}

func writeMessage(t *testing.T, m *Message) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := m.WriteTo(&b)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, b.Len())
	}
	return b.Bytes()
}

func TestMIMEStructureGolden(t *testing.T) {
	c, _ := testComposer(t)
	confirm, notify := leadMessages(t, c, testLead())

	invite := testMessage(1, "zoe@example.org")
	invite.To.Name = "Zoë Visitor"
	invite.Subject = "Invitation: Free consultation call with Zoë"
	invite.Calendar = []byte(testCalendar)
	invite.CalendarMethod = MethodRequest

	fallback, err := c.Fallback(Submission{
		Form: "booking",
		Fields: [][2]string{
			{"start", "2026-03-05T14:00:00Z"}, {"name", "Zoë Müller"}, {"email", "zoe@example.org"},
			{"company", ""}, {"message", "Looking forward to it.\nZoë"}, {"tz", "Europe/Berlin"},
		},
		Email: "zoe@example.org", Reason: "database unavailable", At: time.Date(2026, 3, 2, 9, 29, 58, 0, time.UTC),
	})
	if err != nil || len(fallback) != 2 {
		t.Fatalf("Fallback: %d messages, %v", len(fallback), err)
	}
	for i, m := range fallback {
		m.MessageID = fmt.Sprintf("<fallback%d@example.com>", i)
	}

	for _, tc := range []struct {
		name string
		m    *Message
	}{
		{"lead_confirmation", confirm},
		{"lead_notification", notify},
		{"fallback_staff", fallback[0]},
		{"fallback_visitor", fallback[1]},
		{"invitation", invite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := writeMessage(t, tc.m)
			golden(t, tc.name+".tree", describe(t, raw, tc.m.Calendar))
			if tc.m.Calendar == nil {
				golden(t, tc.name+".txt", []byte(tc.m.Text))
				golden(t, tc.name+".html", []byte(tc.m.HTML))
			}
			// The .eml is kept for the iMIP checker in ../shared/icalcheck
			// and for eyes; it is not compared, boundaries being random.
			if dir := os.Getenv("MAILER_EML_DIR"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, tc.name+".eml"), raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	reply := mail.Address{Name: "Sales", Address: "sales@example.com"}
	full := testMessage(7, "zoe@example.org")
	full.ReplyTo = &reply
	full.Calendar = []byte(testCalendar)
	full.CalendarMethod = MethodRequest
	full.Date = time.Date(2026, 3, 2, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	for _, m := range []*Message{testMessage(1, "a@example.com"), full} {
		p, err := m.MarshalPayload()
		if err != nil {
			t.Fatalf("MarshalPayload: %v", err)
		}
		got, err := UnmarshalPayload(p)
		if err != nil {
			t.Fatalf("UnmarshalPayload: %v", err)
		}
		if !got.Date.Equal(m.Date) {
			t.Errorf("Date = %v, want %v", got.Date, m.Date)
		}
		got.Date = m.Date
		a, b := writeMessage(t, m), writeMessage(t, got)
		// Only the random boundaries may differ.
		re := regexp.MustCompile(`[0-9a-f]{60}`)
		if !bytes.Equal(re.ReplaceAll(a, nil), re.ReplaceAll(b, nil)) {
			t.Errorf("round trip changed the message:\n%s\n---\n%s", a, b)
		}
	}
}

func TestPayloadInvalid(t *testing.T) {
	valid, err := testMessage(1, "a@example.com").MarshalPayload()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		payload string
	}{
		{"not json", "{"},
		{"empty object", "{}"},
		{"future version", strings.Replace(string(valid), `"v":1`, `"v":2`, 1)},
		{"no recipient", strings.Replace(string(valid), `"address":"a@example.com"`, `"address":""`, 1)},
		{"recipient with CRLF", strings.Replace(string(valid), `"address":"a@example.com"`, `"address":"a@example.com\r\nRCPT TO:<b@example.com>"`, 1)},
		{"no message id", strings.Replace(string(valid), `"message_id":"<test0001@example.com>"`, `"message_id":""`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalPayload([]byte(tc.payload)); err == nil {
				t.Errorf("UnmarshalPayload(%s) succeeded", tc.payload)
			}
		})
	}
	if _, err := UnmarshalPayload(valid); err != nil {
		t.Errorf("valid payload: %v", err)
	}
}

func TestMessageHeaders(t *testing.T) {
	m := testMessage(1, "zoe@example.org")
	m.Subject = "Grüße aus Köln\r\nBcc: victim@example.net"
	m.To.Name = "Zoë\r\nBcc: victim@example.net"
	reply := mail.Address{Name: "Sales\nX-Injected: yes", Address: "sales@example.com"}
	m.ReplyTo = &reply
	raw := writeMessage(t, m)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, k := range []string{"Bcc", "X-Injected"} {
		if v := msg.Header.Get(k); v != "" {
			t.Errorf("injected header %s: %q", k, v)
		}
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Grüße aus Köln Bcc: victim@example.net"; subj != want {
		t.Errorf("Subject = %q, want %q", subj, want)
	}
	if !strings.HasPrefix(msg.Header.Get("Subject"), "=?UTF-8?q?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", msg.Header.Get("Subject"))
	}
	for k, want := range map[string]string{
		"Message-ID":     "<test0001@example.com>",
		"Date":           "Mon, 02 Mar 2026 09:30:00 +0000",
		"MIME-Version":   "1.0",
		"Auto-Submitted": "auto-generated",
	} {
		if got := msg.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "zoe@example.org" || to[0].Name != "Zoë Bcc: victim@example.net" {
		t.Errorf("To = %v, %v", to, err)
	}
	if v := msg.Header.Get("User-Agent") + msg.Header.Get("X-Mailer"); v != "" {
		t.Errorf("mailer identifies itself: %q", v)
	}
}

func TestMessageValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Message)
	}{
		{"bad from", func(m *Message) { m.From.Address = "bookings" }},
		{"bad to", func(m *Message) { m.To.Address = "a@b@c" }},
		{"to with CRLF", func(m *Message) { m.To.Address = "a@example.com\r\nDATA" }},
		{"bad reply-to", func(m *Message) { m.ReplyTo = &mail.Address{Address: "x"} }},
		{"message id without brackets", func(m *Message) { m.MessageID = "abc@example.com" }},
		{"message id with space", func(m *Message) { m.MessageID = "<a b@example.com>" }},
		{"no date", func(m *Message) { m.Date = time.Time{} }},
		{"no body", func(m *Message) { m.Text, m.HTML = "", "" }},
		{"calendar without method", func(m *Message) { m.Calendar = []byte(testCalendar) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testMessage(1, "a@example.com")
			tc.modify(m)
			err := m.Validate()
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			if !Permanent(err) {
				t.Errorf("Validate error %v is not permanent", err)
			}
			if strings.Contains(err.Error(), "example.com") {
				t.Errorf("error quotes an address: %v", err)
			}
			if _, err := m.WriteTo(io.Discard); err == nil {
				t.Error("WriteTo succeeded")
			}
		})
	}
}

func TestNewMessageID(t *testing.T) {
	re := regexp.MustCompile(`^<[0-9a-f]{32}@example\.com>$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewMessageID("Bookings@Example.COM")
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("NewMessageID = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
	if id := NewMessageID("nobody"); !strings.HasSuffix(id, "@localhost>") {
		t.Errorf("NewMessageID(nobody) = %q", id)
	}
}

func FuzzUnmarshalPayload(f *testing.F) {
	p, err := testMessage(1, "a@example.com").MarshalPayload()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalPayload(b)
		if err != nil {
			return
		}
		raw, err := m.Bytes()
		if err != nil {
			t.Fatalf("accepted payload does not write: %v", err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("written message does not parse: %v", err)
		}
		if got := msg.Header.Get("Message-ID"); got != m.MessageID {
			t.Fatalf("Message-ID = %q, want %q", got, m.MessageID)
		}
	})
}
