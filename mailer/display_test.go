package mailer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDisplayName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Zoë Müller", "Zoë Müller"},
		{"  Ada \r\n Lovelace\t", "Ada Lovelace"},
		{"J.R.R. Tolkien", "J.R.R. Tolkien"},
		{"Mary-Jane O'Neil, Ph.D.", "Mary-Jane O'Neil, Ph.D."},
		{"李小龍", "李小龍"},
		{"Claim your prize at https://spam.example/x", "Claim your prize at"},
		{"Claim your prize at spam.example/x", "Claim your prize at"},
		{"Visit (www.spam.example) now!", "Visit now!"},
		{"Bob HTTP://SPAM.EXAMPLE", "Bob"},
		{"Bob spam.example.", "Bob"},
		{"Bob bücher.de", "Bob"},
		{"write to bob@spam.example", "write to"},
		{"https://spam.example", ""},
		{"Eve\u202e\x00 Mallory", "Eve Mallory"},
	}
	for _, tt := range tests {
		if got := DisplayName(tt.in); got != tt.want {
			t.Errorf("DisplayName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := DisplayName(strings.Repeat("Bartholomew ", 20))
	if n := utf8.RuneCountInString(long); n > MaxDisplayName || !strings.HasSuffix(long, "…") {
		t.Errorf("a long name became %q (%d characters)", long, n)
	}
}
