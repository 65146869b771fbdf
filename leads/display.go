package leads

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxDisplayName caps, in characters, a visitor's name where it is shown
// to others as a name: the To and Reply-To display names of mail, the
// attendee's name and the SUMMARY of invitations.
const MaxDisplayName = 64

// DisplayName returns a visitor-typed name as it may stand in a display
// name: one clean line (SingleLine) without anything that looks like a
// link or an address (words with "://", "www.", "@", or a dotted host
// name such as spam.example/x), at most MaxDisplayName characters. What
// is left may be empty; callers then show the address alone.
//
// The name is the one field a bot can make a stranger's mail client show
// in bold; a link there is an advertisement sent in our name.
func DisplayName(name string) string {
	words := strings.Fields(SingleLine(name))
	kept := words[:0]
	for _, w := range words {
		if !urlLike(w) {
			kept = append(kept, w)
		}
	}
	s := strings.Join(kept, " ")
	if utf8.RuneCountInString(s) <= MaxDisplayName {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxDisplayName-1 {
			return strings.TrimSpace(s[:i]) + "…"
		}
		n++
	}
	return s
}

// urlLike reports whether one word of a name looks like a link, a host
// name or a mail address.
func urlLike(w string) bool {
	w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return unicode.IsPunct(r) && r != '/' }))
	if strings.Contains(w, "://") || strings.Contains(w, "@") || strings.HasPrefix(w, "www.") || strings.HasPrefix(w, "//") {
		return true
	}
	host := w
	if i := strings.IndexAny(host, "/?#:"); i >= 0 {
		host = host[:i]
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
		for _, r := range l {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	// A dotted word whose last label is a possible top-level domain (two
	// letters or more), or a dotted quad: "spam.example", "bit.ly/x",
	// "10.0.0.1". Initials ("J.R.R.") end in one letter and stay.
	tld := labels[len(labels)-1]
	if utf8.RuneCountInString(tld) >= 2 && strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
		return true
	}
	if len(labels) == 4 && strings.IndexFunc(host, func(r rune) bool { return r != '.' && !unicode.IsDigit(r) }) < 0 {
		return true
	}
	return false
}
