package leads_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

type hookBody struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// deliveries returns the endpoint's deliveries, oldest first.
func deliveries(t *testing.T, s *leads.Store, id int64) []leads.OutboxMessage {
	t.Helper()
	ms, err := s.WebhookDeliveries(context.Background(), id, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms
}

func hookTypes(t *testing.T, ms []leads.OutboxMessage) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		var b hookBody
		if err := json.Unmarshal(m.Payload, &b); err != nil {
			t.Fatalf("payload %q: %v", m.Payload, err)
		}
		if m.Kind != leads.KindWebhook || !strings.HasPrefix(m.MessageID, "msg_") || b.Timestamp.IsZero() {
			t.Fatalf("delivery %+v body %+v", m, b)
		}
		out = append(out, b.Type)
	}
	return out
}

func TestWebhookEventsQueuedWithTheChange(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		all, secret, err := s.AddWebhook(ctx, "https://hooks.example.com/a", leads.WebhookEvents, leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, leads.WebhookSecretPrefix) || len(secret) < 40 {
			t.Fatalf("secret %q", secret)
		}
		onlyBookings, _, err := s.AddWebhook(ctx, "https://hooks.example.com/b", []string{leads.EventBookingCancelled, leads.EventBookingCreated}, leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		off, _, err := s.AddWebhook(ctx, "https://hooks.example.com/c", leads.WebhookEvents, leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DisableWebhook(ctx, off.ID, "test", leads.ActorCLI); err != nil {
			t.Fatal(err)
		}

		l := validLead()
		if _, err := s.CreateLead(ctx, l, nil); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		c.Add(time.Minute)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "grace@example.com", "u1"), noOverlap(start, start.Add(30*time.Minute)), bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		// A refused booking queues nothing: its deliveries roll back with it.
		if _, _, err := s.CreateBooking(ctx, newBooking(start, "other@example.com", "u2"), noOverlap(start, start.Add(30*time.Minute)), bookingMail); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("second booking of a slot: %v", err)
		}
		c.Add(time.Minute)
		moved := start.Add(time.Hour)
		if _, err := s.RescheduleBooking(ctx, leads.Reschedule{TokenHash: b.TokenHash, Start: moved, End: moved.Add(30 * time.Minute),
			WindowFrom: moved.Add(-time.Hour), WindowTo: moved.Add(time.Hour)}, nil, bookingMail); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelBooking(ctx, b.TokenHash, bookingMail); err != nil {
			t.Fatal(err)
		}

		got := hookTypes(t, deliveries(t, s, all.ID))
		want := []string{"lead.created", "lead.created", "booking.created", "booking.rescheduled", "booking.cancelled"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("all events: %v, want %v", got, want)
		}
		if got := hookTypes(t, deliveries(t, s, onlyBookings.ID)); fmt.Sprint(got) != "[booking.created booking.cancelled]" {
			t.Fatalf("subscribed to two: %v", got)
		}
		if got := deliveries(t, s, off.ID); len(got) != 0 {
			t.Fatalf("a disabled endpoint got %d deliveries", len(got))
		}

		// The data: the lead's fields, the booking's times; no manage token.
		d := deliveries(t, s, all.ID)
		var lb hookBody
		_ = json.Unmarshal(d[0].Payload, &lb)
		var wl leads.WebhookLead
		if err := json.Unmarshal(lb.Data, &wl); err != nil || wl.ID != l.ID || wl.Email != l.Email || wl.Name != l.Name {
			t.Fatalf("lead data %s: %v", lb.Data, err)
		}
		if d[0].LeadID != l.ID {
			t.Fatalf("delivery lead id %d", d[0].LeadID)
		}
		var bb hookBody
		_ = json.Unmarshal(d[3].Payload, &bb)
		var wb leads.WebhookBooking
		if err := json.Unmarshal(bb.Data, &wb); err != nil || wb.ID != b.ID || !wb.Start.Equal(moved) || wb.Status != "confirmed" {
			t.Fatalf("booking data %s: %v", bb.Data, err)
		}
		if strings.Contains(string(d[3].Payload), b.TokenHash) || strings.Contains(string(d[3].Payload), "token") {
			t.Fatalf("payload holds the manage token: %s", d[3].Payload)
		}
	})
}

