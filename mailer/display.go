package mailer

import (
	"regexp"
	"strings"
	"unicode"

	"leadbook/leads"
)

// MaxDisplayName caps, in characters, the visitor's name wherever mail to
// the visitor's address shows it: the To name, the greeting, an
// invitation's attendee.
const MaxDisplayName = 64

// DisplayName returns what mail sent to a visitor's unverified address
// may show of the name they typed: one clean line, without anything that
// looks like a link or an address (a word with "://", starting "www.",
// holding "@", or shaped like host.tld or host.tld/path), at most
// MaxDisplayName characters. Whoever types another person's address into a
// form can then make that person receive only a greeting, never their own
// text. Mail to staff shows the name as typed.
func DisplayName(name string) string {
	words := strings.Fields(leads.SingleLine(name))
	kept := words[:0]
	for _, w := range words {
		if !linkLike(w) {
			kept = append(kept, w)
		}
	}
	return truncateRunes(strings.Join(kept, " "), MaxDisplayName-1) // with its "…", at most MaxDisplayName
}

// hostLike matches a host name with a top-level domain of letters, and
// an optional path: example.com, spam.example/x, bücher.de.
var hostLike = regexp.MustCompile(`^(?:[\p{L}\p{N}_-]+\.)+\p{L}{2,63}\.?(?:[/?#:].*)?$`)

func linkLike(w string) bool {
	w = strings.TrimFunc(w, func(r rune) bool { return unicode.IsPunct(r) && r != '/' && r != '_' })
	lw := strings.ToLower(w)
	return strings.Contains(lw, "://") || strings.HasPrefix(lw, "www.") || strings.Contains(lw, "@") || hostLike.MatchString(lw)
}
