package leads_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// These tests run several Store values on one database, as several
// instances of leadbook do: each promise must hold because of what the
// database does, not because one process orders its own writes. On SQLite
// the stores are separate connections to one file.

const instances = 3

func openInstances(t *testing.T, db string, c *clock) []*leads.Store {
	t.Helper()
	stores := make([]*leads.Store, instances)
	for i := range stores {
		stores[i], _ = openStore(t, db, c)
	}
	return stores
}

// all runs f n times at once, the i-th on store i%instances, and waits.
func all(stores []*leads.Store, n int, f func(i int, s *leads.Store)) {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i, stores[i%len(stores)])
		}()
	}
	close(start)
	wg.Wait()
}

// rules is a booking check with a buffer between calls and a daily cap,
// the rules whose checks read rows that a concurrent booking is writing.
func rules(start, end time.Time, buffer time.Duration, dailyCap int) leads.BookingCheck {
	return func(live []leads.Booking) error {
		day := 0
		for _, b := range live {
			if b.Start.Before(end.Add(buffer)) && start.Before(b.End.Add(buffer)) {
				return leads.ErrSlotTaken
			}
			if b.Start.Truncate(24 * time.Hour).Equal(start.Truncate(24 * time.Hour)) {
				day++
			}
		}
		if dailyCap > 0 && day >= dailyCap {
			return leads.Errorf(leads.ECONFLICT, "No more calls that day.")
		}
		return nil
	}
}

func countOK(t *testing.T, errs []error) int {
	t.Helper()
	ok := 0
	for _, err := range errs {
		switch leads.ErrorCode(err) {
		case "":
			ok++
		case leads.ECONFLICT:
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	return ok
}

func TestRaceOneSlotAcrossInstances(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
		errs := make([]error, 20)
		all(stores, 20, func(i int, s *leads.Store) {
			nb := newBooking(start, fmt.Sprintf("v%d@example.com", i), fmt.Sprintf("uid-%d", i))
			_, _, errs[i] = s.CreateBooking(ctx, nb, rules(nb.Start, nb.End, 0, 0), bookingMail)
		})
		if ok := countOK(t, errs); ok != 1 {
			t.Fatalf("%d bookings of one slot succeeded on %d instances, want 1", ok, instances)
		}
	})
}

// TestRaceOverlapBufferAndDailyCap books slots that do not share a start
// (so no unique index can tell them apart) but overlap, sit inside each
// other's buffer, or exceed the day's cap: only the rules, checked under
// the calendar's lock, can refuse them.
func TestRaceOverlapBufferAndDailyCap(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		day := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)

		// Overlapping: 10:00, 10:05, ... 10:25, 30 minutes each.
		errs := make([]error, 6)
		all(stores, len(errs), func(i int, s *leads.Store) {
			nb := newBooking(day.Add(10*time.Hour+time.Duration(i)*5*time.Minute), fmt.Sprintf("o%d@example.com", i), fmt.Sprintf("o-%d", i))
			_, _, errs[i] = s.CreateBooking(ctx, nb, rules(nb.Start, nb.End, 0, 0), bookingMail)
		})
		if ok := countOK(t, errs); ok != 1 {
			t.Fatalf("%d of 6 overlapping calls booked, want 1", ok)
		}

		// Buffer of 30 minutes: 13:00 and 13:30 and 14:00 touch; each
		// needs the half hour after the one before it free.
		errs = make([]error, 2)
		all(stores, len(errs), func(i int, s *leads.Store) {
			nb := newBooking(day.Add(13*time.Hour+time.Duration(i)*30*time.Minute), fmt.Sprintf("b%d@example.com", i), fmt.Sprintf("b-%d", i))
			_, _, errs[i] = s.CreateBooking(ctx, nb, rules(nb.Start, nb.End, 30*time.Minute, 0), bookingMail)
		})
		if ok := countOK(t, errs); ok != 1 {
			t.Fatalf("%d of 2 calls within each other's buffer booked, want 1", ok)
		}

		// Daily cap of 3 on another day, 20 separate slots.
		capDay := day.Add(24 * time.Hour)
		errs = make([]error, 20)
		all(stores, len(errs), func(i int, s *leads.Store) {
			nb := newBooking(capDay.Add(8*time.Hour+time.Duration(i)*30*time.Minute), fmt.Sprintf("c%d@example.com", i), fmt.Sprintf("c-%d", i))
			_, _, errs[i] = s.CreateBooking(ctx, nb, rules(nb.Start, nb.End, 0, 3), bookingMail)
		})
		if ok := countOK(t, errs); ok != 3 {
			t.Fatalf("%d calls booked on a day capped at 3", ok)
		}
	})
}

