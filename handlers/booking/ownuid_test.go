package booking

import (
	"testing"
)

func TestOwnUID(t *testing.T) {
	own := OwnUID("https://www.example.com:8443")
	if uid := NewUID("https://www.example.com:8443"); !own(uid) {
		t.Fatalf("%q, made by NewUID, is not own", uid)
	}
	for _, uid := range []string{
		NewUID("https://other.example.com"),
		"dentist-1",
		"0123456789abcdef0123456789abcdef@www.example.com.evil",
		"0123456789abcdef0123456789abcdeg@www.example.com",
		"abc@www.example.com",
		"",
	} {
		if own(uid) {
			t.Errorf("%q counts as own", uid)
		}
	}
}
