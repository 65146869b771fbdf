package mailer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// LinkRemoved stands where a manage link was in a payload made readable.
const LinkRemoved = "[link removed]"

// manageLink matches a booking's manage link, with or without the
// invite.ics after it: the path /bookings/ and the token, which is the
// visitor's key to cancel or move the call. A rebook link
// (/bookings/TOKEN/rebook) loses its token the same way.
var manageLink = regexp.MustCompile(`/bookings/[A-Za-z0-9_-]{16,}(/invite\.ics)?`)

// Readable returns an outbox payload as staff and a subject access export
// may read it: the same JSON with every manage link replaced by
// LinkRemoved, wherever it is (the draft's manage_url, ics_url and rebook_url, the
// text and HTML of a rendered message, the invitation's URL and
// DESCRIPTION, anything a visitor typed). The calendar is unfolded first,
// so no link hides across a folded line. Sending reads the stored payload,
// link and all; this copy is for reading only. A payload that is not JSON
// is redacted as text.
func Readable(payload []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return []byte(redactLinks(unfoldText(string(payload))))
	}
	v = readableValue(v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Unreachable for what Decode produced; say so rather than leak.
		return fmt.Appendf(nil, `{"error":%q}`, "unreadable payload")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func readableValue(v any) any {
	switch x := v.(type) {
	case string:
		return redactLinks(unfoldText(x))
	case []any:
		for i := range x {
			x[i] = readableValue(x[i])
		}
	case map[string]any:
		for k, e := range x {
			if (k == "manage_url" || k == "ics_url" || k == "rebook_url") && e != "" {
				x[k] = LinkRemoved
				continue
			}
			x[k] = readableValue(e)
		}
	}
	return v
}

// unfoldText undoes iCalendar line folding (CRLF and a space or tab).
func unfoldText(s string) string {
	if !strings.Contains(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n ", "", "\r\n\t", "").Replace(s)
}

func redactLinks(s string) string {
	return manageLink.ReplaceAllString(s, "/bookings/"+LinkRemoved)
}
