package leads

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// erasedText stands where an erased address was in another person's text.
const erasedText = "[erased]"

// SubjectEmail checks the address an erasure or a subject access export is
// for: one syntactically valid address (ValidEmail), normalised as a
// lead's is (NormalizeEmail). Anything else (empty, "@", "%", a fragment)
// is an EINVALID error on the field "email", because those requests match
// rows by that exact address and nothing less.
func SubjectEmail(raw string) (string, error) {
	email := NormalizeEmail(raw)
	var msg string
	switch {
	case email == "":
		msg = "Enter the person's email address."
	case !ValidEmail(email):
		msg = "Enter one whole email address, like name@example.com: only that exact address is matched."
	default:
		return email, nil
	}
	return "", &Error{Code: EINVALID, Message: msg, Fields: map[string]string{"email": msg}}
}

// addressForms are the spellings of an address that stored text may hold:
// as typed, and as html/template escapes it (in the HTML body of a mail
// rendered before it was queued, "+" becomes "&#43;").
func addressForms(addr string) []string {
	forms := []string{addr}
	if h := template.HTMLEscapeString(addr); h != addr {
		forms = append(forms, h)
	}
	return forms
}

// mentionFilter is the SQL condition that preselects rows whose column col
// may mention the address, and its arguments. It is a superset (a
// substring test, also across iCalendar line folds and in JSON's \u0026
// spelling of "&"); redactText decides what is a whole address.
func mentionFilter(d *dialect, col, addr string) (string, []any) {
	seen := map[string]bool{}
	var conds []string
	var args []any
	add := func(f string) {
		f = asciiLower(f)
		if f == "" || seen[f] {
			return
		}
		seen[f] = true
		// In a stored JSON payload a folded calendar line break is the six
		// characters \r\n and a space; in plain text it is CR LF space.
		// Letters fold in ASCII case only (emailKey), as f was: PostgreSQL's
		// lower() would fold É to é and miss a mention of an address with É.
		conds = append(conds, d.contains(`replace(replace(`+d.emailKey(col)+`, '\r\n ', ''), `+d.crlfSpace+`, '')`))
		args = append(args, f)
	}
	for _, f := range addressForms(addr) {
		add(f)
		if j, err := json.Marshal(f); err == nil {
			add(strings.Trim(string(j), `"`))
		}
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// redactText replaces every mention of the address addr in s with repl and
// returns how many it replaced. Letters compare in ASCII case, as SQLite's
// lower() and NOCASE do. Only a whole address counts: bob@example.com is
// not in jimbob@example.com nor in bob@example.com.au. A mention split by
// an iCalendar line fold (CR LF and a space or tab, as in an invitation's
// DESCRIPTION) is found too, and the fold goes with it.
func redactText(s, addr, repl string) (string, int) {
	if addr == "" || len(s) < len(addr) {
		return s, 0
	}
	// view is s lower-cased without folds; at maps each byte of view to its
	// offset in s.
	view := make([]byte, 0, len(s))
	at := make([]int, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' && i+2 < len(s) && s[i+1] == '\n' && (s[i+2] == ' ' || s[i+2] == '\t') {
			i += 2
			continue
		}
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		view = append(view, c)
		at = append(at, i)
	}
	v, needle := string(view), asciiLower(addr)
	var b strings.Builder
	copied, n := 0, 0
	for from := 0; from < len(v); {
		i := strings.Index(v[from:], needle)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(needle)
		if !wholeAddress(v, start, end) {
			from = start + 1
			continue
		}
		b.WriteString(s[copied:at[start]])
		b.WriteString(repl)
		copied = at[end-1] + 1
		n++
		from = end
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[copied:])
	return b.String(), n
}

// wholeAddress reports whether v[start:end] is an address on its own: not
// the tail of a longer local part nor the head of a longer domain.
func wholeAddress(v string, start, end int) bool {
	if start > 0 {
		// An escaped line break of iCalendar text ("\n") ends what is before.
		escapedBreak := start >= 2 && v[start-2] == '\\' && v[start-1] == 'n'
		if r, _ := utf8.DecodeLastRuneInString(v[:start]); !escapedBreak && localRune(r) {
			return false
		}
	}
	if end < len(v) {
		r, size := utf8.DecodeRuneInString(v[end:])
		if r == '.' {
			// A full stop ends a sentence, or starts one more label.
			r, _ = utf8.DecodeRuneInString(v[end+size:])
		}
		return !labelRune(r)
	}
	return true
}

// labelRune reports a character that continues a domain name.
func labelRune(r rune) bool {
	return r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// localRune reports a character that continues a local part, as real
// addresses spell them (letters, digits and . _ % + -). Other characters
// RFC 5322 allows there (= / ' ...) are far more often separators in text
// ("?email=bob@...", "'bob@...'"), so they end a mention.
func localRune(r rune) bool {
	return labelRune(r) || strings.ContainsRune(".%+", r)
}

// redactPayload redacts the address in a stored payload. A JSON payload is
// redacted value by value, so its escaping cannot hide a mention and the
// result is still JSON; anything else as text. It returns the payload and
// the number of mentions replaced.
func redactPayload(payload, addr string) (string, int, error) {
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		n := 0
		for _, f := range addressForms(addr) {
			var k int
			payload, k = redactText(payload, f, erasedText)
			n += k
		}
		return payload, n, nil
	}
	n := 0
	v = redactValue(v, addr, &n)
	if n == 0 {
		return payload, 0, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", 0, fmt.Errorf("leads: redact payload: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), n, nil
}

func redactValue(v any, addr string, n *int) any {
	switch x := v.(type) {
	case string:
		for _, f := range addressForms(addr) {
			var k int
			x, k = redactText(x, f, erasedText)
			*n += k
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], addr, n)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e, addr, n)
		}
	}
	return v
}

