package calendar

import (
	"testing"
	"time"
)

func TestRulesWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	base := Rules{Location: berlin, Slot: 30 * time.Minute, Buffer: 15 * time.Minute}
	capped := base
	capped.DailyCap = 2
	for _, tc := range []struct {
		name         string
		r            Rules
		from, to     string
		wantF, wantT string
	}{
		{"buffer and a slot each side", base, "2026-03-10T10:00:00Z", "2026-03-10T10:00:00Z", "2026-03-10T09:14:00Z", "2026-03-10T10:46:00Z"},
		{"default slot length", Rules{Location: berlin}, "2026-03-10T10:00:00Z", "2026-03-11T10:00:00Z", "2026-03-10T09:29:00Z", "2026-03-11T10:31:00Z"},
		// Berlin is UTC+1 in March: its day 10 March runs 09T23:00Z..10T23:00Z.
		{"a daily cap widens to the CEO's whole days", capped, "2026-03-10T10:00:00Z", "2026-03-10T10:00:00Z", "2026-03-09T23:00:00Z", "2026-03-10T23:00:00Z"},
		{"the CEO's day, not UTC's; padding before midnight stays", capped, "2026-03-09T23:30:00Z", "2026-03-09T23:30:00Z", "2026-03-09T22:44:00Z", "2026-03-10T23:00:00Z"},
		{"padding past midnight stays", capped, "2026-03-10T22:50:00Z", "2026-03-10T22:50:00Z", "2026-03-09T23:00:00Z", "2026-03-10T23:36:00Z"},
		// 29 March 2026 is the spring-forward day: 23 hours long.
		{"a short day", capped, "2026-03-29T10:00:00Z", "2026-03-29T10:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, to := tc.r.Window(utc(t, tc.from), utc(t, tc.to))
			if !f.Equal(utc(t, tc.wantF)) || !to.Equal(utc(t, tc.wantT)) {
				t.Errorf("Window = %s .. %s, want %s .. %s", f.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), tc.wantF, tc.wantT)
			}
		})
	}
}

func TestRulesWindowHoldsEveryBookingThatDecides(t *testing.T) {
	// Whatever Window leaves out must not change Check's answer: a booking
	// just outside the window, on the same day, blocks nothing and counts
	// for no cap.
	r := Rules{Location: time.UTC, Hours: mustHours(t, "mon-fri 09:00-17:00"), Slot: 30 * time.Minute, Buffer: 10 * time.Minute, HorizonDays: 30, DailyCap: 1}
	now := utc(t, "2026-03-09T06:00:00Z")
	start := utc(t, "2026-03-10T12:00:00Z")
	other := Interval{utc(t, "2026-03-10T09:00:00Z"), utc(t, "2026-03-10T09:30:00Z")}
	wf, wt := r.Window(start, start)
	if !other.Overlaps(Interval{wf, wt}) {
		t.Fatalf("window %s..%s leaves out a booking that fills the day's cap", wf, wt)
	}
	if _, err := r.Check(now, start, nil, []Interval{other}); err == nil {
		t.Fatal("Check offered a slot on a day whose cap is reached")
	}
}

func TestRulesHorizonEnd(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	r := Rules{Location: ny, HorizonDays: 2}
	// 02:00 UTC on the 10th is still the 9th in New York.
	got := r.HorizonEnd(utc(t, "2026-03-10T02:00:00Z"))
	if want := utc(t, "2026-03-12T04:00:00Z"); !got.Equal(want) {
		t.Errorf("HorizonEnd = %s, want %s (midnight after the 11th, New York, EDT)", got.UTC(), want)
	}
}

func TestRulesValidUntil(t *testing.T) {
	r := Rules{Location: time.UTC, MinNotice: 2 * time.Hour}
	now := utc(t, "2026-03-10T08:00:00Z")
	if got, want := r.ValidUntil(now, nil), utc(t, "2026-03-11T00:00:00Z"); !got.Equal(want) {
		t.Errorf("no slots: ValidUntil = %s, want the next midnight %s", got, want)
	}
	slots := []Slot{{utc(t, "2026-03-10T11:00:00Z"), utc(t, "2026-03-10T11:30:00Z")}}
	if got, want := r.ValidUntil(now, slots), utc(t, "2026-03-10T09:00:00Z"); !got.Equal(want) {
		t.Errorf("ValidUntil = %s, want %s, when the first slot falls inside the notice", got, want)
	}
}