// TestRaceOutboxWorkers drains one outbox with a worker loop per
// instance: every message is claimed once. Half the loops mark their
// claims one by one, half all at once (MarkMailSentAll). Then the leases
// run out as they are taken (a lease of zero), so claims of one message
// overlap: the fence lets exactly one mark of each message through, and
// reports the others stale.
func TestRaceOutboxWorkers(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		const n = 150
		queueN := func(prefix string) {
			var msgs []leads.OutboxMessage
			for i := range n {
				msgs = append(msgs, leads.OutboxMessage{Kind: "k", Recipient: "r@x.io", MessageID: fmt.Sprintf("<%s%d@x>", prefix, i), Payload: []byte("{}")})
			}
			if err := stores[0].QueueMail(ctx, msgs...); err != nil {
				t.Fatal(err)
			}
		}
		// drain runs the worker loops and returns how many times each
		// message was claimed and marked sent.
		drain := func(lease time.Duration) (claims, marks map[int64]int) {
			var mu sync.Mutex
			claims, marks = map[int64]int{}, map[int64]int{}
			all(stores, 6, func(i int, s *leads.Store) {
				for {
					got, err := s.ClaimMail(ctx, lease, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					var (
						batch  []leads.MailClaim
						marked []int64
					)
					for _, m := range got {
						batch = append(batch, leads.MailClaim{ID: m.ID, Attempt: m.Attempts})
						if i%2 == 1 {
							if err := s.MarkMailSent(ctx, m.ID, m.Attempts); err == nil {
								marked = append(marked, m.ID)
							} else if lease > 0 || leads.ErrorCode(err) != leads.ENOTFOUND {
								t.Error(err)
							}
						}
					}
					if i%2 == 0 {
						stale, err := s.MarkMailSentAll(ctx, batch)
						if err != nil {
							t.Error(err)
							return
						}
						if lease > 0 && len(stale) > 0 {
							t.Errorf("claims %v reported stale under a lease", stale)
						}
						for _, c := range batch {
							if !slices.Contains(stale, c.ID) {
								marked = append(marked, c.ID)
							}
						}
					}
					mu.Lock()
					for _, m := range got {
						claims[m.ID]++
					}
					for _, id := range marked {
						marks[id]++
					}
					mu.Unlock()
				}
			})
			return claims, marks
		}

		queueN("a")
		claims, marks := drain(time.Minute)
		if len(claims) != n || len(marks) != n {
			t.Fatalf("%d of %d messages claimed, %d marked", len(claims), n, len(marks))
		}
		for id, k := range claims {
			if k != 1 || marks[id] != 1 {
				t.Fatalf("message %d claimed %d times, marked %d times", id, k, marks[id])
			}
		}
		if st, err := stores[1].MailStats(ctx); err != nil || st.Sent != n {
			t.Fatalf("stats %+v err %v", st, err)
		}

		queueN("b")
		claims, marks = drain(0)
		if len(claims) != n || len(marks) != n {
			t.Fatalf("overlapping claims: %d of %d messages claimed, %d marked", len(claims), n, len(marks))
		}
		for id, k := range marks {
			if k != 1 {
				t.Fatalf("message %d marked sent %d times (claimed %d times)", id, k, claims[id])
			}
		}
		if st, err := stores[1].MailStats(ctx); err != nil || st.Sent != 2*n || st.Queued != 0 {
			t.Fatalf("stats %+v err %v", st, err)
		}
	})
}

func TestRaceAuditAppends(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		all(stores, 60, func(i int, s *leads.Store) {
			if err := s.Audit(ctx, leads.Actor{Kind: "staff", ID: int64(i%instances + 1)}, leads.AuditExport, "", fmt.Sprintf(`{"rows":%d}`, i)); err != nil {
				t.Error(err)
			}
		})
		n, err := stores[2].VerifyAudit(ctx)
		if err != nil || n != 60 {
			t.Fatalf("verify after concurrent appends: %d entries, %v", n, err)
		}
	})
}

