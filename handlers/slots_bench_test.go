package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
	"leadbook/mailer"
)

// benchFeed writes a feed of n events, most of them recurring, around now.
func benchFeed(b *testing.B, n int, now time.Time) string {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n")
	// Years of history, as real exports carry: most series have ended.
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -2900)
	for i := range n {
		at := start.AddDate(0, 0, (i*7919)%2960).Add(time.Duration(7+i%11)*time.Hour + time.Duration(i%4)*15*time.Minute)
		fmt.Fprintf(&sb, "BEGIN:VEVENT\r\nUID:b%d@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:%s\r\nDTEND;TZID=Europe/Berlin:%s\r\n",
			i, at.Format("20060102T150405"), at.Add(30*time.Minute).Format("20060102T150405"))
		switch {
		case i%10 < 6:
			fmt.Fprintf(&sb, "RRULE:FREQ=WEEKLY;UNTIL=%s\r\nEXDATE;TZID=Europe/Berlin:%s\r\n",
				at.AddDate(0, 0, 7*(2+i%5)).Format("20060102T150405Z"), at.AddDate(0, 0, 14).Format("20060102T150405"))
		case i%10 < 8:
			fmt.Fprintf(&sb, "RRULE:FREQ=DAILY;COUNT=%d\r\n", 3+i%8)
		}
		sb.WriteString("END:VEVENT\r\n")
	}
	sb.WriteString("END:VCALENDAR\r\n")
	path := filepath.Join(b.TempDir(), "feed.ics")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkSlotsAPIUncached is the work of one /api/slots answer for 14
// days that the cache cannot serve: read the live bookings, take the busy
// times of a 5,000-event feed, generate the slots and write the JSON.
func BenchmarkSlotsAPIUncached(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	store, err := leads.Open(ctx, filepath.Join(b.TempDir(), "b.db"), leads.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	berlin, _ := time.LoadLocation("Europe/Berlin")
	feeds := calendar.NewFeeds([]string{benchFeed(b, 5000, now)}, calendar.FeedOptions{Floating: berlin})
	if err := feeds.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	hours, _ := calendar.ParseHours("mon-fri 08:00-18:00")
	composer, err := mailer.NewComposer(mail.Address{Address: "bookings@example.com"}, mail.Address{}, "http://localhost", "")
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler)}, Deps{Store: store, Composer: composer, Direct: mailer.NewDirect(mailer.DirSender{Dir: b.TempDir()}, nil),
		FormKey: []byte("0123456789abcdef0123456789abcdef"),
		Booking: &Booking{Rules: calendar.Rules{Location: berlin, Hours: hours, Slot: 30 * time.Minute, MinNotice: 12 * time.Hour, HorizonDays: 30},
			Store: store, Busy: feeds, Composer: composer}})
	if err != nil {
		b.Fatal(err)
	}
	today := calendar.DateOf(now.In(berlin))
	from, to := today.In(berlin), today.AddDays(14).In(berlin)
	ny, _ := time.LoadLocation("America/New_York")
	n := 0
	b.ResetTimer()
	for b.Loop() {
		slots, err := s.openSlots(ctx, from, to)
		if err != nil {
			b.Fatal(err)
		}
		n = len(appendSlotsJSON(nil, ny.String(), slots, ny))
	}
	b.ReportMetric(float64(n), "bytes/answer")
}
