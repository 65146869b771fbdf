package leads_test

import (
	"context"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

func TestCalDAVEventNeverGoesBack(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		b, _, err := s.CreateBooking(ctx, newBooking(time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC), "ada@example.com", "uid-c1"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindCalDAVEvent(ctx, b.ID); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("before any write: %v, want not found", err)
		}
		for _, step := range []struct {
			seq  int
			etag string
			want bool
		}{{0, `"a"`, true}, {2, `"c"`, true}, {1, `"b"`, false}, {2, `"d"`, true}} {
			saved, err := s.SaveCalDAVEvent(ctx, leads.CalDAVEvent{BookingID: b.ID, Href: "/cal/uid-c1.ics", ETag: step.etag, Sequence: step.seq})
			if err != nil || saved != step.want {
				t.Fatalf("save seq %d: %v %v, want %v", step.seq, saved, err, step.want)
			}
		}
		ev, err := s.FindCalDAVEvent(ctx, b.ID)
		if err != nil || ev.ETag != `"d"` || ev.Sequence != 2 || ev.Href != "/cal/uid-c1.ics" {
			t.Fatalf("stored %+v %v", ev, err)
		}
		got, err := s.FindBookingByUID(ctx, "uid-c1")
		if err != nil || got.ID != b.ID {
			t.Fatalf("by uid: %+v %v", got, err)
		}
		if _, err := s.FindBookingByUID(ctx, "nope"); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("unknown uid: %v", err)
		}
	})
}

func TestRecordReplyOnce(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		b, _, err := s.CreateBooking(ctx, newBooking(time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC), "ada@example.com", "uid-r1"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		staff := leads.OutboxMessage{Kind: "reply_staff", Recipient: "staff@example.com", MessageID: "<n1@x>", Payload: []byte("{}"), BookingID: b.ID}
		for i, want := range []bool{true, false} {
			r := &leads.BookingReply{BookingID: b.ID, Method: "REPLY", Attendee: "ceo@example.com", Role: leads.ReplyCEO, PartStat: "DECLINED"}
			first, err := s.RecordReply(ctx, "<m1@x>", "ceo declined", r, staff)
			if err != nil || first != want {
				t.Fatalf("record %d: %v %v, want %v", i, first, err, want)
			}
		}
		done, err := s.MessageProcessed(ctx, "<m1@x>")
		if err != nil || !done {
			t.Fatalf("processed: %v %v", done, err)
		}
		if done, _ := s.MessageProcessed(ctx, "<other@x>"); done {
			t.Fatal("an unseen message counts as processed")
		}
		rs, err := s.BookingReplies(ctx, b.ID)
		if err != nil || len(rs) != 1 || rs[0].PartStat != "DECLINED" || rs[0].Role != leads.ReplyCEO || rs[0].MessageID != "<m1@x>" {
			t.Fatalf("replies %+v %v", rs, err)
		}
		mail, err := s.ListMail(ctx, leads.MailFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range mail {
			if m.Kind == "reply_staff" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("staff notices queued: %d, want 1", n)
		}
	})
}