func TestWebhookEndpointLifecycle(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		for _, tc := range []struct {
			url    string
			events []string
		}{
			{"ftp://example.com/", leads.WebhookEvents},
			{"https://user:pw@example.com/", leads.WebhookEvents},
			{"/relative", leads.WebhookEvents},
			{"https://example.com/", nil},
			{"https://example.com/", []string{"lead.deleted"}},
		} {
			if _, _, err := s.AddWebhook(ctx, tc.url, tc.events, leads.ActorCLI); leads.ErrorCode(err) != leads.EINVALID {
				t.Errorf("AddWebhook(%q, %v) = %v, want invalid", tc.url, tc.events, err)
			}
		}
		w, secret, err := s.AddWebhook(ctx, "https://hooks.example.com/x", []string{"lead.created"}, leads.Actor{Kind: "staff", ID: 1})
		if err != nil {
			t.Fatal(err)
		}
		list, err := s.ListWebhooks(ctx)
		if err != nil || len(list) != 1 || list[0].URL != w.URL || list[0].Status != leads.WebhookEnabled || fmt.Sprint(list[0].Events) != "[lead.created]" {
			t.Fatalf("list %+v %v", list, err)
		}
		if _, got, err := s.WebhookTarget(ctx, w.ID); err != nil || got != secret {
			t.Fatalf("target secret %q %v", got, err)
		}
		if err := s.TestWebhook(ctx, w.ID, leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		if got := hookTypes(t, deliveries(t, s, w.ID)); fmt.Sprint(got) != "[webhook.test]" {
			t.Fatalf("test event: %v", got)
		}
		// Disabling cancels what is queued.
		if err := s.DisableWebhook(ctx, w.ID, "410 Gone", leads.ActorSystem); err != nil {
			t.Fatal(err)
		}
		d := deliveries(t, s, w.ID)
		if d[0].Status != leads.OutboxCancelled {
			t.Fatalf("queued delivery of a disabled endpoint: %s", d[0].Status)
		}
		got, _ := s.FindWebhook(ctx, w.ID)
		if got.Status != leads.WebhookDisabled || got.DisabledReason != "410 Gone" || got.DisabledAt.IsZero() {
			t.Fatalf("disabled endpoint %+v", got)
		}
		if err := s.TestWebhook(ctx, w.ID, leads.ActorCLI); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("test of a disabled endpoint: %v", err)
		}
		if err := s.EnableWebhook(ctx, w.ID, leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveWebhook(ctx, w.ID, leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		if len(deliveries(t, s, w.ID)) != 0 {
			t.Fatal("a removed endpoint's deliveries stay")
		}
		if err := s.RemoveWebhook(ctx, w.ID, leads.ActorCLI); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("second remove: %v", err)
		}
		if _, err := s.FindWebhook(ctx, w.ID); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("find removed: %v", err)
		}
	})
}

