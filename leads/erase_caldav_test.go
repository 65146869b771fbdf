package leads_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// calDAVWrite is the compose of a booking change when the CEO's calendar
// is written: the invitation and the calendar write.
func calDAVWrite(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
	msgs, _ := bookingMail(b, l)
	return append(msgs, leads.OutboxMessage{Kind: leads.KindCalDAV, Recipient: "ceo@example.com",
		MessageID: "<cal-" + b.UID + "-" + time.Now().Format("150405.000000000") + "@x>", Payload: []byte(`{"uid":"` + b.UID + `"}`)}), nil
}

// deliverAll marks every queued row sent, as a worker would.
func deliverAll(t *testing.T, s *leads.Store) {
	t.Helper()
	rows, err := s.ClaimMail(context.Background(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := s.MarkMailSent(context.Background(), r.ID, r.Attempts); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEraseDeletesCalendarEvents erases a person with three calls: one
// past and written to the CEO's calendar, with a reply read from the
// mailbox; one to come, written there; one to come whose write is still
// queued. Each gets a deletion naming only the object, tied to the
// erasure; the queued write goes; the replies and their mailbox record
// go; another person's event stays. A write that was in flight and lands
// after the erasure queues its own deletion.
func TestEraseDeletesCalendarEvents(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		clock := newClock()
		s, _ := openStore(t, db, clock)
		at := func(days int) time.Time { return clock.Now().Truncate(time.Hour).AddDate(0, 0, days) }
		past, _, err := s.CreateBooking(ctx, newBooking(at(2), "erin@example.com", "uid-past"), nil, calDAVWrite)
		if err != nil {
			t.Fatal(err)
		}
		written, _, err := s.CreateBooking(ctx, newBooking(at(4), "erin@example.com", "uid-written"), nil, calDAVWrite)
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := s.CreateBooking(ctx, newBooking(at(5), "olga@example.com", "uid-other"), nil, calDAVWrite)
		if err != nil {
			t.Fatal(err)
		}
		deliverAll(t, s)
		for _, b := range []*leads.Booking{past, written, other} {
			if _, err := s.SaveCalDAVEvent(ctx, leads.CalDAVEvent{BookingID: b.ID, Href: "/cal/" + b.UID + ".ics", ETag: `"e-` + b.UID + `"`}); err != nil {
				t.Fatal(err)
			}
		}
		queued, _, err := s.CreateBooking(ctx, newBooking(at(6), "erin@example.com", "uid-queued"), nil, calDAVWrite)
		if err != nil {
			t.Fatal(err)
		}
		const msgID = "<r1@mail.erin-family.example>"
		if _, err := s.RecordReply(ctx, msgID, "visitor reply accepted", &leads.BookingReply{BookingID: past.ID, Method: "REPLY",
			Attendee: "erin@example.com", Role: leads.ReplyVisitor, PartStat: "ACCEPTED"}); err != nil {
			t.Fatal(err)
		}
		clock.Add(3 * 24 * time.Hour) // the first call is past now

		er, err := s.EraseEmail(ctx, "Erin@example.com", leads.Actor{Kind: "staff", ID: 1}, calDAVWrite)
		if err != nil {
			t.Fatal(err)
		}
		if er.Counts.CalendarDeletes != 3 || er.Counts.Replies != 1 || er.Status != "pending" {
			t.Fatalf("counts %+v status %s", er.Counts, er.Status)
		}
		mail, err := s.ListMail(ctx, leads.MailFilter{Status: leads.OutboxQueued})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]leads.CalDAVDeletion{}
		for _, m := range mail {
			if m.Kind == leads.KindCalDAV {
				t.Errorf("a calendar write is still queued after the erasure: %s", m.Payload)
			}
			if m.Kind != leads.KindCalDAVDelete {
				continue
			}
			if strings.Contains(strings.ToLower(string(m.Payload)), "erin") || m.Recipient != leads.CalDAVRecipient || m.LeadID != 0 || m.BookingID != 0 {
				t.Errorf("deletion row %+v names the person", m)
			}
			var d leads.CalDAVDeletion
			if err := json.Unmarshal(m.Payload, &d); err != nil {
				t.Fatal(err)
			}
			got[d.UID] = d
		}
		want := map[string]leads.CalDAVDeletion{
			"uid-past":    {UID: "uid-past", Href: "/cal/uid-past.ics", ETag: `"e-uid-past"`},
			"uid-written": {UID: "uid-written", Href: "/cal/uid-written.ics", ETag: `"e-uid-written"`},
			"uid-queued":  {UID: "uid-queued"},
		}
		if len(got) != len(want) {
			t.Fatalf("deletions %+v, want %+v", got, want)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("deletion %s: %+v, want %+v", k, got[k], w)
			}
		}
		if done, _ := s.MessageProcessed(ctx, msgID); done {
			t.Error("the mailbox message of the erased reply is still recorded")
		}
		if ev, err := s.FindCalDAVEvent(ctx, other.ID); err != nil || ev.Href != "/cal/uid-other.ics" {
			t.Fatalf("another person's event: %+v %v", ev, err)
		}

		// The write of the queued booking was in flight: it lands now.
		saved, err := s.SaveCalDAVEvent(ctx, leads.CalDAVEvent{BookingID: queued.ID, Href: "/cal/uid-queued.ics", ETag: `"late"`})
		if err != nil || saved {
			t.Fatalf("a late write of an erased booking: saved %v %v", saved, err)
		}
		mail, _ = s.ListMail(ctx, leads.MailFilter{Status: leads.OutboxQueued})
		late := 0
		for _, m := range mail {
			if m.Kind == leads.KindCalDAVDelete && strings.Contains(string(m.Payload), `uid-queued.ics`) && strings.Contains(string(m.Payload), `late`) {
				late++
			}
		}
		if late != 1 {
			t.Fatalf("%d deletions of the late write queued, want 1", late)
		}

		// The erasure waits for its deletions, which stay once it is done.
		if n, err := s.FinishErasures(ctx); err != nil || n != 0 {
			t.Fatalf("finish with deletions queued: %d %v", n, err)
		}
		deliverAll(t, s)
		if n, err := s.FinishErasures(ctx); err != nil || n != 1 {
			t.Fatalf("finish: %d %v", n, err)
		}
		sent, _ := s.ListMail(ctx, leads.MailFilter{Status: leads.OutboxSent})
		kept := 0
		for _, m := range sent {
			if m.Kind == leads.KindCalDAVDelete {
				kept++
			}
		}
		if kept != 4 {
			t.Errorf("%d deletions kept, want 4", kept)
		}
		assertNowhere(t, db, "erin@example.com")
		assertNowhere(t, db, "erin-family")
	})
}