func TestRaceIdempotencyKey(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		ids := make([]int64, 10)
		created := make([]bool, 10)
		errs := make([]error, 10)
		all(stores, 10, func(i int, s *leads.Store) {
			l := validLead()
			l.IdemKey = "retried-post"
			created[i], errs[i] = s.CreateLead(ctx, l, fixed(leads.OutboxMessage{Kind: "k", Recipient: "r@x.io",
				MessageID: fmt.Sprintf("<idem-%d@x>", i), Payload: []byte("{}")}))
			ids[i] = l.ID
		})
		made := 0
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] || ids[i] == 0 {
				t.Fatalf("post %d: id %d (first %d) err %v", i, ids[i], ids[0], errs[i])
			}
			if created[i] {
				made++
			}
		}
		if n, _ := stores[0].CountLeads(ctx); n != 1 || made != 1 {
			t.Fatalf("%d leads, %d answers said created; want 1 and 1", n, made)
		}
		if st, _ := stores[0].MailStats(ctx); st.Queued != 1 {
			t.Fatalf("%d mails queued, want the first post's 1", st.Queued)
		}
	})
}

func TestRaceJobTurns(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		stores := openInstances(t, db, c)
		var got atomic.Int32
		all(stores, 9, func(i int, s *leads.Store) {
			ok, err := s.TakeTurn(ctx, "retention", fmt.Sprintf("instance-%d", i), time.Hour)
			if err != nil {
				t.Error(err)
			}
			if ok {
				got.Add(1)
			}
		})
		if got.Load() != 1 {
			t.Fatalf("%d instances got the turn, want 1", got.Load())
		}
		if ok, _ := stores[1].TakeTurn(ctx, "retention", "instance-1", time.Hour); ok {
			t.Fatal("a turn was given again within its interval")
		}
		c.Add(time.Hour)
		if ok, err := stores[1].TakeTurn(ctx, "retention", "instance-1", time.Hour); !ok || err != nil {
			t.Fatalf("no turn after the interval: %v", err)
		}
	})
}

// TestBookingsVersionAcrossInstances books on one instance and watches
// another's version change: the slot caches key on it.
func TestBookingsVersionAcrossInstances(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		before := stores[1].BookingsVersion()
		nb := newBooking(time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC), "x@example.com", "v-1")
		if _, _, err := stores[0].CreateBooking(ctx, nb, nil, nil); err != nil {
			t.Fatal(err)
		}
		if stores[0].BookingsVersion() == before {
			t.Fatal("the booking instance's own version did not change at once")
		}
		// Not a timing assertion: the other instance must see the change
		// eventually; the deadline only stops a broken test from hanging.
		deadline := time.Now().Add(30 * time.Second)
		for stores[1].BookingsVersion() == before {
			if time.Now().After(deadline) {
				t.Fatal("another instance never saw the booking's version")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestRaceSharedHits counts one client's hits from every instance at once:
// the window's count is the sum, so three instances do not triple a limit.
func TestRaceSharedHits(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		stores := openInstances(t, db, c)
		var mu sync.Mutex
		seen := map[int]bool{}
		all(stores, 30, func(i int, s *leads.Store) {
			n, reset, err := s.CountHit(ctx, "client-a", time.Minute)
			if err != nil || reset <= 0 || reset > time.Minute {
				t.Errorf("hit %d: n %d reset %v err %v", i, n, reset, err)
			}
			mu.Lock()
			seen[n] = true
			mu.Unlock()
		})
		for n := 1; n <= 30; n++ {
			if !seen[n] {
				t.Fatalf("no hit was counted as number %d: counts %v", n, seen)
			}
		}
		if n, _, _ := stores[0].CountHit(ctx, "client-b", time.Minute); n != 1 {
			t.Fatalf("another client starts at %d", n)
		}
		c.Add(time.Minute)
		if n, _, _ := stores[1].CountHit(ctx, "client-a", time.Minute); n != 1 {
			t.Fatalf("the next window starts at %d", n)
		}
		if n, err := stores[2].PruneHits(ctx, c.Now().Truncate(time.Minute)); err != nil || n != 2 {
			t.Fatalf("pruned %d windows (%v), want the old two", n, err)
		}
	})
}

