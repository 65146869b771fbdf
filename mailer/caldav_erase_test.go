package mailer

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"leadbook/calendar/davtest"
	"leadbook/leads"
)

// eraseMidWrite is the store as CalDAV sees it, but the person is erased
// between the read of one booking and its write: the race of a write in
// flight with an erasure.
type eraseMidWrite struct {
	*leads.Store
	bookingID int64
	erase     func()
	once      sync.Once
}

func (e *eraseMidWrite) FindBooking(ctx context.Context, id int64) (*leads.Booking, error) {
	b, err := e.Store.FindBooking(ctx, id)
	if id == e.bookingID {
		e.once.Do(e.erase)
	}
	return b, err
}

// TestCalDAVErasureDeletesEvents books two calls for one person in
// Radicale and Xandikos: the first is written, then changed there by
// another client (its ETag moves); the second's write is in flight when
// the person is erased, and the erasure's deletions are delivered (by
// another instance) before that write lands. After the erasure's deliveries both objects are
// gone from the server, another person's stays, and the erasure is done.
func TestCalDAVErasureDeletesEvents(t *testing.T) {
	davtest.Servers(t, func(t *testing.T, srv *davtest.CalDAV) {
		ctx := context.Background()
		s := newCalDAVSetup(t, srv)
		first, second, other := "e1a5e1f0c2@northwind.test", "e2a5e1f0c2@northwind.test", "07e5e1f0c2@northwind.test"
		s.book(t, time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC), first)
		ob, _, err := s.st.CreateBooking(ctx, &leads.NewBooking{
			Lead:  leads.Lead{Name: "Olga Other", Email: "olga@example.com", ConsentVersion: "v1"},
			Start: time.Date(2026, 3, 10, 16, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 10, 16, 30, 0, 0, time.UTC), Timezone: "UTC",
			UID: other, TokenHash: "hash-" + other, WindowFrom: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), WindowTo: time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC),
		}, nil, s.compose(ChangeCreated))
		if err != nil {
			t.Fatal(err)
		}
		mustDrain(t, s.worker)
		body := srv.Get(t, first+".ics").Body
		srv.Put(t, first+".ics", strings.Replace(body, "SUMMARY:", "SUMMARY:Prep! ", 1))

		b2 := s.book(t, time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC), second)
		var er *leads.Erasure
		dav := s.worker.Deliverers[KindCalDAV].(*CalDAV)
		// Another instance delivers the erasure's deletions at once,
		// before the write in flight lands.
		other2, _ := newWorker(t, s.st, &fakeSender{}, s.clock)
		other2.Deliverers = map[string]Deliverer{leads.KindCalDAVDelete: &CalDAV{Calendar: s.cal, Store: s.st, Composer: s.comp, CEO: s.ceo}}
		dav.Store = &eraseMidWrite{Store: s.st, bookingID: b2.ID, erase: func() {
			var err error
			if er, err = s.st.EraseEmail(ctx, "ada@example.com", leads.Actor{Kind: "staff", ID: 1}, s.compose(ChangeCancelled)); err != nil {
				t.Error(err)
			}
			if err := other2.Drain(ctx); err != nil {
				t.Error(err)
			}
			if resp := srv.Get(t, first+".ics"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s after the erasure's deletions: %s", first, resp.Status)
			}
		}}
		s.worker.Deliverers[leads.KindCalDAVDelete] = dav
		// The erasure deleted the rows in flight: marking them finds
		// nothing, which the worker reports and goes on.
		if err := s.worker.Drain(ctx); err != nil && leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatal(err)
		}
		mustDrain(t, s.worker)
		if er == nil || er.Counts.CalendarDeletes != 2 {
			t.Fatalf("erasure %+v", er)
		}
		mustDrain(t, s.worker) // the deletion the late write queued
		for _, uid := range []string{first, second} {
			if resp := srv.Get(t, uid+".ics"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s after the erasure: %s\n%s", uid, resp.Status, resp.Body)
			}
		}
		if seq, cancelled, _ := event(t, srv, other); seq != 0 || cancelled {
			t.Errorf("another person's event: seq %d cancelled %v", seq, cancelled)
		}
		if _, err := s.st.FindCalDAVEvent(ctx, ob.ID); err != nil {
			t.Errorf("another person's event record: %v", err)
		}
		rows, _ := s.st.ListMail(ctx, leads.MailFilter{Limit: 1000})
		for _, r := range rows {
			if r.Kind == leads.KindCalDAVDelete && r.Status != leads.OutboxSent {
				t.Errorf("deletion %s: %s %s", r.Payload, r.Status, r.LastError)
			}
		}
		if n, err := s.st.FinishErasures(ctx); err != nil || n != 1 {
			t.Errorf("finish: %d %v", n, err)
		}
	})
}
