package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// misaligned lists the times of day whose cells do not share a row top
// across the days of the picker in form, as "10:30: 412,468". A cell is
// an open time (its button shows the time), a gap or the current time
// (both carry data-time); a cell that is not shown is not measured.
func misaligned(t *testing.T, tb *tab, form string) []string {
	t.Helper()
	return eval[[]string](tb, fmt.Sprintf(`(() => {
		const rows = {};
		for (const day of document.querySelectorAll(%q)) {
			for (const c of day.querySelectorAll(".slot-list > *")) {
				if (!c.checkVisibility()) continue;
				const lab = c.querySelector("label span");
				const time = c.dataset.time || (lab && lab.textContent);
				(rows[time] = rows[time] || []).push(Math.round(c.getBoundingClientRect().top));
			}
		}
		return Object.entries(rows).filter(([, tops]) => new Set(tops).size > 1).map(([time, tops]) => time + ": " + tops.join(","));
	})()`, form+" .slots-day"))
}

// TestBrowserSlotGridAligned: once a time in the middle of a day is booked,
// the booking page still shows one row a time of day across the week at
// 1440, with an empty cell that is neither a button nor heard by a screen
// reader where the booked time was; at 390 the days stack and list their
// own times. On the move page the call's own time keeps its place, marked
// "Your current time", and cannot be chosen. JavaScript is off throughout.
func TestBrowserSlotGridAligned(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := startSite(t, nil)
	tb := newTab(t, s, tabConfig{NoJS: true})
	const book = `form[action="/book"]`
	tb.open("/book?tz=Europe/Berlin")
	start := pickSlot(t, tb, book, 1, 3)
	tb.fill("#book-name", "Grace Hopper")
	tb.fill("#book-email", "grace@example.com")
	tb.click("#book-consent")
	tb.minFill()
	tb.clickNav(book + ` button[type=submit]`)
	if !strings.Contains(tb.url(), "/bookings/") {
		t.Fatalf("after booking the browser is on %s", tb.url())
	}
	st, err := time.Parse(time.RFC3339, start)
	if err != nil {
		t.Fatal(err)
	}
	taken := st.In(berlin).Format("15:04")
	day := st.In(berlin).Format("Monday, 2 January")

	tb.open("/book?tz=Europe/Berlin")
	if n := eval[int](tb, fmt.Sprintf(`document.querySelectorAll('input[name=start][value=%q]').length`, start)); n != 0 {
		t.Fatalf("the booked time %s is still offered", start)
	}
	if n := eval[int](tb, `document.querySelectorAll('`+book+` .slots-day').length`); n < 3 {
		t.Fatalf("%d days on the booking page, want a week", n)
	}
	if bad := misaligned(t, tb, book); len(bad) > 0 {
		t.Errorf("at %d wide the days' rows do not line up: %v", desktopW, bad)
	}
	gap := fmt.Sprintf(`[...document.querySelectorAll(".slots-day")].find(d => d.querySelector("legend").textContent.includes(%q)).querySelector('.slot-list > [data-time=%q]')`, day, taken)
	type cell struct {
		Class, Hidden string
		Controls      int
	}
	got := eval[cell](tb, `(() => { const c = `+gap+`; return c && {class: c.className, hidden: c.getAttribute("aria-hidden") || "", controls: c.querySelectorAll("input, button, label").length}; })()`)
	if got.Class != "slot-gap" || got.Hidden != "true" || got.Controls != 0 {
		t.Errorf("the booked %s on %s is %+v, want an empty aria-hidden slot-gap", taken, day, got)
	}
	// Every day has a cell for every row.
	if counts := eval[[]int](tb, `[...document.querySelectorAll(".slots-day")].map(d => d.querySelectorAll(".slot-list > *").length)`); len(counts) > 0 {
		for _, n := range counts {
			if n != counts[0] {
				t.Errorf("days with %v cells: not one row a time", counts)
				break
			}
		}
	}
	tb.check("book-grid-taken")
	tb.do("phone", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	if n := eval[int](tb, `[...document.querySelectorAll(".slot-gap")].filter(g => g.checkVisibility()).length`); n != 0 {
		t.Errorf("at %d wide %d empty cells show in the stacked days", phoneW, n)
	}
	tb.do("desktop", chromedp.EmulateViewport(desktopW, desktopH))

	// The move picker: the call's own time in its place.
	tb.open(s.manageLink(t, "grace@example.com"))
	const move = `form[action$="/reschedule"]`
	type current struct {
		Day, Time, Note string
		Controls        int
	}
	cur := eval[[]current](tb, `[...document.querySelectorAll(".slot-current")].map(c => ({day: c.closest(".slots-day").querySelector("legend .visually-hidden").textContent,
		time: c.dataset.time, note: c.querySelector(".slot-note").textContent, controls: c.querySelectorAll("input, button, label").length}))`)
	if len(cur) != 1 || cur[0].Day != day || cur[0].Time != taken || cur[0].Note != "Your current time" || cur[0].Controls != 0 {
		t.Fatalf("the move picker marks %+v as the current time, want %s on %s, marked and not a control", cur, taken, day)
	}
	if n := eval[int](tb, fmt.Sprintf(`document.querySelectorAll('input[name=start][value=%q]').length`, start)); n != 0 {
		t.Errorf("the call's own time can be chosen to move to")
	}
	if bad := misaligned(t, tb, move); len(bad) > 0 {
		t.Errorf("at %d wide the move picker's rows do not line up: %v", desktopW, bad)
	}
	tb.check("booking-move-current")
	tb.do("phone", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2)))
	if !eval[bool](tb, `document.querySelector(".slot-current").checkVisibility() && document.querySelector(".slot-current .slot-note").getBoundingClientRect().width > 0`) {
		t.Errorf("at %d wide the current time is not shown", phoneW)
	}
	if sw := eval[int](tb, `document.scrollingElement.scrollWidth`); sw > phoneW {
		t.Errorf("at %d wide the move page scrolls sideways (%d)", phoneW, sw)
	}
}
