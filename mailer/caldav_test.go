package mailer

import (
	"context"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/calendar/davtest"
	"leadbook/leads"
)

// calDAVSetup is a store, a composer that queues calendar writes and a
// worker that delivers them to srv (mail goes to a fake sender).
type calDAVSetup struct {
	st     *leads.Store
	clock  *testClock
	worker *Worker
	comp   *Composer
	cal    *calendar.CalDAV
	ceo    calendar.Person
}

func newCalDAVSetup(t *testing.T, srv *davtest.CalDAV) *calDAVSetup {
	t.Helper()
	clock := newClock()
	st := openStore(t, clock)
	comp, err := NewComposer(mail.Address{Name: "Northwind", Address: "hello@northwind.test"},
		mail.Address{Address: "staff@northwind.test"}, "https://northwind.test", "Northwind")
	if err != nil {
		t.Fatal(err)
	}
	comp.Now, comp.CalDAV = clock.Now, true
	w, _ := newWorker(t, st, &fakeSender{}, clock)
	ceo := calendar.Person{Name: "Dana Ceo", Email: "ceo@northwind.test"}
	cal := &calendar.CalDAV{URL: srv.URL, Username: srv.Username, Password: srv.Password,
		Client: &http.Client{Timeout: 5 * time.Second}}
	w.Deliverers = map[string]Deliverer{KindCalDAV: &CalDAV{Calendar: cal, Store: st, Composer: comp, CEO: ceo}}
	return &calDAVSetup{st: st, clock: clock, worker: w, comp: comp, cal: cal, ceo: ceo}
}

func (s *calDAVSetup) compose(change string) leads.BookingCompose {
	return func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return s.comp.BookingMessages(BookingMail{Booking: b, Lead: l, Change: change, CEO: s.ceo, Now: s.clock.Now()})
	}
}

func (s *calDAVSetup) book(t *testing.T, start time.Time, uid string) *leads.Booking {
	t.Helper()
	b, _, err := s.st.CreateBooking(context.Background(), &leads.NewBooking{
		Lead:  leads.Lead{Name: "Ada Lovelace", Email: "ada@example.com", ConsentVersion: "v1"},
		Start: start, End: start.Add(30 * time.Minute), Timezone: "Europe/London",
		UID: uid, TokenHash: "hash-" + uid, WindowFrom: start.Add(-time.Hour), WindowTo: start.Add(time.Hour),
	}, nil, s.compose(ChangeCreated))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// event reads the booking's object from the server: its SEQUENCE,
// whether it is cancelled and its start.
func event(t *testing.T, srv *davtest.CalDAV, uid string) (seq int, cancelled bool, start string) {
	t.Helper()
	resp := srv.Get(t, uid+".ics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s.ics: %s", uid, resp.Status)
	}
	u, seq, err := calendar.ObjectSequence([]byte(resp.Body))
	if err != nil || u != uid {
		t.Fatalf("object %q: %v\n%s", u, err, resp.Body)
	}
	for _, l := range strings.Split(strings.ReplaceAll(resp.Body, "\r\n ", ""), "\r\n") {
		if v, ok := strings.CutPrefix(l, "DTSTART:"); ok {
			start = v
		}
	}
	return seq, strings.Contains(resp.Body, "STATUS:CANCELLED"), start
}

