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
		// The decoder skips CR and LF, so the length is checked apart.
		b, err := base64.RawURLEncoding.DecodeString(s)
		want := len(s) == manageTokenLen && err == nil && len(b) == 32
		if got := validManageToken(s); got != want {
			t.Fatalf("validManageToken(%q) = %v, want %v (decodes to %d bytes: %v)", s, got, want, len(b), err)
		}
	})
}
