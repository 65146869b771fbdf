package calendar

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func sampleInvitation(t testing.TB) Invitation {
	t.Helper()
	start := time.Date(2026, 3, 30, 9, 0, 0, 0, mustLoc(t, "Europe/Berlin"))
	return Invitation{
		Method:      MethodRequest,
		UID:         "booking-42@leadbook.example.com",
		Sequence:    0,
		Stamp:       time.Date(2026, 3, 20, 10, 15, 0, 0, time.UTC),
		Start:       start,
		End:         start.Add(30 * time.Minute),
		Summary:     "Free consultation call: Zoë Ångström, Ünïcode GmbH; 株式会社テスト",
		Description: "Your call with Jürgen Müller-Lüdenscheidt, CEO.\nAgenda: goals, budget; timeline, next steps.\nPath: C:\\calls\\notes 🎉 — see you soon! 日本語のテキストも折り返しで壊れないこと。",
		Location:    "Phone / video, link follows",
		URL:         "https://leadbook.example.com/bookings/Xk3v9QpLmN2rT8wYzA1bC4dE5fG6hJ7k",
		Organizer:   Person{"Bookings", "bookings@leadbook.example.com"},
		Chair:       Person{"Jürgen Müller-Lüdenscheidt", "ceo@leadbook.example.com"},
		Attendee:    Person{"Ångström, Zoë", "zoe@example.org"},
		RSVP:        true,
	}
}

func TestInvitationGolden(t *testing.T) {
	inv := sampleInvitation(t)
	resched := inv
	resched.Sequence = 1
	resched.Stamp = resched.Stamp.Add(24 * time.Hour)
	resched.Start = resched.Start.Add(48 * time.Hour)
	resched.End = resched.End.Add(48 * time.Hour)
	cancel := resched
	cancel.Method = MethodCancel
	cancel.Sequence = 2
	cancel.Stamp = cancel.Stamp.Add(time.Hour)

	second := inv
	second.UID = "booking-43@leadbook.example.com"
	second.Start, second.End = inv.Start.Add(72*time.Hour), inv.End.Add(72*time.Hour)
	second.Attendee = Person{"李小龍", "lee@example.net"}
	second.Summary = "Free consultation call: 李小龍"
	gone := cancel
	gone.UID = "booking-44@leadbook.example.com"
	gone.Cancelled = true
	conf := conferenceInvitation(t)

	cases := []struct {
		file string
		enc  func() ([]byte, error)
	}{
		{"invite_request.ics", inv.Encode},
		{"invite_reschedule.ics", resched.Encode},
		{"invite_cancel.ics", cancel.Encode},
		{"invite_conference.ics", conf.Encode},
		{"feed_one.ics", func() ([]byte, error) {
			return EncodeFeed("Consultation calls", []Invitation{inv}, inv.Stamp)
		}},
		{"feed.ics", func() ([]byte, error) {
			return EncodeFeed("Consultation calls", []Invitation{resched, second, gone}, inv.Stamp)
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := c.enc()
			if err != nil {
				t.Fatal(err)
			}
			checkFolded(t, got)
			golden(t, c.file, got)
			un := string(unfold(got))
			for _, want := range []string{"BEGIN:VCALENDAR\r\n", "VERSION:2.0\r\n", "PRODID:", "CALSCALE:GREGORIAN\r\n", "TRANSP:OPAQUE\r\n", "DTSTAMP:2026032", "DTSTART:20260", "Z\r\n", "ORGANIZER;CN=Bookings:mailto:bookings@leadbook.example.com\r\n", "END:VCALENDAR\r\n"} {
				if !strings.Contains(un, want) {
					t.Errorf("missing %q", want)
				}
			}
		})
	}

	// The fields that matter, spelled out.
	b, _ := inv.Encode()
	un := string(unfold(b))
	for _, want := range []string{
		"METHOD:REQUEST\r\n",
		"SEQUENCE:0\r\n",
		"DTSTART:20260330T070000Z\r\n",
		"DTEND:20260330T073000Z\r\n",
		"STATUS:CONFIRMED\r\n",
		`SUMMARY:Free consultation call: Zoë Ångström\, Ünïcode GmbH\; 株式会社テスト` + "\r\n",
		`DESCRIPTION:Your call with Jürgen Müller-Lüdenscheidt\, CEO.\nAgenda: goals\, budget\; timeline\, next steps.\nPath: C:\\calls\\notes 🎉`,
		"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=CHAIR;PARTSTAT=ACCEPTED;CN=Jürgen Müller-Lüdenscheidt:mailto:ceo@leadbook.example.com\r\n",
		`ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN="Ångström, Zoë":mailto:zoe@example.org` + "\r\n",
	} {
		if !strings.Contains(un, want) {
			t.Errorf("request lacks %q", want)
		}
	}
	b, _ = cancel.Encode()
	un = string(unfold(b))
	for _, want := range []string{"METHOD:CANCEL\r\n", "STATUS:CANCELLED\r\n", "SEQUENCE:2\r\n", "UID:booking-42@leadbook.example.com\r\n"} {
		if !strings.Contains(un, want) {
			t.Errorf("cancel lacks %q", want)
		}
	}
}

func TestInvitationErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Invitation)
	}{
		{"no method", func(i *Invitation) { i.Method = "" }},
		{"bad method", func(i *Invitation) { i.Method = "PUBLISH" }},
		{"no uid", func(i *Invitation) { i.UID = "" }},
		{"uid with newline", func(i *Invitation) { i.UID = "a\r\nMETHOD:CANCEL" }},
		{"negative sequence", func(i *Invitation) { i.Sequence = -1 }},
		{"no stamp", func(i *Invitation) { i.Stamp = time.Time{} }},
		{"end before start", func(i *Invitation) { i.End = i.Start }},
		{"bad organizer", func(i *Invitation) { i.Organizer.Email = "bookings" }},
		{"attendee injection", func(i *Invitation) { i.Attendee.Email = "a@b.c\r\nATTENDEE:mailto:x@y.z" }},
		{"no attendees", func(i *Invitation) { i.Attendee, i.Chair = Person{}, Person{} }},
		{"bad url", func(i *Invitation) { i.URL = "https://x\r\nX:y" }},
		{"bad conference link", func(i *Invitation) { i.Conference = "https://meet.example/a\r\nX:y" }},
		{"conference link not http", func(i *Invitation) { i.Conference = "javascript:alert(1)" }},
	}
	for _, tt := range tests {
		inv := sampleInvitation(t)
		tt.mod(&inv)
		if _, err := inv.Encode(); err == nil || !strings.HasPrefix(err.Error(), "calendar: ") {
			t.Errorf("%s: Encode error = %v", tt.name, err)
		}
	}
	// Names with quotes and control characters are cleaned, not refused.
	inv := sampleInvitation(t)
	inv.Attendee.Name = "Dwayne \"The Rock\"\r\nJohnson"
	b, err := inv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unfold(b)), "CN=Dwayne  The Rock   Johnson:mailto:") {
		t.Errorf("CN not cleaned:\n%s", b)
	}
}

// TestInvitationIcalcheck runs the independent parsers (libical, ical.js,
// node-ical, python icalendar and vobject) on every golden calendar.
func TestInvitationIcalcheck(t *testing.T) {
	dir := icalcheckDir(t)
	for _, f := range []string{"invite_request.ics", "invite_reschedule.ics", "invite_cancel.ics", "invite_conference.ics"} {
		path, _ := filepath.Abs(filepath.Join("testdata", f))
		out, code := runIcalcheck(t, dir, "check", path)
		if code != 0 {
			t.Errorf("check %s: exit %d\n%s", f, code, out)
		}
	}
	// A subscription feed is METHOD:PUBLISH, for which RFC 5546 (and
	// libical's restriction check) allow no ATTENDEE and which may carry
	// many UIDs. validate.mjs applies its REQUEST/CANCEL rules to any
	// METHOD ("needs an ATTENDEE", "exactly one UID"); those two findings
	// are expected, every other check (libical's PUBLISH rules included)
	// must pass.
	for _, f := range []string{"feed_one.ics", "feed.ics"} {
		path, _ := filepath.Abs(filepath.Join("testdata", f))
		out, _ := runIcalcheck(t, dir, "check", path)
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "FAIL") && !strings.Contains(l, "exactly one UID") && !strings.Contains(l, "has no ATTENDEE") {
				t.Errorf("check %s: %s", f, l)
			}
		}
		if !strings.Contains(out, "icalrestriction_check (RFC 5546 per-METHOD rules): pass") {
			t.Errorf("check %s: libical PUBLISH rules not passed:\n%s", f, out)
		}
	}
}

