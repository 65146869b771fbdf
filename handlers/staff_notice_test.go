package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
)

// TestStaffSignInFailureNotice: the overview tells the signed-in person
// about failed sign-ins at their own account since their last sign-in,
// with the address masked, and nobody else.
func TestStaffSignInFailureNotice(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	const other, otherPassword = "erin@consult.example", "another long passphrase"
	if _, err := a.store.AddStaff(context.Background(), other, otherPassword, leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	const notice = `id="sign-in-failures"`
	home := func(c *http.Cookie) string {
		t.Helper()
		rec := a.staffGet("/staff", c)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /staff: %d", rec.Code)
		}
		return rec.Body.String()
	}
	if body := home(a.login("192.0.2.10:1000")); strings.Contains(body, notice) {
		t.Fatal("a notice before any failure")
	}
	a.clock.Add(time.Hour)
	a.loginAs(staffEmail, "wrong password one", "203.0.113.45:1000")
	a.loginAs(staffEmail, "wrong password two", "203.0.113.45:1001")
	a.clock.Add(2 * time.Minute)
	a.loginAs(staffEmail, "wrong password three", "203.0.113.46:1000")
	a.loginAs("nobody@consult.example", "wrong password four", "203.0.113.47:1000")
	a.loginAs(other, "wrong password five", "198.51.100.200:1000")
	a.clock.Add(time.Minute)

	body := home(a.login("192.0.2.10:1000"))
	for _, want := range []string{notice, "3 failed sign-in attempts", "the last from 203.0.113.x", "2026-03-02 10:02 UTC"} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	for _, leak := range []string{"203.0.113.46", "203.0.113.45", "198.51.100"} {
		if strings.Contains(body, leak) {
			t.Errorf("the overview shows %q", leak)
		}
	}

	rec := a.loginAs(other, otherPassword, "192.0.2.11:1000")
	var erin *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Value != "" {
			erin = c
		}
	}
	body = home(erin)
	if !strings.Contains(body, "1 failed sign-in attempt on your account") || !strings.Contains(body, "198.51.100.x") ||
		strings.Contains(body, "203.0.113") {
		t.Errorf("the other account's overview: %s", body[strings.Index(body, "<h1>"):][:400])
	}

	// Seen at a sign-in, gone at the next.
	a.clock.Add(time.Minute)
	if body := home(a.login("192.0.2.10:1000")); strings.Contains(body, notice) {
		t.Error("the notice outlives the next sign-in")
	}
}
