//go:build ignore

// genfeed writes an iCalendar feed of n busy events, as a CEO's calendar
// export looks: most of them recurring (weekly with EXDATE exceptions,
// daily with COUNT), the rest single meetings, spread over years of
// history as real exports are, so that a few series are active at a time.
//
//	go run .ci/bench/genfeed.go -n 5000 > feed.ics
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 5000, "events")
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprint(w, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//genfeed//EN\r\n")
	// Years of history, as real exports carry: most series have ended.
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2900)
	stamp := "20260101T000000Z"
	for i := 0; i < *n; i++ {
		day := start.AddDate(0, 0, (i*7919)%2960)
		at := day.Add(time.Duration(7+i%11)*time.Hour + time.Duration(i%4)*15*time.Minute)
		fmt.Fprintf(w, "BEGIN:VEVENT\r\nUID:bench-%d@example.com\r\nDTSTAMP:%s\r\n", i, stamp)
		fmt.Fprintf(w, "DTSTART;TZID=Europe/Berlin:%s\r\n", at.Format("20060102T150405"))
		fmt.Fprintf(w, "DTEND;TZID=Europe/Berlin:%s\r\n", at.Add(time.Duration(15+15*(i%4))*time.Minute).Format("20060102T150405"))
		switch {
		case i%10 < 6:
			fmt.Fprintf(w, "RRULE:FREQ=WEEKLY;UNTIL=%s\r\n", at.AddDate(0, 0, 7*(2+i%5)).Format("20060102T150405Z"))
			fmt.Fprintf(w, "EXDATE;TZID=Europe/Berlin:%s,%s\r\n",
				at.AddDate(0, 0, 7*(1+i%5)).Format("20060102T150405"), at.AddDate(0, 0, 7*(6+i%7)).Format("20060102T150405"))
		case i%10 < 8:
			fmt.Fprintf(w, "RRULE:FREQ=DAILY;COUNT=%d\r\n", 3+i%8)
		}
		fmt.Fprintf(w, "SUMMARY:Meeting %d\r\nEND:VEVENT\r\n", i)
	}
	fmt.Fprint(w, "END:VCALENDAR\r\n")
}
