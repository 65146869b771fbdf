package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/mailer"
)

func TestWebhookCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	// Loopback is refused unless allowed.
	if _, err := cli(t, db, "", "webhook", "add", "http://127.0.0.1:8080/in", "--events", "lead.created"); err == nil ||
		!strings.Contains(err.Error(), "LEADBOOK_WEBHOOK_ALLOW_PRIVATE") {
		t.Fatalf("loopback target: %v", err)
	}
	if _, err := cli(t, db, "", "webhook", "add", "https://203.0.113.10/in", "--events", "lead.nope"); err == nil {
		t.Fatal("an unknown event was accepted")
	}
	if _, err := cli(t, db, "", "webhook", "add", "https://203.0.113.10/in"); err == nil || !strings.Contains(err.Error(), "--events") {
		t.Fatalf("no events: %v", err)
	}
	out, err := cli(t, db, "", "webhook", "add", "https://203.0.113.10/in", "--events", "booking.created, lead.created")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(secret, "whsec_") || !strings.Contains(out, "# webhook 1 https://203.0.113.10/in (booking.created,lead.created)") {
		t.Fatalf("add: %q", out)
	}
	list, err := cli(t, db, "", "webhook", "list")
	if err != nil || !strings.Contains(list, "https://203.0.113.10/in") || !strings.Contains(list, "enabled") ||
		strings.Contains(list, strings.TrimPrefix(secret, "whsec_")) {
		t.Fatalf("list: %q %v", list, err)
	}
	if out, err := cli(t, db, "", "webhook", "remove", "1"); err != nil || !strings.Contains(out, "removed webhook 1") {
		t.Fatalf("remove: %q %v", out, err)
	}
	if _, err := cli(t, db, "", "webhook", "remove", "1"); err == nil {
		t.Fatal("second remove succeeded")
	}
}

func TestTokenCreateScope(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	if out, err := cli(t, db, "", "token", "create", "w", "--scope", "write"); err != nil || !strings.Contains(out, "(scope write)") {
		t.Fatalf("write token: %q %v", out, err)
	}
	if out, err := cli(t, db, "", "token", "create", "r"); err != nil || !strings.Contains(out, "(scope read)") {
		t.Fatalf("read token: %q %v", out, err)
	}
	if _, err := cli(t, db, "", "token", "create", "x", "--scope", "admin"); err == nil {
		t.Fatal("scope admin accepted")
	}
	if out, err := cli(t, db, "", "token", "list"); err != nil || !strings.Contains(out, "SCOPE") || !strings.Contains(out, "write") {
		t.Fatalf("list: %q %v", out, err)
	}
}

// The served wiring delivers webhooks: an event queued by the store (here
// by a second connection, as another instance would) reaches a receiver
// on loopback, signed with the endpoint's secret, when loopback is
// allowed.
func TestServeDeliversWebhooks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "l.db")
	ctx := context.Background()
	got := make(chan http.Header, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Set("X-Body", string(body))
		got <- h
	}))
	defer rcv.Close()
	st, err := leads.Open(ctx, db, leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := st.AddWebhook(ctx, rcv.URL, []string{leads.EventLeadCreated}, leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	startRun(t, map[string]string{"LEADBOOK_DB": db, "LEADBOOK_WEBHOOK_ALLOW_PRIVATE": "true"})

	other, err := leads.Open(ctx, db, leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.CreateLead(ctx, &leads.Lead{Name: "Ada", Email: "ada@example.com", Source: leads.SourceContact, ConsentVersion: "v1"}, nil); err != nil {
		t.Fatal(err)
	}
	h := <-got // the worker polls every few seconds; the test's own timeout bounds the wait
	body := []byte(h.Get("X-Body"))
	want, err := mailer.SignWebhook(secret, h.Get("webhook-id"), time.Unix(mustInt(t, h.Get("webhook-timestamp")), 0), body)
	if err != nil || h.Get("webhook-signature") != want || !strings.Contains(string(body), `"type":"lead.created"`) {
		t.Fatalf("delivery %v, signature want %s (%v)", h, want, err)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
