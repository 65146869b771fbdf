package calendar

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The reader below is deliberately liberal: real feeds carry indented
// first lines, misspelt END lines, lines without a colon, bare VEVENTs
// without a VCALENDAR. Each such fault costs only the line or component it
// is in, and is reported as a Skipped entry; what can be read is read.

// Skipped is a component of a feed, or one part of a component (a content
// line, an RRULE part, one RDATE value), that the reader could not
// understand and left out. Reason says what was left out and what was done
// instead; it quotes dates and rules but never free text such as a summary.
type Skipped struct {
	Line      int    // the component's BEGIN line, or the line of the part
	Component string // VEVENT, VTIMEZONE, …; "" for a line outside any component
	UID       string // the event's UID; "" when it has none or is no event
	Reason    string
}

// maxSkipped bounds the Skipped entries kept for one feed; all are counted.
const maxSkipped = 100

// skipLog collects the Skipped entries of one feed.
type skipLog struct {
	list  []Skipped
	count int
}

func (l *skipLog) add(line int, component, uid, format string, args ...any) {
	l.count++
	if len(l.list) < maxSkipped {
		l.list = append(l.list, Skipped{Line: line, Component: component, UID: clip(uid, 120), Reason: fmt.Sprintf(format, args...)})
	}
}

// clip shortens s to at most n bytes (on a rune boundary) and replaces
// control characters, so that a report line stays one short line.
func clip(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// node is one component as read: its properties in order, its
// subcomponents, and the lines it could not read.
type node struct {
	name     string // upper case
	line     int    // of its BEGIN
	props    []*prop
	children []*node
	bad      []badLine
}

type badLine struct {
	line   int
	reason string
}

// prop is one content line. Parameter names are upper case; a parameter's
// value has its quotes removed (and RFC 6868 escapes decoded); only the
// first of a repeated parameter is kept.
type prop struct {
	name   string
	params map[string]string
	value  string
	line   int
}

func (n *node) get(name string) *prop {
	for _, p := range n.props {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (n *node) all(name string) []*prop {
	var out []*prop
	for _, p := range n.props {
		if p.name == name {
			out = append(out, p)
		}
	}
	return out
}

// text returns the trimmed value of the first name property, "" if none.
func (n *node) text(name string) string {
	if p := n.get(name); p != nil {
		return strings.TrimSpace(p.value)
	}
	return ""
}

func (p *prop) param(name string) string { return strings.TrimSpace(p.params[name]) }

// calendarLevel are the components that only a VCALENDAR holds: a BEGIN of
// one of them closes whatever else is still open, so that a missing or
// misspelt END never hides an event inside another component.
var calendarLevel = map[string]bool{
	"VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true, "VTIMEZONE": true, "VAVAILABILITY": true,
}

// knownComponents are recognised in an indented BEGIN or END line, which is
// then read as a line of its own rather than as a continuation.
var knownComponents = map[string]bool{
	"VCALENDAR": true, "VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true, "VTIMEZONE": true,
	"STANDARD": true, "DAYLIGHT": true, "VALARM": true, "VAVAILABILITY": true, "AVAILABLE": true,
}

// errTruncated is returned for a feed that stops inside a component.
type errTruncated struct {
	component string
	line      int
}

func (e errTruncated) Error() string {
	return fmt.Sprintf("calendar: malformed feed: it ends inside %s (begun at line %d), as a cut-off download does", e.component, e.line)
}

// lexFeed reads data into components. Faults of structure (an END that
// matches nothing, a component never closed) go to log at once; lines that
// cannot be read are kept on their component (node.bad) so that they can be
// reported with its UID. It fails only for a feed that stops inside a
// component with a line other than an END, as a cut-off download does.
func lexFeed(data []byte, log *skipLog) ([]*node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sep := byte('\n')
	if bytes.IndexByte(data, '\n') < 0 {
		sep = '\r' // classic Mac line ends
	}
	lx := &lexer{log: log}
	var buf []byte
	have, start := false, 0
	for n := 1; len(data) > 0; n++ {
		var ln []byte
		if i := bytes.IndexByte(data, sep); i >= 0 {
			ln, data = data[:i], data[i+1:]
		} else {
			ln, data = data, nil
		}
		ln = bytes.TrimSuffix(ln, []byte{'\r'})
		if len(ln) > 0 && (ln[0] == ' ' || ln[0] == '\t') && have && !structureLine(ln) {
			buf = append(buf, ln[1:]...) // a folded continuation
			continue
		}
		if have {
			lx.line(string(buf), start)
		}
		ln = bytes.TrimLeft(ln, " \t")
		have, start = len(ln) > 0, n
		buf = append(buf[:0], ln...)
	}
	if have {
		lx.line(string(buf), start)
	}
	if len(lx.stack) > 0 && !lx.lastEnd {
		top := lx.stack[len(lx.stack)-1]
		return nil, errTruncated{top.name, top.line}
	}
	for i := len(lx.stack) - 1; i >= 0; i-- {
		lx.unclosed(lx.stack[i], "not closed at the end of the feed")
	}
	return lx.roots, nil
}

// structureLine reports whether an indented line is a BEGIN or END of a
// known component, which a real continuation never is.
func structureLine(ln []byte) bool {
	ln = bytes.TrimLeft(ln, " \t")
	for _, p := range []string{"BEGIN:", "END:"} {
		if len(ln) > len(p) && bytes.EqualFold(ln[:len(p)], []byte(p)) {
			return knownComponents[strings.ToUpper(strings.TrimSpace(string(ln[len(p):])))]
		}
	}
	return false
}

type lexer struct {
	log     *skipLog
	roots   []*node
	stack   []*node
	deep    int  // > 0 inside a component nested too deep: skipped whole
	lastEnd bool // the last line read was an END
}

func (lx *lexer) top() *node {
	if len(lx.stack) == 0 {
		return nil
	}
	return lx.stack[len(lx.stack)-1]
}

func (lx *lexer) unclosed(n *node, why string) {
	lx.log.add(n.line, n.name, uidOf(n), "%s; read as far as it goes", why)
}

func uidOf(n *node) string {
	if n.name == "VEVENT" {
		return n.text("UID")
	}
	return ""
}

func (lx *lexer) line(s string, n int) {
	p, err := parseContentLine(s)
	lx.lastEnd = err == nil && p.name == "END"
	if err == nil {
		p.line = n
	}
	if err != nil {
		switch top := lx.top(); {
		case lx.deep > 0:
		case top == nil:
			lx.log.add(n, "", "", "%v: ignored", err)
		default:
			top.bad = append(top.bad, badLine{n, err.Error()})
		}
		return
	}
	switch p.name {
	case "BEGIN":
		lx.begin(strings.ToUpper(strings.TrimSpace(p.value)), n)
	case "END":
		lx.end(strings.ToUpper(strings.TrimSpace(p.value)), n)
	default:
		switch top := lx.top(); {
		case lx.deep > 0:
		case top == nil:
			lx.log.add(n, "", "", "%s line outside any component: ignored", clip(p.name, 40))
		default:
			top.props = append(top.props, p)
		}
	}
}

func (lx *lexer) begin(name string, n int) {
	if lx.deep > 0 {
		lx.deep++
		return
	}
	if name == "" {
		lx.log.add(n, "", "", "BEGIN without a component name: ignored")
		return
	}
	for t := lx.top(); t != nil && (name == "VCALENDAR" || calendarLevel[name] && t.name != "VCALENDAR"); t = lx.top() {
		lx.unclosed(t, fmt.Sprintf("not closed before BEGIN:%s at line %d", clip(name, 40), n))
		lx.stack = lx.stack[:len(lx.stack)-1]
	}
	if len(lx.stack) >= maxNesting {
		lx.log.add(n, clip(name, 40), "", "nested deeper than %d components: skipped whole", maxNesting)
		lx.deep = 1
		return
	}
	c := &node{name: name, line: n}
	if t := lx.top(); t != nil {
		t.children = append(t.children, c)
	} else {
		lx.roots = append(lx.roots, c)
	}
	lx.stack = append(lx.stack, c)
}

func (lx *lexer) end(name string, n int) {
	if lx.deep > 0 {
		lx.deep--
		return
	}
	for i := len(lx.stack) - 1; i >= 0; i-- {
		if lx.stack[i].name == name {
			for j := len(lx.stack) - 1; j > i; j-- {
				lx.unclosed(lx.stack[j], fmt.Sprintf("not closed before END:%s at line %d", name, n))
			}
			lx.stack = lx.stack[:i]
			return
		}
	}
	if t := lx.top(); t != nil && t.name != "VCALENDAR" {
		// A misspelt END (END:VTOOD): it closes the innermost component.
		lx.log.add(n, t.name, uidOf(t), "END:%s read as the END of %s begun at line %d", clip(name, 40), t.name, t.line)
		lx.stack = lx.stack[:len(lx.stack)-1]
		return
	}
	lx.log.add(n, "", "", "END:%s without its BEGIN: ignored", clip(name, 40))
}

// parseContentLine splits one unfolded line into name, parameters and
// value (RFC 5545 §3.1). It fails for a line without a name or without a
// colon after the parameters.
func parseContentLine(s string) (*prop, error) {
	i := strings.IndexAny(s, ";:")
	if i < 0 {
		return nil, fmt.Errorf("line without a colon")
	}
	name := strings.ToUpper(strings.TrimSpace(s[:i]))
	if name == "" {
		return nil, fmt.Errorf("line without a property name")
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return nil, fmt.Errorf("line without a property name before its colon")
		}
	}
	p := &prop{name: name}
	rest := s[i:]
	for len(rest) > 0 && rest[0] == ';' {
		rest = rest[1:]
		j := strings.IndexAny(rest, "=;:")
		if j < 0 {
			return nil, fmt.Errorf("%s line without a colon", clip(name, 40))
		}
		pname := strings.ToUpper(strings.TrimSpace(rest[:j]))
		if rest[j] != '=' {
			rest = rest[j:] // a parameter without a value: ignored
			continue
		}
		rest = rest[j+1:]
		var v strings.Builder
		quoted, k := false, 0
	value:
		for ; k < len(rest); k++ {
			switch c := rest[k]; {
			case c == '"':
				quoted = !quoted
			case !quoted && (c == ';' || c == ':'):
				break value
			case c == '^' && k+1 < len(rest) && strings.IndexByte("n'^", rest[k+1]) >= 0: // RFC 6868
				k++
				switch rest[k] {
				case 'n':
					v.WriteByte('\n')
				case '\'':
					v.WriteByte('"')
				default:
					v.WriteByte('^')
				}
			default:
				v.WriteByte(c)
			}
		}
		if k == len(rest) {
			return nil, fmt.Errorf("%s line without a colon", clip(name, 40))
		}
		if p.params == nil {
			p.params = map[string]string{}
		}
		if _, dup := p.params[pname]; !dup && pname != "" {
			p.params[pname] = v.String()
		}
		rest = rest[k:]
	}
	// rest starts with the colon: IndexAny and the loop stop only at ';' or ':'.
	p.value = rest[1:]
	return p, nil
}

// unescapeText decodes a TEXT value's backslash escapes (RFC 5545 §3.3.11).
func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
