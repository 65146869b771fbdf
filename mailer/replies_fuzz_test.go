package mailer

import "testing"

// FuzzParseReply feeds parseReply any message: it must never panic, and
// what it accepts has a Message-ID, a sender, a UID and a method it acts
// on.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte(replyMail("<a@b>", "ada@example.com", "ada@example.com", "uid-1@x", "DECLINED", 0)))
	f.Add([]byte("From: a@b\r\nMessage-ID: <x@y>\r\nContent-Type: text/calendar\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:COUNTER\r\nBEGIN:VEVENT\r\nUID:u\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:a@b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("From: a@b\r\nMessage-ID: <x@y>\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n--y--\r\n--z--\r\n"))
	// go-ical's decoder panics on a parameter that ends the line.
	f.Add([]byte("From: a@b\r\nMessage-ID: <x@y>\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u\r\nATTENDEE;PARTSTAT=ACCEPTED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rp, why := parseReply(raw)
		if why != "" {
			if rp != nil {
				t.Fatalf("refused (%s) but returned %+v", why, rp)
			}
			return
		}
		if rp.messageID == "" || rp.from == "" || rp.uid == "" || (rp.method != "REPLY" && rp.method != "COUNTER") || rp.attendees == nil {
			t.Fatalf("accepted an incomplete reply %+v", rp)
		}
	})
}

// TestParseReplyDecodings reads the calendar part in each transfer
// encoding that mail clients use.
func TestParseReplyDecodings(t *testing.T) {
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u-1\r\nSEQUENCE:3\r\nDTSTAMP:20260302T100000Z\r\nATTENDEE;PARTSTAT=tentative:MAILTO:Ada@Example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	for name, msg := range map[string]string{
		"7bit":   "From: Ada <ADA@example.com>\r\nMessage-ID: <m@x>\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n" + ics,
		"base64": "From: Ada <ADA@example.com>\r\nMessage-ID: <m@x>\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nhi\r\n--q\r\nContent-Type: application/ics\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64Lines(ics) + "--q--\r\n",
	} {
		rp, why := parseReply([]byte(msg))
		if why != "" {
			t.Fatalf("%s: %s", name, why)
		}
		if rp.uid != "u-1" || rp.sequence != 3 || rp.from != "ada@example.com" || rp.attendees["ada@example.com"] != "TENTATIVE" {
			t.Fatalf("%s: %+v", name, rp)
		}
	}
}