// TestDatabaseRefusesOverlap books overlapping calls with no rule check at
// all: the database itself refuses the second, on PostgreSQL by its
// exclusion constraint (a unique start alone would let 10:15 beside
// 10:00 through), and the error reads "slot taken".
func TestDatabaseRefusesOverlap(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		at := time.Date(2026, 3, 13, 10, 0, 0, 0, time.UTC)
		if _, _, err := s.CreateBooking(ctx, newBooking(at, "a@example.com", "ov-1"), nil, nil); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.CreateBooking(ctx, newBooking(at, "b@example.com", "ov-2"), nil, nil)
		if err != leads.ErrSlotTaken {
			t.Fatalf("same start: %v, want ErrSlotTaken", err)
		}
		if !leadstest.IsPostgres(db) {
			return // SQLite's last line is the unique start; the rules cover overlaps
		}
		_, _, err = s.CreateBooking(ctx, newBooking(at.Add(15*time.Minute), "c@example.com", "ov-3"), nil, nil)
		if err != leads.ErrSlotTaken {
			t.Fatalf("overlapping start: %v, want ErrSlotTaken", err)
		}
	})
}

// TestRaceFinishErasures finishes one erasure from three instances at
// once, after its cancellation went out: it is done once, with one audit
// entry, however many instances ran the job.
func TestRaceFinishErasures(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		stores := openInstances(t, db, c)
		nb := newBooking(c.Now().Add(72*time.Hour), "gone@example.com", "uid-gone")
		if _, _, err := stores[0].CreateBooking(ctx, nb, nil, bookingMail); err != nil {
			t.Fatal(err)
		}
		er, err := stores[0].EraseEmail(ctx, "gone@example.com", leads.Actor{Kind: "staff", ID: 1}, bookingMail)
		if err != nil || er.Status != "pending" || er.Counts.Cancellations == 0 {
			t.Fatalf("erasure %+v err %v: want one pending with its cancellation queued", er, err)
		}
		// The cancellation is delivered.
		msgs, err := stores[1].ClaimMail(ctx, time.Minute, 10)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("claim: %d %v", len(msgs), err)
		}
		for _, m := range msgs {
			if err := stores[1].MarkMailSent(ctx, m.ID, m.Attempts); err != nil {
				t.Fatal(err)
			}
		}
		done := make([]int, 6)
		all(stores, len(done), func(i int, s *leads.Store) {
			n, err := s.FinishErasures(ctx)
			if err != nil {
				t.Error(err)
			}
			done[i] = n
		})
		total := 0
		for _, n := range done {
			total += n
		}
		if total != 1 {
			t.Fatalf("the erasure was finished %d times over %d calls (%v), want once", total, len(done), done)
		}
		entries, err := stores[2].ListAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		finished := 0
		for _, e := range entries {
			if e.Action == leads.AuditErasureDone {
				finished++
			}
		}
		if finished != 1 {
			t.Fatalf("%d erasure_done entries in the audit log, want 1", finished)
		}
		if _, err := stores[0].VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRaceBookingIdempotencyKey retries one booking request ten times at
// once over three instances: one booking, and every retry gets it.
func TestRaceBookingIdempotencyKey(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		start := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
		ids := make([]int64, 10)
		errs := make([]error, 10)
		all(stores, 10, func(i int, s *leads.Store) {
			nb := newBooking(start, "retry@example.com", fmt.Sprintf("uid-retry-%d", i))
			nb.IdemKey = "one-request"
			b, _, err := s.CreateBooking(ctx, nb, rules(nb.Start, nb.End, 0, 0), bookingMail)
			if err == nil {
				ids[i] = b.ID
			}
			errs[i] = err
		})
		for i := range ids {
			if errs[i] != nil || ids[i] == 0 || ids[i] != ids[0] {
				t.Fatalf("retry %d: booking %d (first %d), err %v", i, ids[i], ids[0], errs[i])
			}
		}
		live, err := stores[0].LiveBookings(ctx, start, start.Add(time.Hour))
		if err != nil || len(live) != 1 {
			t.Fatalf("%d live bookings (%v), want 1", len(live), err)
		}
	})
}