// TestFindPersonShowsRepliesAndCalendar: a subject access export shows
// each call's replies (theirs with their address, the CEO's without his)
// and whether its event sits in the CEO's calendar.
func TestFindPersonShowsRepliesAndCalendar(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		clock := newClock()
		s, _ := openStore(t, db, clock)
		at := clock.Now().Truncate(time.Hour).AddDate(0, 0, 2)
		written, _, err := s.CreateBooking(ctx, newBooking(at, "erin@example.com", "uid-w"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		plain, _, err := s.CreateBooking(ctx, newBooking(at.AddDate(0, 0, 1), "erin@example.com", "uid-p"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveCalDAVEvent(ctx, leads.CalDAVEvent{BookingID: written.ID, Href: "/cal/uid-w.ics", ETag: `"1"`}); err != nil {
			t.Fatal(err)
		}
		for i, r := range []leads.BookingReply{
			{BookingID: written.ID, Method: "REPLY", Attendee: "erin@example.com", Role: leads.ReplyVisitor, PartStat: "TENTATIVE"},
			{BookingID: written.ID, Method: "REPLY", Attendee: "ceo@example.com", Role: leads.ReplyCEO, PartStat: "ACCEPTED"},
		} {
			if _, err := s.RecordReply(ctx, "<r"+string(rune('a'+i))+"@x>", "recorded", &r); err != nil {
				t.Fatal(err)
			}
			clock.Add(time.Minute)
		}
		p, err := s.FindPerson(ctx, "erin@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Bookings) != 2 {
			t.Fatalf("bookings %+v", p.Bookings)
		}
		w, pl := p.Bookings[0], p.Bookings[1]
		if w.ID != written.ID || !w.InCEOCalendar || pl.ID != plain.ID || pl.InCEOCalendar {
			t.Fatalf("in the CEO's calendar: %+v / %+v", w, pl)
		}
		if len(w.Replies) != 2 || len(pl.Replies) != 0 || pl.Replies == nil {
			t.Fatalf("replies %+v / %+v", w.Replies, pl.Replies)
		}
		v, c := w.Replies[0], w.Replies[1]
		if v.Role != leads.ReplyVisitor || v.PartStat != "TENTATIVE" || v.Method != "REPLY" || v.Attendee != "erin@example.com" || v.ReceivedAt.IsZero() {
			t.Errorf("their reply %+v", v)
		}
		if c.Role != leads.ReplyCEO || c.PartStat != "ACCEPTED" || c.Attendee != "" || !c.ReceivedAt.After(v.ReceivedAt) {
			t.Errorf("the CEO's reply %+v", c)
		}
		out, _ := json.Marshal(p)
		if !strings.Contains(string(out), `"in_ceo_calendar":true`) || !strings.Contains(string(out), `"partstat":"TENTATIVE"`) {
			t.Errorf("export %s", out)
		}
	})
}
