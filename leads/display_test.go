package leads_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"leadbook/leads"
)

func TestDisplayName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada Lovelace", "Ada Lovelace"},
		{"  Grace\r\nHopper ", "Grace Hopper"},
		{"J. R. R. Tolkien", "J. R. R. Tolkien"},
		{"J.R.R. Tolkien", "J.R.R. Tolkien"},
		{"Jean-Luc O'Brien", "Jean-Luc O'Brien"},
		{"Zoë Ørsted-Łukasz", "Zoë Ørsted-Łukasz"},
		{"Claim your prize at https://spam.example/x", "Claim your prize at"},
		{"Win at www.spam.example now", "Win at now"},
		{"see spam.example/x or bit.ly/abc", "see or"},
		{"(https://spam.example)", ""},
		{"Call HTTP://SPAM.EXAMPLE", "Call"},
		{"mail eve@example.net today", "mail today"},
		{"ftp://x javascript://y //cdn.example", ""},
		{"host 10.0.0.1/admin", "host"},
		{"пример.рф promo", "promo"},
		{"Version 2.0 release", "Version 2.0 release"},
	}
	for _, tt := range tests {
		if got := leads.DisplayName(tt.in); got != tt.want {
			t.Errorf("DisplayName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := leads.DisplayName(strings.Repeat("Ω", 200))
	if n := utf8.RuneCountInString(long); n != leads.MaxDisplayName || !strings.HasSuffix(long, "…") {
		t.Errorf("long name: %d characters %q", n, long)
	}
	if got := leads.DisplayName(strings.Repeat("a", leads.MaxDisplayName)); got != strings.Repeat("a", leads.MaxDisplayName) {
		t.Errorf("a name of exactly the cap was cut: %q", got)
	}
}