func TestFold(t *testing.T) {
	long := "DESCRIPTION:" + strings.Repeat("a", 200)
	tests := []string{
		"",
		"SHORT:x",
		long,
		"SUMMARY:" + strings.Repeat("🎉", 40),
		"SUMMARY:" + strings.Repeat("日本語", 30),
		"ATTENDEE;CN=" + strings.Repeat("Zoë Ångström Ünïcode ", 8) + ":mailto:zoe@example.org",
		"X:" + strings.Repeat("é", 37) + "a" + strings.Repeat("€", 30),
		"A:b\nC:d\r\nE:" + strings.Repeat("x", 80),
		"X:" + strings.Repeat("👩‍👩‍👧‍👦", 20),
	}
	// Every offset of a multibyte character against the fold point.
	for i := range 5 {
		tests = append(tests, "X:"+strings.Repeat("a", 70+i)+strings.Repeat("😀é中", 10))
	}
	for _, in := range tests {
		got := Fold([]byte(in))
		checkFolded(t, got)
		want := strings.ReplaceAll(in, "\r\n", "\n")
		if in != "" && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if un := strings.ReplaceAll(string(unfold(got)), "\r\n", "\n"); un != want {
			t.Errorf("unfold(Fold(%q)) = %q", in, un)
		}
	}
	if got := string(Fold([]byte("A:b\n"))); got != "A:b\r\n" {
		t.Errorf("Fold(A:b LF) = %q", got)
	}
}

// checkFolded asserts RFC 5545 line rules: CRLF only, <= 75 octets, and no
// UTF-8 character split across a fold.
func checkFolded(t *testing.T, b []byte) {
	t.Helper()
	if !utf8.Valid(b) {
		t.Fatalf("not valid UTF-8")
	}
	if bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\n")) || bytes.Contains(bytes.ReplaceAll(b, []byte("\r\n"), nil), []byte("\r")) {
		t.Fatalf("bare CR or LF")
	}
	for i, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n")) {
		if len(l) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(l), l)
		}
		if !utf8.Valid(l) {
			t.Errorf("line %d splits a character: %q", i+1, l)
		}
	}
}

func unfold(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n "), nil)
	return bytes.ReplaceAll(b, []byte("\r\n\t"), nil)
}

