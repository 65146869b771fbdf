package booking_test

import (
	"context"
	"net/mail"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
)

type noBusy struct{}

func (noBusy) Busy(from, to time.Time) []calendar.Interval { return nil }
func (noBusy) Version() uint64                             { return 0 }

// newService is a Service on a fresh SQLite store with the real
// migrations, at Monday 2 March 2026, 09:00 UTC, whose rules are whatever
// rules holds at each call.
func newService(t *testing.T, rules *atomic.Pointer[calendar.Rules]) (*booking.Service, *leads.Store) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) }
	store, err := leads.Open(context.Background(), filepath.Join(t.TempDir(), "leadbook.db"), leads.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	composer, err := mailer.NewComposer(mail.Address{Address: "bookings@example.com"}, mail.Address{Address: "staff@example.com"},
		"https://consult.example", "Northwind")
	if err != nil {
		t.Fatal(err)
	}
	composer.Now = now
	return &booking.Service{
		Rules:   func(context.Context) (calendar.Rules, error) { return *rules.Load(), nil },
		CEO:     calendar.Person{Name: "Dana", Email: "ceo@example.com"},
		BaseURL: "https://consult.example", Store: store, Busy: noBusy{}, Composer: composer, Now: now,
	}, store
}

func TestServiceReadsTheRulesOnEveryCall(t *testing.T) {
	ctx := context.Background()
	hours, err := calendar.ParseHours("mon-fri 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	var rules atomic.Pointer[calendar.Rules]
	rules.Store(&calendar.Rules{Location: time.UTC, Hours: hours, Slot: 30 * time.Minute, HorizonDays: 30})
	svc, _ := newService(t, &rules)
	tuesday := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	open, err := svc.OpenSlots(ctx, tuesday, tuesday.AddDate(0, 0, 1))
	if err != nil || len(open.Slots) != 16 {
		t.Fatalf("Tuesday's slots: %d, %v; want 16 half hours", len(open.Slots), err)
	}
	// The rules change while the service runs: an hour-long slot, and
	// Tuesday closed.
	changed := *rules.Load()
	changed.Slot = time.Hour
	changed.Closed = []calendar.DateRange{{From: calendar.DateOf(tuesday), To: calendar.DateOf(tuesday)}}
	rules.Store(&changed)
	if open, err := svc.OpenSlots(ctx, tuesday, tuesday.AddDate(0, 0, 1)); err != nil || len(open.Slots) != 0 {
		t.Fatalf("Tuesday's slots once closed: %d, %v", len(open.Slots), err)
	}
	token, _ := booking.NewToken()
	lead := &leads.Lead{Name: "Grace Hopper", Email: "grace@example.com", ConsentVersion: "v1"}
	if _, _, err := svc.Create(ctx, booking.Request{Lead: lead, Start: tuesday.Add(10 * time.Hour), Token: token}); err != leads.ErrSlotTaken {
		t.Fatalf("booking a closed day: %v, want ErrSlotTaken", err)
	}
	b, _, err := svc.Create(ctx, booking.Request{Lead: lead, Start: tuesday.Add(34 * time.Hour), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.End.Sub(b.Start); got != time.Hour {
		t.Errorf("the call is %v long, want the new slot length", got)
	}
}

func TestServiceHostActionsRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	hours, _ := calendar.ParseHours("mon-fri 09:00-17:00")
	var rules atomic.Pointer[calendar.Rules]
	rules.Store(&calendar.Rules{Location: time.UTC, Hours: hours, Slot: 30 * time.Minute, HorizonDays: 30})
	svc, store := newService(t, &rules)
	token, _ := booking.NewToken()
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	b, _, err := svc.Create(ctx, booking.Request{Lead: &leads.Lead{Name: "Grace", Email: "grace@example.com", ConsentVersion: "v1"},
		Start: start, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	long := make([]rune, booking.MaxHostMessage+1)
	for i := range long {
		long[i] = 'é'
	}
	if _, err := svc.CancelByHost(ctx, booking.HostCancel{ID: b.ID, Message: string(long)}); leads.ErrorCode(err) != leads.EINVALID {
		t.Errorf("a message over the cap: %v", err)
	}
	if _, err := svc.MoveByHost(ctx, b.ID, time.Time{}, leads.ActorCLI); leads.ErrorCode(err) != leads.EINVALID {
		t.Errorf("a move without a time: %v", err)
	}
	// Saturday is not offered.
	if _, err := svc.MoveByHost(ctx, b.ID, time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC), leads.ActorCLI); err != leads.ErrSlotTaken {
		t.Errorf("a move to a Saturday: %v", err)
	}
	if got, err := store.FindBooking(ctx, b.ID); err != nil || got.Sequence != 0 || got.Status != leads.BookingConfirmed {
		t.Errorf("refused actions changed the booking: %+v, %v", got, err)
	}
	if _, err := svc.Find(ctx, token); err != nil {
		t.Errorf("the manage token: %v", err)
	}
}

// TestServiceBooksWithRoomAnswersAndPhone: a booking the Service makes
// gets a room of its own and keeps the request's answers, the same for a
// hold; when calls are by phone it is refused without a phone number,
// before anything is written.
func TestServiceBooksWithRoomAnswersAndPhone(t *testing.T) {
	ctx := context.Background()
	hours, _ := calendar.ParseHours("mon-fri 09:00-17:00")
	var rules atomic.Pointer[calendar.Rules]
	rules.Store(&calendar.Rules{Location: time.UTC, Hours: hours, Slot: 30 * time.Minute, HorizonDays: 30})
	svc, store := newService(t, &rules)
	answers := []leads.Answer{{ID: "goal", Label: "What is the goal?", Value: "A new CRM"}}
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	var rooms []string
	for i, confirm := range []bool{false, true} {
		svc.ConfirmByEmail = confirm
		token, _ := booking.NewToken()
		b, _, err := svc.Create(ctx, booking.Request{Lead: &leads.Lead{Name: "Grace", Email: "grace@example.com", ConsentVersion: "v1"},
			Start: start.Add(time.Duration(i) * time.Hour), Token: token, Answers: answers})
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.FindBooking(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Room) != 26 || len(got.Answers) != 1 || got.Answers[0] != answers[0] {
			t.Fatalf("confirm by email %v: stored room %q, answers %+v", confirm, got.Room, got.Answers)
		}
		rooms = append(rooms, got.Room)
	}
	if rooms[0] == rooms[1] {
		t.Errorf("two bookings share the room %q", rooms[0])
	}

	svc.ConfirmByEmail = false
	svc.Composer.(*mailer.Composer).Meeting = mailer.Meeting{Phone: true}
	token, _ := booking.NewToken()
	req := booking.Request{Lead: &leads.Lead{Name: "Ada", Email: "ada@example.com", ConsentVersion: "v1"}, Start: start.Add(3 * time.Hour), Token: token}
	if _, _, err := svc.Create(ctx, req); err != booking.ErrPhoneRequired {
		t.Fatalf("by phone without a number: %v, want ErrPhoneRequired", err)
	}
	if live, err := store.LiveBookings(ctx, start, start.Add(24*time.Hour)); err != nil || len(live) != 2 {
		t.Fatalf("after the refusal: %d live bookings, %v; want the 2 from before", len(live), err)
	}
	req.Lead.Phone = "+44 20 7946 0000"
	b, _, err := svc.Create(ctx, req)
	if err != nil {
		t.Fatalf("by phone with a number: %v", err)
	}
	if got, err := store.FindBooking(ctx, b.ID); err != nil || got.Phone != req.Lead.Phone {
		t.Fatalf("the booking's phone: %+v, %v", got, err)
	}
}

// TestServiceWeekCap: the weekly cap per address applies to the
// Service's bookings.
func TestServiceWeekCap(t *testing.T) {
	ctx := context.Background()
	hours, _ := calendar.ParseHours("mon-fri 09:00-17:00")
	var rules atomic.Pointer[calendar.Rules]
	rules.Store(&calendar.Rules{Location: time.UTC, Hours: hours, Slot: 30 * time.Minute, HorizonDays: 30})
	svc, _ := newService(t, &rules)
	svc.Limits = leads.BookingLimits{PerEmailWeek: 1}
	start := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	for i, want := range []error{nil, leads.ErrWeekLimit} {
		token, _ := booking.NewToken()
		_, _, err := svc.Create(ctx, booking.Request{Lead: &leads.Lead{Name: "Grace", Email: "Grace@Example.com", ConsentVersion: "v1"},
			Start: start.Add(time.Duration(i) * time.Hour), Token: token})
		if err != want {
			t.Fatalf("booking %d: %v, want %v", i+1, err, want)
		}
	}
}