// TestBookingsVersionAfterHoldRelease releases an expired hold on one
// instance, then books on another: the first instance's version must still
// change. (A local count raised on the release ran ahead of the database's
// version, and hid the other instance's booking from this cache.)
func TestBookingsVersionAfterHoldRelease(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		stores := openInstances(t, db, c)
		nb := newBooking(c.Now().Add(48*time.Hour), "held@example.com", "uid-held-v")
		nb.HoldUntil = c.Now().Add(30 * time.Minute)
		if _, _, err := stores[0].CreateBooking(ctx, nb, nil, nil); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
		if n, err := stores[0].ReleaseExpiredHolds(ctx); err != nil || n != 1 {
			t.Fatalf("released %d holds (%v), want 1", n, err)
		}
		after := stores[0].BookingsVersion()
		if _, _, err := stores[1].CreateBooking(ctx, newBooking(c.Now().Add(72*time.Hour), "other@example.com", "uid-other-v"), nil, nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for stores[0].BookingsVersion() == after {
			if time.Now().After(deadline) {
				t.Fatal("the instance that released a hold never saw another instance's booking")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestRaceLeadsGathered submits leads at once on one store, where
// PostgreSQL's store writes the waiting ones together: every lead is
// stored once with its own messages, a composer's failure fails only its
// own lead, and a key given twice in one burst makes one lead.
func TestRaceLeadsGathered(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		const n = 40
		errs := make([]error, n)
		created := make([]bool, n)
		got := make([]leads.Lead, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				l := &leads.Lead{Name: fmt.Sprintf("Burst %d", i), Email: fmt.Sprintf("burst%d@example.com", i),
					Message: "hello", Source: leads.SourceContact, ConsentVersion: "v1"}
				if i%10 == 0 {
					l.IdemKey = "burst-key"
				}
				compose := func(l *leads.Lead) ([]leads.OutboxMessage, error) {
					if i == 7 {
						return nil, errors.New("no template")
					}
					return []leads.OutboxMessage{{Kind: "lead_confirmation", Recipient: l.Email,
						MessageID: fmt.Sprintf("<burst-%d-%d@test>", i, l.ID), Payload: []byte("{}")}}, nil
				}
				created[i], errs[i] = s.CreateLead(ctx, l, compose)
				got[i] = *l
			})
		}
		wg.Wait()
		keyed := 0
		for i := range n {
			switch {
			case i == 7:
				if errs[i] == nil {
					t.Errorf("lead 7: no error from its failing composer")
				}
			case errs[i] != nil:
				t.Errorf("lead %d: %v", i, errs[i])
			case i%10 == 0:
				if created[i] {
					keyed++
				}
				if got[i].ID != got[0].ID {
					t.Errorf("lead %d with the shared key has id %d, lead 0 has %d", i, got[i].ID, got[0].ID)
				}
			case !created[i] || got[i].ID == 0:
				t.Errorf("lead %d: created %v, id %d", i, created[i], got[i].ID)
			}
		}
		if keyed != 1 {
			t.Errorf("the shared key created %d leads, want 1", keyed)
		}
		if c, err := s.CountLeads(ctx); err != nil || c != n-1-3 {
			t.Errorf("%d leads stored (%v), want %d", c, err, n-1-3)
		}
		msgs, err := s.ListMail(ctx, leads.MailFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != n-1-3 {
			t.Errorf("%d messages queued, want one per stored lead (%d)", len(msgs), n-1-3)
		}
		for _, m := range msgs {
			if !strings.Contains(m.MessageID, fmt.Sprintf("-%d@", m.LeadID)) {
				t.Errorf("message %s belongs to lead %d, composed for another", m.MessageID, m.LeadID)
			}
		}
	})
}

// TestRaceBookingsGathered makes bursts of bookings at once on one store,
// as a busy instance does: on PostgreSQL they are written in batches that
// take the calendar's lock once (bookbatch.go). Each booking must get the
// answer it would have had alone: refused when its slot is taken, when it
// sits in another's buffer or over its address's limit, and when its day
// is full; stored with its own lead and mail otherwise.
func TestRaceBookingsGathered(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s, _ := openStore(t, db, newClock())
		day := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)
		type want struct {
			nb    *leads.NewBooking
			check leads.BookingCheck
		}
		var reqs []want
		// 30 separate calls, one a day at 09:00 (no rule refuses them),
		// from two articles: each counts as a booking of its article.
		for i := range 30 {
			nb := newBooking(day.Add(time.Duration(i)*24*time.Hour+9*time.Hour), fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("p-%d", i))
			nb.Lead.Attribution = leads.Attribution{Article: []string{"cto-vs-cio", "soa"}[i%2], LandingPage: "/"}
			reqs = append(reqs, want{nb, rules(nb.Start, nb.End, 0, 0)})
		}
		const plain = 30
		// Two for the same slot on the 31st day: one booked.
		for i := range 2 {
			nb := newBooking(day.Add(30*24*time.Hour+9*time.Hour), fmt.Sprintf("s%d@example.com", i), fmt.Sprintf("s-%d", i))
			reqs = append(reqs, want{nb, rules(nb.Start, nb.End, 0, 0)})
		}
		// Two in each other's 30-minute buffer on the 32nd day: one booked.
		for i := range 2 {
			nb := newBooking(day.Add(31*24*time.Hour+9*time.Hour+time.Duration(i)*45*time.Minute), fmt.Sprintf("b%d@example.com", i), fmt.Sprintf("b-%d", i))
			reqs = append(reqs, want{nb, rules(nb.Start, nb.End, 30*time.Minute, 0)})
		}
		// Two by one address allowed one call to come, on days 33 and 34:
		// one booked.
		for i := range 2 {
			nb := newBooking(day.Add(time.Duration(32+i)*24*time.Hour+9*time.Hour), "once@example.com", fmt.Sprintf("o-%d", i))
			nb.Limits.UpcomingPerEmail = 1
			reqs = append(reqs, want{nb, rules(nb.Start, nb.End, 0, 0)})
		}
		// Four on day 35, capped at two a day: two booked.
		for i := range 4 {
			nb := newBooking(day.Add(34*24*time.Hour+9*time.Hour+time.Duration(i)*time.Hour), fmt.Sprintf("c%d@example.com", i), fmt.Sprintf("c-%d", i))
			reqs = append(reqs, want{nb, rules(nb.Start, nb.End, 0, 2)})
		}
		// Two by one address that no limit holds back, on days 36 and 37:
		// both booked, the second refreshing the lead the first made.
		const twice = 40
		for i := range 2 {
			nb := newBooking(day.Add(time.Duration(35+i)*24*time.Hour+9*time.Hour), "twice@example.com", fmt.Sprintf("t-%d", i))
			reqs = append(reqs, want{nb, rules(nb.Start, nb.End, 0, 0)})
		}

		// The first caller has left their details before: their booking
		// refreshes that lead rather than making another.
		known := &leads.Lead{Name: "Known", Email: "p0@example.com", Company: "Old Co", Source: leads.SourceContact, ConsentVersion: "v1"}
		if _, err := s.CreateLead(ctx, known, nil); err != nil {
			t.Fatal(err)
		}
		// An endpoint for each booking made: a batch reads the endpoints
		// once for all its bookings.
		if _, _, err := s.AddWebhook(ctx, "https://hooks.example.com/b", []string{leads.EventBookingCreated}, leads.ActorCLI); err != nil {
			t.Fatal(err)
		}

		errs := make([]error, len(reqs))
		made := make([]*leads.Booking, len(reqs))
		all([]*leads.Store{s}, len(reqs), func(i int, s *leads.Store) {
			made[i], _, errs[i] = s.CreateBooking(ctx, reqs[i].nb, reqs[i].check, bookingMail)
		})
		for i := range plain {
			if errs[i] != nil {
				t.Errorf("call %d, which no rule refuses: %v", i, errs[i])
			}
		}
		for _, g := range []struct {
			name     string
			from, to int
			ok       int
		}{{"same slot", 30, 32, 1}, {"buffer", 32, 34, 1}, {"upcoming per address", 34, 36, 1}, {"daily cap", 36, 40, 2}} {
			if ok := countOK(t, errs[g.from:g.to]); ok != g.ok {
				t.Errorf("%s: %d booked, want %d (%v)", g.name, ok, g.ok, errs[g.from:g.to])
			}
		}
		booked := 0
		for i, b := range made {
			if errs[i] != nil {
				continue
			}
			booked++
			if b.UID != reqs[i].nb.UID || !b.Start.Equal(reqs[i].nb.Start) || b.Email != reqs[i].nb.Lead.Email {
				t.Errorf("call %d answered with another's booking: %s at %v for %s", i, b.UID, b.Start, b.Email)
			}
		}
		if errs[0] == nil && made[0].LeadID != known.ID {
			t.Errorf("the known caller's booking made lead %d, want their lead %d refreshed", made[0].LeadID, known.ID)
		}
		if errs[twice] != nil || errs[twice+1] != nil {
			t.Errorf("one address's two calls: %v, %v", errs[twice], errs[twice+1])
		} else if a, b := made[twice].LeadID, made[twice+1].LeadID; a != b {
			t.Errorf("one address's two bookings made leads %d and %d, want one", a, b)
		}
		msgs, err := s.ListMail(ctx, leads.MailFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		hooks := map[int64]int{} // booking.created deliveries by booking
		var mail []leads.OutboxMessage
		for _, m := range msgs {
			if m.Kind == leads.KindWebhook {
				hooks[m.BookingID]++
				continue
			}
			mail = append(mail, m)
		}
		if len(mail) != 2*booked {
			t.Errorf("%d messages queued for %d bookings, want two each", len(mail), booked)
		}
		for i, b := range made {
			if errs[i] == nil && hooks[b.ID] != 1 {
				t.Errorf("booking %d has %d booking.created deliveries, want 1", b.ID, hooks[b.ID])
			}
		}
		if len(hooks) != booked {
			t.Errorf("booking.created deliveries for %d bookings, want the %d made", len(hooks), booked)
		}
		for _, m := range mail {
			found := false
			for i, b := range made {
				if errs[i] == nil && b.ID == m.BookingID && strings.Contains(m.MessageID, "-"+b.UID+"-") {
					found = true
				}
			}
			if !found {
				t.Errorf("message %s (booking %d) belongs to no booking that was made", m.MessageID, m.BookingID)
			}
		}
		c := newClock()
		stats, err := s.ArticleStats(ctx, c.Now().Add(-48*time.Hour), c.Now().Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if stats.Total.Bookings != plain || len(stats.Articles) != 2 || stats.Articles[0].Bookings != plain/2 {
			t.Errorf("article counts %+v, want %d bookings, half from each of two articles", stats.Articles, plain)
		}
		if s.Engine() == "postgres" && leads.BatchedBookings(s) == 0 {
			t.Errorf("no booking was written in a batch: the test did not reach the batch path")
		}
		t.Logf("%s: %d of %d bookings written in batches", s.Engine(), leads.BatchedBookings(s), booked)
	})
}

