package calendar

import "time"

// Window is the span whose bookings and busy times decide whether slots
// starting in [from, to) are open: widened by the buffer and a slot for
// overlaps and, when there is a daily cap, to the whole local days (in
// Location) that from and to fall on, whose bookings all count.
func (r Rules) Window(from, to time.Time) (time.Time, time.Time) {
	loc := r.loc()
	pad := r.Buffer + r.slot() + time.Minute
	wf, wt := from.Add(-pad), to.Add(pad)
	if r.DailyCap > 0 {
		if d := DateOf(from.In(loc)).In(loc); d.Before(wf) {
			wf = d
		}
		if d := DateOf(to.In(loc)).AddDays(1).In(loc); d.After(wt) {
			wt = d
		}
	}
	return wf, wt
}

// HorizonEnd is the end of the last bookable local day at now: the
// midnight after today (in Location) plus HorizonDays.
func (r Rules) HorizonEnd(now time.Time) time.Time {
	loc := r.loc()
	return DateOf(now.In(loc)).AddDays(r.HorizonDays + 1).In(loc)
}

// ValidUntil is when a list of slots computed at now (sorted, as Slots
// returns them) may change by the clock alone: when its first slot falls
// inside the minimum notice, or at the next local midnight, when a new day
// enters the horizon.
func (r Rules) ValidUntil(now time.Time, slots []Slot) time.Time {
	loc := r.loc()
	until := DateOf(now.In(loc)).AddDays(1).In(loc)
	if len(slots) > 0 {
		if t := slots[0].Start.Add(-r.MinNotice); t.Before(until) {
			until = t
		}
	}
	return until
}

// End is the end of a slot starting at start.
func (r Rules) End(start time.Time) time.Time { return start.Add(r.slot()) }
