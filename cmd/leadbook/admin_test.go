package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"leadbook/leads"
)

// TestStaffAddRole: the first account is an admin, the next staff, and
// --role says otherwise; a bad role is refused before anything is made;
// staff role changes it, but never leaves no admin.
func TestStaffAddRole(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	add := func(email string, extra ...string) (string, error) {
		return cli(t, db, "a very long password\n", append([]string{"staff", "add", email, "--password-stdin"}, extra...)...)
	}
	if out, err := add("ann@example.com"); err != nil || !strings.Contains(out, "role admin") {
		t.Fatalf("first: %q %v", out, err)
	}
	if out, err := add("bob@example.com"); err != nil || !strings.Contains(out, "role staff") {
		t.Fatalf("second: %q %v", out, err)
	}
	if out, err := add("cy@example.com", "--role", "admin"); err != nil || !strings.Contains(out, "role admin") {
		t.Fatalf("--role admin: %q %v", out, err)
	}
	if _, err := add("dee@example.com", "--role", "owner"); err == nil || !strings.Contains(err.Error(), `--role "owner"`) {
		t.Fatalf("--role owner: %v", err)
	}
	out, err := cli(t, db, "", "staff", "list")
	if err != nil || !strings.Contains(out, "ROLE") || strings.Contains(out, "dee@example.com") ||
		!regexpLine(out, "bob@example.com", "staff") || !regexpLine(out, "cy@example.com", "admin") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := cli(t, db, "", "staff", "role", "ann@example.com", "staff"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli(t, db, "", "staff", "role", "cy@example.com", "staff"); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Fatalf("demoting the last admin: %v", err)
	}
}

// regexpLine reports whether one line of out holds both words.
func regexpLine(out, a, b string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, " "+b+" ") {
			return true
		}
	}
	return false
}

// TestCheckPrintsRulesInForce: check lists every booking rule with its
// source; a rule saved on the settings page shows as from the database,
// with the environment's value beside it.
func TestCheckPrintsRulesInForce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"LEADBOOK_DB":        filepath.Join(dir, "c.db"),
		"LEADBOOK_MAIL_DIR":  filepath.Join(dir, "mail"),
		"LEADBOOK_DAILY_CAP": "3",
	}
	checkOut := func() string {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err != nil {
			t.Fatalf("check: %v\n%s", err, out.String())
		}
		return out.String()
	}
	out := checkOut()
	for _, want := range []string{
		"ok   rules     booking rules in force, 0 of 7 from the database",
		"rule hours          mon 09:00-17:00; tue 09:00-17:00; wed 09:00-17:00; thu 09:00-17:00; fri 09:00-17:00 (environment, LEADBOOK_HOURS)",
		"rule daily_cap      3 (environment, LEADBOOK_DAILY_CAP)",
		"rule closed         (none) (environment, LEADBOOK_CLOSED)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	s, err := leads.Open(context.Background(), env["LEADBOOK_DB"], leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.SetBookingSettings(context.Background(), map[string]string{"daily_cap": "1", "slot_minutes": "nonsense"}, nil, leads.Actor{Kind: "staff", ID: 4})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	out = checkOut()
	for _, want := range []string{
		"booking rules in force, 1 of 7 from the database",
		`rule daily_cap      1 (database, set by staff:4 at `,
		`LEADBOOK_DAILY_CAP gives "3")`,
		`rule slot_minutes   30 (environment, LEADBOOK_SLOT_MINUTES; the database's "nonsense" is not applied: "nonsense" is not a whole number)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// TestCheckPrintsQuestionsInForce: check lists the booking form's
// questions and where they come from: the environment's, then the ones
// saved on the settings page over them.
func TestCheckPrintsQuestionsInForce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"LEADBOOK_DB":                filepath.Join(dir, "c.db"),
		"LEADBOOK_MAIL_DIR":          filepath.Join(dir, "mail"),
		"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"goal","label":"What should we talk about?","kind":"long","required":true}]`,
	}
	checkOut := func() string {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"leadbook", "check"}, envOf(env), nil, &out, io.Discard); err != nil {
			t.Fatalf("check: %v\n%s", err, out.String())
		}
		return out.String()
	}
	out := checkOut()
	for _, want := range []string{
		"ok   questions 1 booking questions in force (environment, LEADBOOK_BOOKING_QUESTIONS)",
		`question goal           "What should we talk about?": long, required`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	s, err := leads.Open(context.Background(), env["LEADBOOK_DB"], leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.SetBookingSettings(context.Background(), map[string]string{"questions": `[{"id":"size","label":"Team size","kind":"choice","choices":["1-10","11+"],"required":false}]`},
		nil, leads.Actor{Kind: "staff", ID: 4})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	out = checkOut()
	for _, want := range []string{
		"ok   questions 1 booking questions in force (database, set by staff:4 at ",
		"; LEADBOOK_BOOKING_QUESTIONS asks 1)",
		`question size           "Team size": choice (1-10 | 11+)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "question goal") {
		t.Errorf("the environment's question is listed as in force:\n%s", out)
	}
}