// TestRaceSpamReleaseAndBooking releases held booking requests while the
// same visitors book another call on other instances at the same moment,
// each visitor new to the site: each ends with one lead, both calls
// hanging from it. The release used to take the calendar's lock alone,
// so its lookup of the visitor's lead and a booking's could both find
// none and each insert one.
func TestRaceSpamReleaseAndBooking(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		day := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
		const visitors = 12
		for v := range visitors {
			email := fmt.Sprintf("held%d@example.com", v)
			sp := &leads.Spam{Form: "booking", Reason: "too fast", Email: email, Payload: []byte(`{"email":"` + email + `"}`)}
			if err := stores[0].HoldSpam(ctx, sp); err != nil {
				t.Fatal(err)
			}
			at := day.Add(time.Duration(v) * 24 * time.Hour)
			errs := make([]error, 2)
			all(stores[1:], 2, func(i int, s *leads.Store) {
				nb := newBooking(at.Add(time.Duration(i)*2*time.Hour), email, fmt.Sprintf("held-%d-%d", v, i))
				if i == 0 {
					_, errs[i] = s.ReleaseSpamBooking(ctx, sp.ID, nb, noOverlap(nb.Start, nb.End), bookingMail, nil, leads.ActorCLI)
				} else {
					_, _, errs[i] = s.CreateBooking(ctx, nb, noOverlap(nb.Start, nb.End), bookingMail)
				}
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("visitor %d, call %d: %v", v, i, err)
				}
			}
			p, err := stores[0].FindPerson(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Leads) != 1 || len(p.Bookings) != 2 {
				t.Errorf("visitor %d: %d leads and %d calls, want 1 and 2", v, len(p.Leads), len(p.Bookings))
			}
		}
	})
}
