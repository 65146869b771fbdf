package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
)

// TestStaffLeadShowsReplies: the answers read from the organizer's
// mailbox show on the lead's staff page, the CEO's decline marked.
func TestStaffLeadShowsReplies(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	ctx := context.Background()
	start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	b, _, err := a.store.CreateBooking(ctx, &leads.NewBooking{
		Lead:  leads.Lead{Name: "Ada Lovelace", Email: "ada@example.com", ConsentVersion: "v1"},
		Start: start, End: start.Add(30 * time.Minute), Timezone: "UTC",
		UID: "uid-staff@x", TokenHash: "hash-staff", WindowFrom: start, WindowTo: start.Add(time.Hour),
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range []leads.BookingReply{
		{BookingID: b.ID, Method: "REPLY", Attendee: "ada@example.com", Role: leads.ReplyVisitor, PartStat: "ACCEPTED"},
		{BookingID: b.ID, Method: "REPLY", Attendee: "ceo@example.com", Role: leads.ReplyCEO, PartStat: "DECLINED"},
	} {
		if _, err := a.store.RecordReply(ctx, fmt.Sprintf("<r%d@x>", i), "test", &r); err != nil {
			t.Fatal(err)
		}
	}
	body := a.staffGet(fmt.Sprintf("/staff/leads/%d", b.LeadID), a.login("")).Body.String()
	for _, want := range []string{"Answers to the invitations", "Visitor (ada@example.com)", "ACCEPTED", "CEO (ceo@example.com)", "<strong>declined</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("lead page lacks %q", want)
		}
	}
}
