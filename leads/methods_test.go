package leads_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// TestEveryMethodOnBothEngines fills a store through its own methods with
// a bit of everything (leads this week and last, calls to come, past,
// held, confirmed, expired and cancelled, held submissions released as
// leads and as calls, mail in every state, staff, an erasure) and calls
// every exported method that no other test of this package reaches,
// checking what each returns. It also writes a transcript of the answers;
// with both engines run, the two transcripts must be the same, line for
// line: the store answers alike whatever it runs on.
func TestEveryMethodOnBothEngines(t *testing.T) {
	transcripts := map[string]string{}
	leadstest.Each(t, func(t *testing.T, db string) {
		c := newClock()
		s := openStaffStore(t, db, c)
		transcripts[s.Engine()] = everyMethod(t, s, c)
	})
	sq, pg := transcripts["sqlite"], transcripts["postgres"]
	if sq == "" || pg == "" || sq == pg {
		return
	}
	a, b := strings.Split(sq, "\n"), strings.Split(pg, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var la, lb string
		if i < len(a) {
			la = a[i]
		}
		if i < len(b) {
			lb = b[i]
		}
		if la != lb {
			t.Errorf("line %d differs:\nsqlite:   %s\npostgres: %s", i+1, la, lb)
		}
	}
}

// everyMethod runs the scenario on s, whose clock c reads Monday 2 March
// 2026, 09:00 UTC, and returns the transcript.
func everyMethod(t *testing.T, s *leads.Store, c *clock) string {
	ctx := context.Background()
	var out strings.Builder
	say := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	t0 := c.Now()
	staff := leads.Actor{Kind: "staff", ID: 1}
	mail := func(kind, to, id string) leads.OutboxMessage {
		return leads.OutboxMessage{Kind: kind, Recipient: to, MessageID: "<" + id + "@x>", Payload: []byte(`{"to":"` + to + `"}`)}
	}
	lead := func(name, email string) *leads.Lead {
		return &leads.Lead{Name: name, Email: email, Company: "Engines Ltd", Message: "Hello,\nplease call.",
			Source: leads.SourceContact, ConsentVersion: "v1"}
	}

	// Leads: one last week, three this week.
	c.Add(-7 * 24 * time.Hour)
	_, err := s.CreateLead(ctx, lead("Old Timer", "old@example.com"), nil)
	must(err)
	c.Add(7 * 24 * time.Hour)
	ada := lead("Ada Lovelace", "Ada@Example.COM")
	_, err = s.CreateLead(ctx, ada, fixed(mail("lead_confirmation", "ada@example.com", "ada")))
	must(err)
	c.Add(time.Hour)
	jose := lead("José Müller", "jose@example.com")
	_, err = s.CreateLead(ctx, jose, nil)
	must(err)
	carol := lead("Carol", "carol@example.com")
	_, err = s.CreateLead(ctx, carol, fixed(mail("lead_confirmation", "carol@example.com", "carol")))
	must(err)
	c.Add(2 * time.Hour) // 12:00

	// Calls: one to come, one past, a hold confirmed, a hold expired, one
	// cancelled.
	b1, _, err := s.CreateBooking(ctx, newBooking(t0.Add(48*time.Hour), "grace@example.com", "uid-1"), noOverlap(t0.Add(48*time.Hour), t0.Add(48*time.Hour+30*time.Minute)), bookingMail)
	must(err)
	_, _, err = s.CreateBooking(ctx, newBooking(t0.Add(-24*time.Hour), "past@example.com", "uid-past"), nil, nil)
	must(err)
	held := newBooking(t0.Add(72*time.Hour), "held@example.com", "uid-held")
	held.HoldUntil = c.Now().Add(30 * time.Minute)
	holdMail := func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return []leads.OutboxMessage{mail("hold", l.Email, "hold-"+b.UID)}, nil
	}
	_, _, err = s.CreateBooking(ctx, held, nil, holdMail)
	must(err)
	up, err := s.ListBookings(ctx, leads.BookingsUpcoming, 10)
	must(err)
	say("upcoming with a hold: %s", uids(up))
	cb, err := s.UpcomingBookings(ctx, c.Now(), 10)
	must(err)
	say("calls to come (no holds): %s", uids(cb))
	if len(up) != 2 || len(cb) != 1 {
		t.Errorf("upcoming %s, calls %s", uids(up), uids(cb))
	}
	confirmed, err := s.ConfirmBooking(ctx, "hash-uid-held", bookingMail)
	must(err)
	if confirmed.Held() || !confirmed.Live() {
		t.Errorf("confirmed hold %+v", confirmed)
	}
	again, err := s.ConfirmBooking(ctx, "hash-uid-held", func(*leads.Booking, *leads.Lead) ([]leads.OutboxMessage, error) {
		t.Error("a second confirmation composed mail")
		return nil, nil
	})
	must(err)
	say("confirmed: %s seq %d, again: %s", confirmed.UID, confirmed.Sequence, again.UID)
	late := newBooking(t0.Add(96*time.Hour), "late@example.com", "uid-late")
	late.HoldUntil = c.Now().Add(10 * time.Minute)
	_, _, err = s.CreateBooking(ctx, late, nil, holdMail)
	must(err)
	c.Add(20 * time.Minute) // 12:20
	if _, err := s.ConfirmBooking(ctx, "hash-uid-late", bookingMail); !errors.Is(err, leads.ErrHoldExpired) {
		t.Errorf("confirming an expired hold: %v", err)
	}
	n, err := s.ReleaseExpiredHolds(ctx)
	must(err)
	say("holds released: %d", n)
	if n != 1 {
		t.Errorf("%d holds released, want 1", n)
	}
	if _, err := s.ConfirmBooking(ctx, "hash-uid-late", bookingMail); leads.ErrorCode(err) != leads.ECONFLICT || errors.Is(err, leads.ErrHoldExpired) {
		t.Errorf("confirming a released hold: %v", err)
	}
	_, _, err = s.CreateBooking(ctx, newBooking(t0.Add(120*time.Hour), "cancel@example.com", "uid-cancel"), nil, bookingMail)
	must(err)
	_, err = s.CancelBooking(ctx, "hash-uid-cancel", func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return []leads.OutboxMessage{mail("cancellation", l.Email, "cancel")}, nil
	})
	must(err)
	for _, which := range []string{leads.BookingsUpcoming, leads.BookingsPast, leads.BookingsCancelled} {
		bs, err := s.ListBookings(ctx, which, 10)
		must(err)
		say("bookings %s: %s", which, uids(bs))
	}
	if _, err := s.ListBookings(ctx, "someday", 10); leads.ErrorCode(err) != leads.EINVALID {
		t.Errorf("unknown booking list: %v", err)
	}
	lb, err := s.LeadBookings(ctx, b1.LeadID)
	must(err)
	say("grace's bookings: %s", uids(lb))
	live, err := s.LiveBookings(ctx, t0, t0.Add(200*time.Hour))
	must(err)
	say("live: %s", uids(live))
	fb, err := s.FindBooking(ctx, b1.ID)
	must(err)
	say("booking: %s %s-%s %s %s %s", fb.UID, fb.Start.Format(time.RFC3339), fb.End.Format(time.RFC3339), fb.Timezone, fb.Status, fb.Email)
	if !fb.Start.Equal(t0.Add(48*time.Hour)) || !fb.CreatedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("booking times %v %v", fb.Start, fb.CreatedAt)
	}

	// Held submissions: one released as a lead, one as a call whose time
	// was taken meanwhile, one as a call whose time is free, one left.
	hold := func(form, email string) *leads.Spam {
		t.Helper()
		sp := &leads.Spam{Form: form, Reason: "too fast", Email: email, Payload: []byte(`{"email":"` + email + `"}`)}
		must(s.HoldSpam(ctx, sp))
		return sp
	}
	sp1, sp2, sp3, sp4 := hold("contact", "spammy@example.com"), hold("booking", "bot@example.com"), hold("contact", "left@example.com"), hold("booking", "free@example.com")
	list, err := s.ListSpam(ctx, 10)
	must(err)
	say("held: %s", spamEmails(list))
	if len(list) != 4 || list[0].ID != sp4.ID {
		t.Errorf("held %s", spamEmails(list))
	}
	found, err := s.FindSpam(ctx, sp1.ID)
	must(err)
	say("found held: %s %s %s %s %s", found.Form, found.Reason, found.Email, found.Payload, found.Status)
	if !found.CreatedAt.Equal(c.Now()) || found.Email != "spammy@example.com" {
		t.Errorf("found held %+v", found)
	}
	if _, err := s.FindSpam(ctx, 1<<40); leads.ErrorCode(err) != leads.ENOTFOUND {
		t.Errorf("unknown held submission: %v", err)
	}
	released := lead("Spammy", "spammy@example.com")
	must(s.ReleaseSpam(ctx, sp1.ID, released, fixed(mail("lead_confirmation", "spammy@example.com", "spammy")), staff))
	if err := s.ReleaseSpam(ctx, sp1.ID, lead("Spammy", "spammy@example.com"), nil, staff); leads.ErrorCode(err) != leads.ECONFLICT {
		t.Errorf("second release: %v", err)
	}
	taken := newBooking(t0.Add(48*time.Hour), "bot@example.com", "uid-bot")
	rel, err := s.ReleaseSpamBooking(ctx, sp2.ID, taken, noOverlap(taken.Start, taken.End), bookingMail,
		fixed(mail("lead_confirmation", "bot@example.com", "bot")), staff)
	must(err)
	say("released into a taken time: booking %v, lead %s", rel.Booking != nil, rel.Lead.Email)
	if rel.Booking != nil || rel.Lead.ID == 0 {
		t.Errorf("release into a taken time: %+v", rel)
	}
	// The database refuses it too, without a check to ask first.
	taken.UID, taken.TokenHash = "uid-bot2", "hash-uid-bot2"
	sp5 := hold("booking", "bot@example.com")
	rel, err = s.ReleaseSpamBooking(ctx, sp5.ID, taken, nil, bookingMail, nil, staff)
	must(err)
	if rel.Booking != nil {
		t.Errorf("release into a taken time, unchecked: booked %+v", rel.Booking)
	}
	freeAt := t0.Add(144 * time.Hour)
	rel, err = s.ReleaseSpamBooking(ctx, sp4.ID, newBooking(freeAt, "free@example.com", "uid-free"), noOverlap(freeAt, freeAt.Add(30*time.Minute)),
		bookingMail, nil, staff)
	must(err)
	if rel.Booking == nil || !rel.Booking.Start.Equal(freeAt) {
		t.Fatalf("release into a free time: %+v", rel)
	}
	say("released into a free time: %s %s", rel.Booking.UID, rel.Lead.Email)
	list, err = s.ListSpam(ctx, 10)
	must(err)
	say("still held: %s", spamEmails(list))
	if len(list) != 1 || list[0].ID != sp3.ID {
		t.Errorf("still held %s", spamEmails(list))
	}

	// Mail: claim what is due; one goes dead and is retried, one is sent,
	// one waits for a retry.
	c.Add(time.Minute)
	claimed, err := s.ClaimMail(ctx, time.Minute, 100)
	must(err)
	say("claimed: %s", mailKinds(claimed))
	if len(claimed) < 3 {
		t.Fatalf("claimed %s", mailKinds(claimed))
	}
	must(s.MarkMailDead(ctx, claimed[0].ID, claimed[0].Attempts, "550 no such user"))
	must(s.MarkMailSent(ctx, claimed[1].ID, claimed[1].Attempts))
	must(s.MarkMailRetry(ctx, claimed[2].ID, claimed[2].Attempts, c.Now().Add(time.Hour), "421 try later"))
	for _, m := range claimed[3:] {
		must(s.MarkMailSent(ctx, m.ID, m.Attempts))
	}
	dead, err := s.FindMail(ctx, claimed[0].ID)
	must(err)
	say("dead: %s %s %s attempts %d %q", dead.Kind, dead.Recipient, dead.Status, dead.Attempts, dead.LastError)
	if dead.Status != leads.OutboxDead || dead.LastError != "550 no such user" || !dead.CreatedAt.Equal(claimed[0].CreatedAt) {
		t.Errorf("dead mail %+v", dead)
	}
	if _, err := s.FindMail(ctx, 1<<40); leads.ErrorCode(err) != leads.ENOTFOUND {
		t.Errorf("unknown mail: %v", err)
	}
	st, err := s.MailStats(ctx)
	must(err)
	say("mail: %d queued (oldest %s), %d sent, %d dead, %d cancelled", st.Queued, st.OldestQueued.Format(time.RFC3339), st.Sent, st.Dead, st.Cancelled)
	must(s.RetryDeadMail(ctx, dead.ID, staff))
	if err := s.RetryDeadMail(ctx, dead.ID, staff); leads.ErrorCode(err) != leads.ENOTFOUND {
		t.Errorf("retrying a queued message: %v", err)
	}
	next, ok, err := s.NextMailDue(ctx)
	must(err)
	say("next mail due: %s %v", next.Format(time.RFC3339Nano), ok)
	if !ok || !next.Equal(c.Now()) {
		t.Errorf("next mail due %v %v, want the retried one now (%v)", next, ok, c.Now())
	}
	for _, f := range []leads.MailFilter{{}, {Status: leads.OutboxSent}, {Status: leads.OutboxCancelled}, {LeadID: ada.ID}, {Status: leads.OutboxQueued, LeadID: b1.LeadID}, {Limit: 2}} {
		ms, err := s.ListMail(ctx, f)
		must(err)
		say("mail %+v: %s", f, mailKinds(ms))
		for _, m := range ms {
			if (f.Status != "" && m.Status != f.Status) || (f.LeadID != 0 && m.LeadID != f.LeadID) {
				t.Errorf("mail %+v listed %+v", f, m)
			}
		}
	}

	// Staff, listed by address whatever its letter case; a session signed
	// out, a failed sign-in.
	dana, err := s.AddStaff(ctx, "dana@example.com", "a long enough password", leads.ActorCLI)
	must(err)
	for _, e := range []string{"Zed@example.com", "a.b@example.com", "ab@example.com", "Bea@example.com", "_x@example.com"} {
		_, err := s.AddStaff(ctx, e, "a long enough password", leads.ActorCLI)
		must(err)
	}
	staffList, err := s.ListStaff(ctx)
	must(err)
	var emails []string
	for _, st := range staffList {
		emails = append(emails, st.Email)
	}
	say("staff: %s", strings.Join(emails, " "))
	if got := strings.Join(emails, " "); got != "_x@example.com a.b@example.com ab@example.com Bea@example.com dana@example.com Zed@example.com" {
		t.Errorf("staff listed as %s", got)
	}
	p := leads.SessionPolicy{Idle: time.Hour, Absolute: 12 * time.Hour}
	tok, err := s.CreateSession(ctx, dana.ID, p)
	must(err)
	se, err := s.FindSession(ctx, tok, p)
	must(err)
	say("session of %s since %s", se.Staff.Email, se.CreatedAt.Format(time.RFC3339))
	must(s.DeleteSession(ctx, tok))
	if _, err := s.FindSession(ctx, tok, p); !errors.Is(err, leads.ErrBadCredentials) {
		t.Errorf("session after sign-out: %v", err)
	}
	if _, err := s.Authenticate(ctx, "dana@example.com", "not the password", "203.0.113.9"); !errors.Is(err, leads.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	fails, err := s.SignInFailures(ctx, dana.ID, time.Time{})
	must(err)
	say("failed sign-ins: %d from %s", fails.Count, fails.LastFrom)

	// An erasure with nothing to cancel is done at once.
	_, err = s.EraseEmail(ctx, "carol@example.com", staff, nil)
	must(err)
	ers, err := s.ListErasures(ctx, 10)
	must(err)
	for _, e := range ers {
		say("erasure by %s at %s: %+v %s done %s", e.By, e.At.Format(time.RFC3339), e.Counts, e.Status, e.DoneAt.Format(time.RFC3339))
	}
	if len(ers) != 1 || ers[0].Counts.Leads != 1 || ers[0].Status != "done" || !ers[0].DoneAt.Equal(c.Now()) {
		t.Errorf("erasures %+v", ers)
	}

	// The dashboard.
	total, err := s.CountLeads(ctx)
	must(err)
	weeks, err := s.WeeklyCounts(ctx, 3)
	must(err)
	for _, w := range weeks {
		say("week of %s: %d leads, %d bookings", w.Week.Format(time.DateOnly), w.Leads, w.Bookings)
	}
	if len(weeks) != 3 || !weeks[2].Week.Equal(t0.Truncate(24*time.Hour)) || weeks[0].Leads != 0 || weeks[1].Leads != 1 ||
		weeks[2].Leads != total-1 || weeks[2].Bookings != 6 {
		t.Errorf("weekly counts %+v (%d leads)", weeks, total)
	}
	o, err := s.Overview(ctx)
	must(err)
	say("overview: %+v", o)
	st, err = s.MailStats(ctx)
	must(err)
	if o.Leads != total || o.LeadsThisWeek != total-1 || o.Upcoming != 3 || o.Spam != 1 || o.PendingErasures != 0 || o.Mail != st {
		t.Errorf("overview %+v, %d leads, mail %+v", o, total, st)
	}
	audit, err := s.ListAudit(ctx, 100)
	must(err)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Actor+" "+e.Action+" "+e.Subject)
	}
	say("audit: %s", strings.Join(actions, ", "))
	if n, err := s.VerifyAudit(ctx); err != nil || n != len(audit) || len(audit) < 6 {
		t.Errorf("audit: %d listed, %d verified, %v", len(audit), n, err)
	}

	// Leads, page by page, searched, and exported.
	all, err := s.ListLeads(ctx, leads.LeadFilter{Limit: 500})
	must(err)
	say("leads: %s", leadNames(all.Leads))
	if len(all.Leads) != total || all.Next != "" {
		t.Errorf("all leads: %d of %d, next %q", len(all.Leads), total, all.Next)
	}
	for _, f := range []leads.LeadFilter{{}, {Query: "example"}, {Query: "Engines"}, {Query: "jose@example.com"}, {From: t0, To: t0.Add(90 * time.Minute)}} {
		want, err := s.ListLeads(ctx, leads.LeadFilter{Query: f.Query, From: f.From, To: f.To, Limit: 500})
		must(err)
		f.Limit = 2
		var got []leads.Lead
		for pages := 0; ; pages++ {
			pg, err := s.ListLeads(ctx, f)
			must(err)
			got = append(got, pg.Leads...)
			if pg.Next == "" || pages > 20 {
				break
			}
			f.Before = pg.Next
		}
		say("leads %q %s..%s: %s", f.Query, f.From.Format(time.Kitchen), f.To.Format(time.Kitchen), leadNames(got))
		if leadNames(got) != leadNames(want.Leads) || len(got) == 0 {
			t.Errorf("leads %q paged: %s, in one page: %s", f.Query, leadNames(got), leadNames(want.Leads))
		}
	}
	// A cursor in another zone's words is the same place in the list.
	zoned := fmt.Sprintf("%s_%d", jose.CreatedAt.In(time.FixedZone("", 2*3600)).Format(time.RFC3339), jose.ID)
	page, err := s.ListLeads(ctx, leads.LeadFilter{Before: zoned})
	must(err)
	say("before %s: %s", zoned, leadNames(page.Leads))
	if leadNames(page.Leads) != fmt.Sprintf("%d:Ada Lovelace, 1:Old Timer", ada.ID) {
		t.Errorf("leads before José, by a cursor in another zone: %s", leadNames(page.Leads))
	}
	var csv bytes.Buffer
	rows, err := s.ExportCSV(ctx, &csv, leads.ExportFilter{}, false)
	must(err)
	if rows != total || !strings.Contains(csv.String(), ",2026-03-02T09:00:00.000Z,Ada Lovelace,Ada@example.com,") {
		t.Errorf("export of %d rows (%d leads):\n%s", rows, total, csv.String())
	}
	say("export:\n%s", csv.String())
	csv.Reset()
	rows, err = s.ExportCSV(ctx, &csv, leads.ExportFilter{From: t0, To: t0.Add(90 * time.Minute)}, true)
	must(err)
	say("export from 09:00 to 10:30:\n%s", csv.String())
	if rows != 2 || !strings.HasPrefix(csv.String(), "\ufeffid,created_at,") {
		t.Errorf("export of a range: %d rows\n%s", rows, csv.String())
	}
	person, err := s.FindPerson(ctx, "GRACE@example.com")
	must(err)
	say("grace: %d leads, %d bookings, %d mails, %d held", len(person.Leads), len(person.Bookings), len(person.Mail), len(person.Spam))
	if len(person.Leads) != 1 || len(person.Bookings) != 1 || len(person.Mail) != 2 {
		t.Errorf("grace's data %+v", person)
	}
	must(s.Ping(ctx))
	if s.BookingsVersion() == 0 || s.PoolStats().MaxOpenConnections == 0 {
		t.Errorf("calendar version %d, pool %+v", s.BookingsVersion(), s.PoolStats())
	}
	return out.String()
}

func uids(bs []leads.Booking) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.UID+"("+b.Status+")")
	}
	return strings.Join(out, " ")
}

func spamEmails(sp []leads.Spam) string {
	var out []string
	for _, s := range sp {
		out = append(out, s.Form+":"+s.Email)
	}
	return strings.Join(out, " ")
}

func mailKinds(ms []leads.OutboxMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d:%s>%s(%s)", m.ID, m.Kind, m.Recipient, m.Status))
	}
	return strings.Join(out, " ")
}

func leadNames(ls []leads.Lead) string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%d:%s", l.ID, l.Name))
	}
	return strings.Join(out, ", ")
}
