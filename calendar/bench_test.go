package calendar

import (
	"testing"
	"time"
)

// BenchmarkSlots14Days is /api/slots for 14 days: Berlin hours with a lunch
// break, a 15-minute buffer, a busy set of 5,000 intervals (expanded events
// across the CEO's calendars, sorted, unmerged) and 20 bookings.
func BenchmarkSlots14Days(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	hours, err := ParseHours("mon-thu 09:00-12:00,13:00-17:00; fri 09:00-12:00")
	if err != nil {
		b.Fatal(err)
	}
	r := Rules{Location: loc, Hours: hours, Slot: 30 * time.Minute, Buffer: 15 * time.Minute, MinNotice: 12 * time.Hour, HorizonDays: 30, DailyCap: 6}
	now := time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)
	// 5,000 busy intervals over 14 months around the window (about 12 a
	// day): 20 to 50 minute meetings at scattered times.
	busy := make([]Interval, 0, 5000)
	start := now.Add(-180 * 24 * time.Hour)
	for i := range 5000 {
		s := start.Add(time.Duration(i) * 2 * time.Hour).Add(time.Duration(i%7) * 5 * time.Minute)
		busy = append(busy, Interval{s, s.Add(time.Duration(20+i%4*10) * time.Minute)})
	}
	booked := make([]Interval, 0, 20)
	for i := range 20 {
		s := time.Date(2026, 3, 23+i/2, 9+(i%2)*4, 0, 0, 0, loc)
		booked = append(booked, Interval{s, s.Add(30 * time.Minute)})
	}
	from, to := now, now.Add(14*24*time.Hour)
	// "all": the whole set, as ParseBusy of a year would give; "window":
	// the part overlapping the 14 days, as Feeds.Busy(from, to) returns.
	var inWindow []Interval
	for _, x := range busy {
		if x.End.After(from) && x.Start.Before(to) {
			inWindow = append(inWindow, x)
		}
	}
	for _, bc := range []struct {
		name string
		busy []Interval
	}{{"all", busy}, {"window", inWindow}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				n = len(r.Slots(now, from, to, bc.busy, booked))
			}
			b.ReportMetric(float64(n), "slots")
			b.ReportMetric(float64(len(bc.busy)), "busy")
		})
	}
}
