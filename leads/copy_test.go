package leads_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// TestCopyToPostgres fills a SQLite database through the store, copies it
// into an empty PostgreSQL database and uses the copy: every row and id
// is there, the audit chain verifies, new rows get new ids, and a second
// copy into the now full database is refused.
func TestCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	src, _ := openStore(t, leadstest.DB(t, "sqlite"), c)
	dst := leadstest.DB(t, "postgres")

	for i := range 3 {
		l := validLead()
		l.Email = strings.Replace(l.Email, "ada", "ada"+string(rune('a'+i)), 1)
		l.IdemKey = "k" + string(rune('a'+i))
		if _, err := src.CreateLead(ctx, l, fixed(leads.OutboxMessage{Kind: "k", Recipient: l.Email, MessageID: "<" + l.IdemKey + "@x>", Payload: []byte("{}")})); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	b, _, err := src.CreateBooking(ctx, newBooking(start, "grace@example.com", "uid-copy"), nil, bookingMail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AddStaff(ctx, "dana@example.com", "a long passphrase here", leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.CreateToken(ctx, "crm", leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Secret(ctx, "form_key", func() ([]byte, error) { return []byte{0, 1, 2, 255}, nil }); err != nil {
		t.Fatal(err)
	}
	wantAudit, err := src.VerifyAudit(ctx)
	if err != nil || wantAudit == 0 {
		t.Fatalf("source audit: %d %v", wantAudit, err)
	}

	rep, err := src.CopyTo(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, tc := range rep.Tables {
		rows[tc.Table] = tc.Rows
	}
	if rows["leads"] != 4 || rows["bookings"] != 1 || rows["outbox"] != 5 || rows["staff"] != 1 || rows["api_tokens"] != 1 || rep.AuditEntries != wantAudit {
		t.Fatalf("copied %v, audit %d (want %d)", rows, rep.AuditEntries, wantAudit)
	}

	to, _ := openStore(t, dst, c)
	got, err := to.FindBooking(ctx, b.ID)
	if err != nil || got.UID != "uid-copy" || !got.Start.Equal(start) || got.Email != "grace@example.com" {
		t.Fatalf("booking on the copy: %+v %v", got, err)
	}
	key, err := to.Secret(ctx, "form_key", func() ([]byte, error) { return []byte("new"), nil })
	if err != nil || string(key) != string([]byte{0, 1, 2, 255}) {
		t.Fatalf("form key on the copy: %q %v", key, err)
	}
	l := validLead()
	l.Email = "new@example.com"
	if _, err := to.CreateLead(ctx, l, nil); err != nil || l.ID != 5 {
		t.Fatalf("a new lead on the copy got id %d (%v), want 5", l.ID, err)
	}
	if err := to.Audit(ctx, leads.ActorCLI, leads.AuditExport, "", ""); err != nil {
		t.Fatal(err)
	}
	if n, err := to.VerifyAudit(ctx); err != nil || n != wantAudit+1 {
		t.Fatalf("audit on the copy after one more entry: %d %v", n, err)
	}
	// The copy's calendar goes on from the source's version: no slot
	// cache keyed on the old numbers can mistake the two.
	if to.BookingsVersion() < src.BookingsVersion() {
		t.Fatalf("calendar version %d on the copy, %d on the source", to.BookingsVersion(), src.BookingsVersion())
	}
	if _, err := src.CopyTo(ctx, dst); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second copy into a full database: %v", err)
	}
}