func TestChangedPagesByUpdatedAt(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		var ids []int64
		for i := range 5 {
			l := validLead()
			l.Email = fmt.Sprintf("p%d@example.com", i)
			if _, err := s.CreateLead(ctx, l, nil); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, l.ID)
			c.Add(time.Second)
		}
		// A booking by the first address updates that lead: it moves last.
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		b, _, err := s.CreateBooking(ctx, newBooking(start, "p0@example.com", "u1"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := append(ids[1:], ids[0])
		var got []int64
		var f leads.ChangeFilter
		f.Limit = 2
		for pages := 0; ; pages++ {
			page, more, err := s.LeadsChanged(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				got = append(got, l.ID)
			}
			if !more {
				break
			}
			last := page[len(page)-1]
			f.After = leads.Position{UpdatedAt: last.UpdatedAt, ID: last.ID}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("leads by change %v, want %v", got, want)
		}
		since, _, err := s.LeadsChanged(ctx, leads.ChangeFilter{Since: newClock().Now().Add(3 * time.Second)})
		if err != nil || len(since) != 3 {
			t.Fatalf("since: %d %v", len(since), err)
		}
		bs, more, err := s.BookingsChanged(ctx, leads.ChangeFilter{})
		if err != nil || more || len(bs) != 1 || bs[0].ID != b.ID {
			t.Fatalf("bookings %v %v %v", bs, more, err)
		}
	})
}

func TestTokenScopes(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		r, _, err := s.CreateToken(ctx, "reader", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		w, _, err := s.CreateScopedToken(ctx, "writer", leads.ScopeWrite, leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateScopedToken(ctx, "admin", "admin", leads.ActorCLI); leads.ErrorCode(err) != leads.EINVALID {
			t.Fatalf("scope admin: %v", err)
		}
		for tok, want := range map[string]string{r: leads.ScopeRead, w: leads.ScopeWrite} {
			got, err := s.FindToken(ctx, tok)
			if err != nil || got.Scope != want {
				t.Fatalf("token scope %+v %v, want %s", got, err, want)
			}
		}
	})
}

// A pipeline change queues lead.updated, with the lead's new place in the
// pipeline, for the endpoints subscribed to it; a change that changes
// nothing, or is refused, queues nothing.
func TestPipelineChangeQueuesLeadUpdated(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s, _ := openStore(t, db, c)
		updated, _, err := s.AddWebhook(ctx, "https://hooks.example.com/a", []string{leads.EventLeadUpdated}, leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		created, _, err := s.AddWebhook(ctx, "https://hooks.example.com/b", []string{leads.EventLeadCreated}, leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		owner, err := s.AddStaff(ctx, "dana@consult.example", "a long enough password", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		l := validLead()
		if _, err := s.CreateLead(ctx, l, nil); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Minute)
		st, day := leads.StatusQualified, "2026-04-01"
		ch := leads.PipelineChange{Status: &st, OwnerID: &owner.ID, NextStepAt: &day}
		by := leads.Actor{Kind: "token", ID: 7}
		if _, err := s.UpdateLeadPipeline(ctx, l.ID, ch, by); err != nil {
			t.Fatal(err)
		}
		// The same change again changes nothing; a bad one is refused.
		if _, err := s.UpdateLeadPipeline(ctx, l.ID, ch, by); err != nil {
			t.Fatal(err)
		}
		bad := "maybe"
		if _, err := s.UpdateLeadPipeline(ctx, l.ID, leads.PipelineChange{Status: &bad}, by); leads.ErrorCode(err) != leads.EINVALID {
			t.Fatalf("bad status: %v", err)
		}

		d := deliveries(t, s, updated.ID)
		if got := hookTypes(t, d); fmt.Sprint(got) != "[lead.updated]" {
			t.Fatalf("lead.updated endpoint: %v", got)
		}
		if d[0].LeadID != l.ID {
			t.Fatalf("delivery lead id %d", d[0].LeadID)
		}
		var b hookBody
		_ = json.Unmarshal(d[0].Payload, &b)
		var wl leads.WebhookLead
		if err := json.Unmarshal(b.Data, &wl); err != nil || wl.ID != l.ID || wl.Status != st ||
			wl.Owner == nil || *wl.Owner != owner.Email || wl.NextStepAt == nil || *wl.NextStepAt != day {
			t.Fatalf("lead.updated data %s: %v", b.Data, err)
		}
		if got := hookTypes(t, deliveries(t, s, created.ID)); fmt.Sprint(got) != "[lead.created]" {
			t.Fatalf("lead.created endpoint: %v", got)
		}
	})
}
