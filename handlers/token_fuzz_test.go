package handlers

import (
	"encoding/base64"
	"testing"
)

// FuzzValidManageToken checks the shape test of manage tokens against its
// definition: 32 bytes in unpadded base64url, and nothing else.
func FuzzValidManageToken(f *testing.F) {
	tok, _ := newManageToken()
	f.Add(tok)
	f.Add("")
	f.Add(tok + "=")
	f.Add(tok[:42] + "/")
	f.Add(tok[:42] + "\x00")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		want := err == nil && len(b) == 32
		// Strict decoding refuses non-zero padding bits, which the shape
		// test does not look at: only a wrong alphabet or length must fail.
		if got := validManageToken(s); got != want && !(got && len(s) == manageTokenLen && err != nil) {
			t.Fatalf("validManageToken(%q) = %v, decodes to %d bytes (%v)", s, got, len(b), err)
		}
	})
}
