package leads

import "testing"

func TestRedactTextWholeAddressesOnly(t *testing.T) {
	const addr = "bob@example.com"
	for _, tc := range []struct{ in, want string }{
		{"bob@example.com", "[erased]"},
		{"write to BOB@Example.Com today", "write to [erased] today"},
		{"<bob@example.com>, (bob@example.com); mailto:bob@example.com", "<[erased]>, ([erased]); mailto:[erased]"},
		{"end of a sentence: bob@example.com.", "end of a sentence: [erased]."},
		{"?email=bob@example.com&x=1 'bob@example.com'", "?email=[erased]&x=1 '[erased]'"},
		{`Topic:\nbob@example.com\, thanks`, `Topic:\n[erased]\, thanks`},
		{"folded bob@exam\r\n ple.com here", "folded [erased] here"},
		{"folded \r\n bob@example.com", "folded \r\n [erased]"},
		{"unfolds to foldedbob\r\n bob@example.com", "unfolds to foldedbob\r\n bob@example.com"},
		{"jimbob@example.com", "jimbob@example.com"},
		{"x.bob@example.com a+bob@example.com a_bob@example.com a-bob@example.com", "x.bob@example.com a+bob@example.com a_bob@example.com a-bob@example.com"},
		{"bob@example.com.au bob@example.community bob@example.com-x", "bob@example.com.au bob@example.community bob@example.com-x"},
		{"bob@example.comé", "bob@example.comé"},
		{"éjimbob@example.com and bob@example.com", "éjimbob@example.com and [erased]"},
		{"", ""},
		{"bob@", "bob@"},
	} {
		if got, _ := redactText(tc.in, addr, erasedText); got != tc.want {
			t.Errorf("redactText(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactPayloadKeepsJSON(t *testing.T) {
	in := `{"to":{"address":"carol@example.com"},"data":{"message":"ask bob\u0026co@example.com or bob&co@example.com"},"n":12345678901234567890}`
	got, n, err := redactPayload(in, "bob&co@example.com")
	if err != nil || n != 2 {
		t.Fatalf("redactPayload: %d, %v", n, err)
	}
	want := `{"data":{"message":"ask [erased] or [erased]"},"n":12345678901234567890,"to":{"address":"carol@example.com"}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got, n, _ := redactPayload(`{"message":"jimbob@example.com"}`, "bob@example.com"); n != 0 || got != `{"message":"jimbob@example.com"}` {
		t.Fatalf("changed a payload with no mention: %s", got)
	}
}