// redactMentions cuts the address out of the text of rows that are not the
// person's own (someone may have typed it in a message): other leads'
// name, company, phone and message, other bookings' message and answers
// (JSON, redacted as payloads are), and the
// payloads of other people's mail and held submissions, except the
// cancellations this erasure queued (they must still reach the person).
// The rows stay. It returns how many rows it changed.
func redactMentions(ctx context.Context, tx *sql.Tx, d *dialect, email string, erasureID int64) (int, error) {
	n := 0
	for _, t := range []struct {
		table, cols, where string
		payload            bool
	}{
		{"leads", "name, company, phone, message", "", false},
		{"bookings", "message", "", false},
		{"bookings", "answers", "", true},
		{"outbox", "payload", "(erasure_id IS NULL OR erasure_id != ?) AND ", true},
		{"spam", "payload", "", true},
		{"lead_events", "body", "", false},
	} {
		cols := strings.Split(t.cols, ", ")
		var conds []string
		var args []any
		if t.where != "" {
			args = append(args, erasureID)
		}
		for _, c := range cols {
			cond, a := mentionFilter(d, c, email)
			conds = append(conds, cond)
			args = append(args, a...)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, `+t.cols+` FROM `+t.table+` WHERE `+t.where+`(`+strings.Join(conds, " OR ")+`)`, args...)
		if err != nil {
			return n, fmt.Errorf("leads: erase: redact %s: %w", t.table, err)
		}
		type hit struct {
			id   int64
			vals []string
		}
		var hits []hit
		for rows.Next() {
			h := hit{vals: make([]string, len(cols))}
			dst := []any{&h.id}
			for i := range h.vals {
				dst = append(dst, &h.vals[i])
			}
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return n, fmt.Errorf("leads: erase: redact %s: %w", t.table, err)
			}
			hits = append(hits, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("leads: erase: redact %s: %w", t.table, err)
		}
		for _, h := range hits {
			sets := make([]string, len(cols))
			args := make([]any, 0, len(cols)+1)
			changed := 0
			for i, c := range cols {
				sets[i] = c + " = ?"
				var (
					val string
					k   int
				)
				if t.payload {
					if val, k, err = redactPayload(h.vals[i], email); err != nil {
						return n, err
					}
				} else {
					val, k = redactText(h.vals[i], email, erasedText)
				}
				changed += k
				args = append(args, val)
			}
			if changed == 0 {
				continue // a longer address that only contains this one
			}
			args = append(args, h.id)
			if _, err := tx.ExecContext(ctx, `UPDATE `+t.table+` SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
				return n, fmt.Errorf("leads: erase: redact %s: %w", t.table, err)
			}
			n++
		}
	}
	return n, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