// TestCalDAVBookingLife writes a booking into Radicale and Xandikos,
// moves it (SEQUENCE up), cancels it, and checks that a repeated or late
// delivery never writes an older state; every object passes icalcheck.
func TestCalDAVBookingLife(t *testing.T) {
	davtest.Servers(t, func(t *testing.T, srv *davtest.CalDAV) {
		ctx := context.Background()
		s := newCalDAVSetup(t, srv)
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		uid := "5e1f0c2a9d@northwind.test"
		b := s.book(t, start, uid)
		mustDrain(t, s.worker)
		if seq, cancelled, got := event(t, srv, uid); seq != 0 || cancelled || got != "20260310T140000Z" {
			t.Fatalf("after booking: seq %d cancelled %v start %s", seq, cancelled, got)
		}
		icalcheckObject(t, srv.Name+"-created.ics", srv.Get(t, uid+".ics").Body)

		// The write delivered again (its outcome lost): If-None-Match
		// refuses, the object read back is this very write.
		row := leads.OutboxMessage{Kind: KindCalDAV, BookingID: b.ID}
		if err := s.worker.Deliverers[KindCalDAV].Deliver(ctx, row); err != nil {
			t.Fatalf("repeated create: %v", err)
		}

		moved := start.Add(2 * time.Hour)
		if _, err := s.st.RescheduleBooking(ctx, leads.Reschedule{TokenHash: "hash-" + uid, Start: moved, End: moved.Add(30 * time.Minute),
			WindowFrom: moved.Add(-time.Hour), WindowTo: moved.Add(time.Hour)}, nil, s.compose(ChangeRescheduled)); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, s.worker)
		if seq, cancelled, got := event(t, srv, uid); seq != 1 || cancelled || got != "20260310T160000Z" {
			t.Fatalf("after move: seq %d cancelled %v start %s", seq, cancelled, got)
		}

		if _, err := s.st.CancelBooking(ctx, "hash-"+uid, s.compose(ChangeCancelled)); err != nil {
			t.Fatal(err)
		}
		mustDrain(t, s.worker)
		if seq, cancelled, _ := event(t, srv, uid); seq != 2 || !cancelled {
			t.Fatalf("after cancel: seq %d cancelled %v", seq, cancelled)
		}
		icalcheckObject(t, srv.Name+"-cancelled.ics", srv.Get(t, uid+".ics").Body)

		// Someone else rewrote the object with an older SEQUENCE behind our
		// back: the next delivery replaces it on its new ETag. One with a
		// newer SEQUENCE is left alone.
		body := srv.Get(t, uid+".ics").Body
		srv.Put(t, uid+".ics", strings.Replace(strings.Replace(body, "SEQUENCE:2", "SEQUENCE:1", 1), "STATUS:CANCELLED", "STATUS:CONFIRMED", 1))
		if err := s.worker.Deliverers[KindCalDAV].Deliver(ctx, row); err != nil {
			t.Fatalf("deliver over an older copy: %v", err)
		}
		if seq, cancelled, _ := event(t, srv, uid); seq != 2 || !cancelled {
			t.Fatalf("after an older copy was put: seq %d cancelled %v", seq, cancelled)
		}
		srv.Put(t, uid+".ics", strings.Replace(body, "SEQUENCE:2", "SEQUENCE:5", 1))
		if err := s.worker.Deliverers[KindCalDAV].Deliver(ctx, row); err != nil {
			t.Fatalf("deliver under a newer copy: %v", err)
		}
		if seq, _, _ := event(t, srv, uid); seq != 5 {
			t.Fatalf("a newer copy was overwritten: seq %d", seq)
		}
		ev, err := s.st.FindCalDAVEvent(ctx, b.ID)
		if err != nil || ev.ETag == "" || ev.Sequence != 2 {
			t.Fatalf("stored event %+v %v", ev, err)
		}
	})
}

// TestCalDAVServerDown queues a booking while the server is down: the
// write is retried, not lost, and lands once the server is back.
func TestCalDAVServerDown(t *testing.T) {
	davtest.Servers(t, func(t *testing.T, srv *davtest.CalDAV) {
		ctx := context.Background()
		s := newCalDAVSetup(t, srv)
		srv.Stop()
		uid := "d0wn5e1f0c@northwind.test"
		b := s.book(t, time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC), uid)
		mustDrain(t, s.worker)
		rows, err := s.st.ListMail(ctx, leads.MailFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var row leads.OutboxMessage
		for _, r := range rows {
			if r.Kind == KindCalDAV {
				row = r
			}
		}
		if row.Status != leads.OutboxQueued || row.Attempts != 1 || row.LastError == "" {
			t.Fatalf("with the server down: %+v", row)
		}
		srv.Start()
		s.clock.Advance(time.Minute) // past the backoff
		mustDrain(t, s.worker)
		if got, _ := s.st.FindMail(ctx, row.ID); got.Status != leads.OutboxSent {
			t.Fatalf("after the server came back: %+v", got)
		}
		if seq, cancelled, _ := event(t, srv, uid); seq != 0 || cancelled {
			t.Fatalf("event seq %d cancelled %v", seq, cancelled)
		}
		if _, err := s.st.FindCalDAVEvent(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// icalcheckObject runs icalcheck on a calendar object as the server
// holds it. A CalDAV object must carry no METHOD (RFC 4791 §4.1), while
// icalcheck, made for invitations, wants one: the copy checked gets
// METHOD:PUBLISH, what a feed of the same events says, and every other
// check applies as it is.
func icalcheckObject(t *testing.T, name, body string) {
	t.Helper()
	if strings.Contains(body, "METHOD:") {
		t.Fatalf("%s: a CalDAV object carries a METHOD:\n%s", name, body)
	}
	icalcheck(t, name, []byte(strings.Replace(body, "BEGIN:VEVENT", "METHOD:PUBLISH\r\nBEGIN:VEVENT", 1)))
}