func BenchmarkEncodeInvitation(b *testing.B) {
	inv := sampleInvitation(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := inv.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMain(m *testing.M) {
	// Golden files are written with -update; make sure the folder exists.
	_ = os.MkdirAll("testdata", 0o755)
	os.Exit(m.Run())
}

// TestInvitationCapsVisitorText: whatever the caller passes, SUMMARY and
// the calendar users' names (CN, and CONTACT in a feed) are bounded.
func TestInvitationCapsVisitorText(t *testing.T) {
	inv := sampleInvitation(t)
	inv.Summary = strings.Repeat("Prize! ", 100)
	inv.Attendee.Name = strings.Repeat("Ω", 300)
	b, err := inv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	feed, err := EncodeFeed("calls", []Invitation{inv}, inv.Stamp)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, ln := range strings.Split(string(unfold(append(b, feed...))), "\r\n") {
		switch {
		case strings.HasPrefix(ln, "SUMMARY:"):
			seen++
			if n := utf8.RuneCountInString(strings.TrimPrefix(ln, "SUMMARY:")); n > MaxSummary+10 { // escapes add a few
				t.Errorf("SUMMARY has %d characters", n)
			}
		case strings.Contains(ln, "Ω"):
			seen++
			if n := strings.Count(ln, "Ω"); n > MaxCN {
				t.Errorf("%d characters of the name in %.40q", n, ln)
			}
		}
	}
	if seen != 4 {
		t.Fatalf("%d lines checked, want SUMMARY and the name, in the invitation and the feed", seen)
	}
}

// TestInvitationNoRSVP: where replies are not read, the visitor is asked
// for none.
func TestInvitationNoRSVP(t *testing.T) {
	inv := Invitation{Method: MethodRequest, UID: "u1@example.com", Stamp: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Start: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC),
		Organizer: Person{"Firm", "hello@example.com"}, Attendee: Person{"Zoë", "zoe@example.org"}}
	b, err := inv.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if un := string(unfold(b)); !strings.Contains(un, "PARTSTAT=NEEDS-ACTION;RSVP=FALSE;CN=Zoë:mailto:zoe@example.org\r\n") {
		t.Fatalf("no RSVP=FALSE:\n%s", un)
	}
}

// conferenceInvitation is the CEO's copy of a call with a video link and
// the visitor's answers in the description.
func conferenceInvitation(t testing.TB) Invitation {
	inv := sampleInvitation(t)
	inv.UID = "booking-45@leadbook.example.com"
	inv.URL = ""
	inv.Location = "https://meet.jit.si/northwind-k7qz3m9x2wd5"
	inv.Conference = inv.Location
	inv.Description = "A free consultation call with Zoë Ångström (zoe@example.org).\n\nWhat should the call be about?\nMoving off COBOL; budget, timeline\n\nTeam size\n10-50"
	return inv
}

func TestInvitationConference(t *testing.T) {
	b, err := conferenceInvitation(t).Encode()
	if err != nil {
		t.Fatal(err)
	}
	un := string(unfold(b))
	for _, want := range []string{
		"LOCATION:https://meet.jit.si/northwind-k7qz3m9x2wd5\r\n",
		"CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Video call:https://meet.jit.si/northwind-k7qz3m9x2wd5\r\n",
		`DESCRIPTION:A free consultation call with Zoë Ångström (zoe@example.org).\n\nWhat should the call be about?\nMoving off COBOL\; budget\, timeline`,
	} {
		if !strings.Contains(un, want) {
			t.Errorf("invitation lacks %q:\n%s", want, un)
		}
	}
}

func TestAddToCalendarLinks(t *testing.T) {
	inv := sampleInvitation(t)
	inv.Summary, inv.Description, inv.Location = "Call with Jürgen & co", "A call.\nSee you", "https://meet.jit.si/x?y=1"
	for _, c := range []struct{ link, prefix string }{
		{inv.GoogleLink(), "https://calendar.google.com/calendar/render?"},
		{inv.OutlookLink(OutlookLive), "https://outlook.live.com/calendar/0/deeplink/compose?"},
		{inv.OutlookLink(OutlookOffice), "https://outlook.office.com/calendar/0/deeplink/compose?"},
	} {
		u, err := url.Parse(c.link)
		if err != nil || !strings.HasPrefix(c.link, c.prefix) {
			t.Fatalf("link %q: %v", c.link, err)
		}
		q := u.Query()
		if strings.Contains(c.prefix, "google") {
			if q.Get("action") != "TEMPLATE" || q.Get("text") != inv.Summary || q.Get("dates") != "20260330T070000Z/20260330T073000Z" ||
				q.Get("details") != inv.Description || q.Get("location") != inv.Location {
				t.Errorf("google link fields %v", q)
			}
			continue
		}
		if q.Get("rru") != "addevent" || q.Get("path") != "/calendar/action/compose" || q.Get("subject") != inv.Summary ||
			q.Get("startdt") != "2026-03-30T07:00:00Z" || q.Get("enddt") != "2026-03-30T07:30:00Z" || q.Get("body") != inv.Description ||
			q.Get("location") != inv.Location {
			t.Errorf("outlook link fields %v", q)
		}
	}
}
