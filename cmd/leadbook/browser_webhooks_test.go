package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBrowserStaffWebhooks: staff add an endpoint (the secret shown once),
// send it a test event, which reaches a receiver on loopback (allowed
// here), and see the delivery listed; the page passes axe at both widths.
func TestBrowserStaffWebhooks(t *testing.T) {
	got := make(chan string, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer rcv.Close()
	s := startSite(t, map[string]string{"LEADBOOK_WEBHOOK_ALLOW_PRIVATE": "true"})
	const email, password = "office@example.com", "correct horse battery staple"
	addStaff(t, s, email, password)
	tb := newTab(t, s, tabConfig{})
	signIn(t, tb, email, password)

	tb.open("/staff/webhooks")
	tb.check("staff-webhooks-empty")
	// A bad URL is refused and stays in the field.
	tb.fill("#webhook-url", "ftp://files.example.com/in")
	tb.clickNav(`form[action="/staff/webhooks"] button[type=submit]`)
	if got := tb.text("#webhook-url-error"); !strings.Contains(got, "https://") {
		t.Fatalf("an ftp URL shows %q", got)
	}
	tb.check("staff-webhooks-error")
	if v := tb.value("#webhook-url"); v != "ftp://files.example.com/in" {
		t.Fatalf("the field holds %q after the refusal", v)
	}
	tb.open("/staff/webhooks")
	tb.fill("#webhook-url", rcv.URL+"/in")
	tb.clickNav(`form[action="/staff/webhooks"] button[type=submit]`)
	secret := tb.text("code.secret")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown is %q", secret)
	}
	tb.clickNav(`form[action$="/test"] button[type=submit]`)
	if got := tb.text("[role=status]"); got != "A test event is queued." {
		t.Errorf("test notice %q", got)
	}
	if body := <-got; !strings.Contains(body, `"type":"webhook.test"`) {
		t.Fatalf("the receiver got %s", body)
	}
	tb.open("/staff/webhooks")
	if got := tb.text("table.data tbody"); !strings.Contains(got, "webhook.test") {
		t.Fatalf("the test delivery is not listed: %q", got)
	}
	tb.check("staff-webhooks")
}
