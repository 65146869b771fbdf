package main

import (
	"bytes"
	"context"
	"io"
	"net/mail"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/mailer"
)

// weekdayAt is the first Monday-to-Friday date at least days ahead, at
// hour:00 UTC.
func weekdayAt(days, hour int) time.Time {
	d := time.Now().UTC().AddDate(0, 0, days)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, time.UTC)
}

func TestBookingCommands(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "leadbook.db")
	env := envOf(map[string]string{"LEADBOOK_DB": db, "LEADBOOK_BASE_URL": "https://consult.example"})
	store, err := leads.Open(ctx, db, leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := weekdayAt(3, 10)
	b, _, err := store.CreateBooking(ctx, &leads.NewBooking{
		Lead:  leads.Lead{Name: "Grace Hopper", Email: "grace@example.com", ConsentVersion: "v1"},
		Start: start, End: start.Add(30 * time.Minute), Timezone: "UTC", UID: "uid-1@consult.example", TokenHash: "hash-1",
		WindowFrom: start.Add(-time.Hour), WindowTo: start.Add(time.Hour),
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	id := strconv.FormatInt(b.ID, 10)
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"leadbook"}, args...), env, nil, &out, io.Discard)
		return out.String(), err
	}

	out, err := cli("booking", "list")
	if err != nil || !strings.Contains(out, start.Format(time.RFC3339)) || !strings.Contains(out, "Grace Hopper") {
		t.Fatalf("booking list: %v\n%s", err, out)
	}
	if _, err := cli("booking", "move", id, "tomorrow"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("a move to a bad time: %v", err)
	}
	// Saturday is outside the hours: refused like any booking write.
	sat := start
	for sat.Weekday() != time.Saturday {
		sat = sat.AddDate(0, 0, 1)
	}
	if _, err := cli("booking", "move", id, sat.Format(time.RFC3339)); err == nil || !strings.Contains(err.Error(), "not an open slot") {
		t.Errorf("a move to a Saturday: %v", err)
	}
	to := start.Add(2 * time.Hour)
	if out, err := cli("booking", "move", id, to.Format(time.RFC3339)); err != nil || !strings.Contains(out, "moved booking "+id) {
		t.Fatalf("booking move: %v\n%s", err, out)
	}
	if out, err := cli("booking", "cancel", id, "--message", "Dana is ill."); err != nil || !strings.Contains(out, "cancelled booking "+id) {
		t.Fatalf("booking cancel: %v\n%s", err, out)
	}
	if _, err := cli("booking", "cancel", id); err == nil || !strings.Contains(err.Error(), "cancelled already") {
		t.Errorf("cancelling twice: %v", err)
	}

	store, err = leads.Open(ctx, db, leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	msgs, err := store.ListMail(ctx, leads.MailFilter{BookingID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	composer, err := mailer.NewComposer(mail.Address{Address: "bookings@localhost"}, mail.Address{Address: "staff@localhost"}, "https://consult.example", "x")
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Kind != mailer.KindInvitation && msgs[i].Kind != mailer.KindInvitationCEO {
			continue
		}
		m, err := composer.Render(msgs[i].Payload)
		if err != nil {
			t.Fatal(err)
		}
		methods = append(methods, m.CalendarMethod)
		if m.CalendarMethod == "CANCEL" && !strings.Contains(m.Text, "Dana is ill.") {
			t.Errorf("the cancellation lacks the message:\n%s", m.Text)
		}
	}
	if got := strings.Join(methods, " "); got != "REQUEST REQUEST CANCEL CANCEL" {
		t.Errorf("invitations queued: %s, want the move's two REQUESTs and the cancel's two CANCELs", got)
	}
	h, err := store.BookingHistory(ctx, b.ID)
	if err != nil || len(h) != 2 || h[0].Actor != "cli" || h[1].Action != leads.AuditBookingCancel {
		t.Errorf("history %+v, %v", h, err)
	}
}

// TestBookingCommandsCalDAV: with LEADBOOK_CALDAV_URL set, the booking
// commands wire the calendar as serve does. A cancel queues the write
// into the CEO's calendar (a caldav row), and a move is checked against
// the calendar's busy time: one that cannot be read is all busy.
func TestBookingCommandsCalDAV(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "leadbook.db")
	// Nothing listens on port 9 of the loopback: the calendar cannot be read.
	env := envOf(map[string]string{"LEADBOOK_DB": db, "LEADBOOK_BASE_URL": "https://consult.example",
		"LEADBOOK_CALDAV_URL": "http://127.0.0.1:9/calendars/ceo/"})
	store, err := leads.Open(ctx, db, leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := weekdayAt(3, 10)
	b, _, err := store.CreateBooking(ctx, &leads.NewBooking{
		Lead:  leads.Lead{Name: "Grace Hopper", Email: "grace@example.com", ConsentVersion: "v1"},
		Start: start, End: start.Add(30 * time.Minute), Timezone: "UTC", UID: "uid-1@consult.example", TokenHash: "hash-1",
		WindowFrom: start.Add(-time.Hour), WindowTo: start.Add(time.Hour),
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	id := strconv.FormatInt(b.ID, 10)
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"leadbook"}, args...), env, nil, &out, io.Discard)
		return out.String(), err
	}

	to := start.Add(2 * time.Hour)
	if out, err := cli("booking", "move", id, to.Format(time.RFC3339)); err == nil || !strings.Contains(err.Error(), "not an open slot") {
		t.Errorf("a move while the CEO's calendar cannot be read: %v\n%s", err, out)
	}
	if out, err := cli("booking", "cancel", id); err != nil || !strings.Contains(out, "cancelled booking "+id) {
		t.Fatalf("booking cancel: %v\n%s", err, out)
	}

	store, err = leads.Open(ctx, db, leads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	msgs, err := store.ListMail(ctx, leads.MailFilter{BookingID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i := len(msgs) - 1; i >= 0; i-- {
		kinds = append(kinds, msgs[i].Kind)
	}
	if !slices.Contains(kinds, mailer.KindCalDAV) {
		t.Errorf("the cancel queued %v, no %s row: the CEO's calendar keeps the event", kinds, mailer.KindCalDAV)
	}
	if b2, err := store.FindBooking(ctx, b.ID); err != nil || !b2.Start.Equal(start) {
		t.Errorf("the booking after the refused move: %+v, %v", b2, err)
	}
}
