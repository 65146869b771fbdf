package calendar

import (
	"context"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for FeedOptions.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock(t time.Time) *fakeClock    { return &fakeClock{t: t} }
func window(clock *fakeClock) (time.Time, time.Time) {
	return clock.Now(), clock.Now().Add(7 * 24 * time.Hour)
}

const oneEventFeed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260302T100000Z\r\nDTEND:20260302T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

type feedServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        string
	fail        bool
	requests    atomic.Int32
	notModified atomic.Int32
	lastINM     string
}

func newFeedServer(t *testing.T, body string) *feedServer {
	t.Helper()
	fs := &feedServer{body: body}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.requests.Add(1)
		fs.mu.Lock()
		defer fs.mu.Unlock()
		fs.lastINM = r.Header.Get("If-None-Match")
		if fs.fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		etag := fmt.Sprintf(`"%08x"`, crc32.ChecksumIEEE([]byte(fs.body)))
		if r.Header.Get("If-None-Match") == etag {
			fs.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		_, _ = w.Write([]byte(fs.body))
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) set(body string, fail bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.body, fs.fail = body, fail
}

func TestFeedsHTTP(t *testing.T) {
	srv := newFeedServer(t, oneEventFeed)
	clock := newClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := NewFeeds([]string{srv.URL + "/cal.ics"}, FeedOptions{Client: srv.Client(), Now: clock.Now, MaxStale: 6 * time.Hour, Timeout: 5 * time.Second})
	ctx := context.Background()

	from, to := window(clock)
	if got := f.Busy(from, to); len(got) != 1 || !got[0].Start.Equal(from) || !got[0].End.Equal(to) {
		t.Fatalf("Busy before any load = %v, want the whole window", got)
	}
	v0 := f.Version()
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	want := []Interval{{time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)}}
	if got := f.Busy(from, to); !sameIntervals(got, want) {
		t.Fatalf("Busy = %v, want %v", got, want)
	}
	v1 := f.Version()
	if v1 == v0 {
		t.Error("Version did not change after the first load")
	}

	// The second refresh is conditional and answered 304.
	clock.Add(time.Minute)
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.notModified.Load() != 1 || srv.lastINM == "" {
		t.Fatalf("second refresh: 304s = %d, If-None-Match = %q", srv.notModified.Load(), srv.lastINM)
	}
	if got := f.Busy(from, to); !sameIntervals(got, want) {
		t.Fatalf("Busy after 304 = %v", got)
	}
	st := f.Status()[0]
	if st.Stale || st.LastError != "" || st.Events != 1 || !st.LastSuccess.Equal(clock.Now()) {
		t.Fatalf("Status = %+v", st)
	}

	// The source fails: the last good copy is used until MaxStale.
	srv.set(oneEventFeed, true)
	clock.Add(5 * time.Hour)
	if err := f.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Refresh of a failing source = %v", err)
	}
	from, to = window(clock)
	if got := f.Busy(from, to); !sameIntervals(got, want) {
		t.Fatalf("Busy within MaxStale = %v, want the last good copy %v", got, want)
	}
	st = f.Status()[0]
	if st.Stale || !strings.Contains(st.LastError, "503") || !st.LastAttempt.Equal(clock.Now()) {
		t.Fatalf("Status = %+v", st)
	}
	v2 := f.Version()
	clock.Add(2 * time.Hour) // 7h after the last success
	if got := f.Busy(from, to); len(got) != 1 || !got[0].Start.Equal(from) || !got[0].End.Equal(to) {
		t.Fatalf("Busy after MaxStale = %v, want the whole window", got)
	}
	if !f.Status()[0].Stale {
		t.Error("Status not stale after MaxStale")
	}
	if f.Version() == v2 {
		t.Error("Version did not change when the source went stale")
	}

	// Recovery with a malformed feed records an error and keeps the copy stale.
	srv.set("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=x\r\n", false)
	if err := f.Refresh(ctx); err == nil {
		t.Fatal("Refresh of a malformed feed: no error")
	}
	if st := f.Status()[0]; !st.Stale || !strings.Contains(st.LastError, "malformed") {
		t.Fatalf("Status after malformed feed = %+v", st)
	}
	// And a good feed again makes it fresh.
	srv.set(strings.Replace(oneEventFeed, "20260302T1", "20260303T1", 2), false)
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.Busy(from, to); len(got) != 1 || got[0].Start.Day() != 3 {
		t.Fatalf("Busy after recovery = %v", got)
	}
}

func TestFeedsWindowBeyondHorizon(t *testing.T) {
	srv := newFeedServer(t, oneEventFeed)
	clock := newClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := NewFeeds([]string{srv.URL}, FeedOptions{Client: srv.Client(), Now: clock.Now, Horizon: 48 * time.Hour})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	from, to := window(clock)
	got := f.Busy(from, to)
	horizon := clock.Now().Add(48 * time.Hour)
	if len(got) != 2 || !got[1].Start.Equal(horizon) || !got[1].End.Equal(to) {
		t.Fatalf("Busy = %v, want the event and [%v, %v)", got, horizon, to)
	}
}

func TestFeedsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "busy.ics")
	if err := os.WriteFile(path, []byte(oneEventFeed), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := newClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := NewFeeds([]string{path}, FeedOptions{Now: clock.Now})
	ctx := context.Background()
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	v := f.Version()
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f.Version() != v {
		t.Error("Version changed although nothing did")
	}
	if err := os.WriteFile(path, []byte(strings.Replace(oneEventFeed, "T110000Z", "T120000Z", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	from, to := window(clock)
	if got := f.Busy(from, to); len(got) != 1 || got[0].End.Hour() != 12 {
		t.Fatalf("Busy after the file changed = %v", got)
	}
	if f.Version() == v {
		t.Error("Version did not change with the file")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(ctx); err == nil {
		t.Fatal("Refresh of a missing file: no error")
	}
	if got := f.Busy(from, to); len(got) != 1 || got[0].End.Hour() != 12 {
		t.Fatalf("Busy after the file vanished = %v, want the last good copy", got)
	}
}

// TestFeedsSkipped: a feed with a component that cannot be read loads,
// blocks what it can, and Status lists what was left out.
func TestFeedsSkipped(t *testing.T) {
	feed := strings.Replace(oneEventFeed, "END:VEVENT\r\n", "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:broken\r\nDTSTART:20260303T100000Z\r\nDTEND:20260303T090000Z\r\nEND:VEVENT\r\n", 1)
	path := filepath.Join(t.TempDir(), "busy.ics")
	if err := os.WriteFile(path, []byte(feed), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := newClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := NewFeeds([]string{path}, FeedOptions{Now: clock.Now})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	from, to := window(clock)
	if got := f.Busy(from, to); len(got) != 1 || got[0].Start.Day() != 2 {
		t.Fatalf("Busy = %v, want the readable event", got)
	}
	st := f.Status()[0]
	want := Skipped{Line: 10, Component: "VEVENT", UID: "broken", Reason: "it ends before it starts: skipped"}
	if st.Stale || st.LastError != "" || st.Events != 2 || st.SkippedCount != 1 || len(st.Skipped) != 1 || st.Skipped[0] != want {
		t.Fatalf("Status = %+v, want one skipped %+v", st, want)
	}
}

func TestFeedsRunAndRedact(t *testing.T) {
	srv := newFeedServer(t, "not a calendar")
	clock := newClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	secret := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/calendar/ical/ceo%40example.com/private-0123456789abcdef/basic.ics?token=s3cret"
	f := NewFeeds([]string{secret, "webcal://calendar.example.com/owa/calendar/a1b2c3d4e5f6a7b8c9d0@example.com/f00dfeed0123456789/calendar.ics"}, FeedOptions{Client: srv.Client(), Now: clock.Now, Timeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.requests.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	st := f.Status()
	for _, s := range st {
		for _, secret := range []string{"hunter2", "user", "0123456789abcdef", "s3cret", "f00dfeed0123456789", "a1b2c3d4e5f6a7b8c9d0"} {
			if strings.Contains(s.Source, secret) || strings.Contains(s.LastError, secret) {
				t.Errorf("Status leaks %q: %+v", secret, s)
			}
		}
		if !s.Stale || s.LastError == "" {
			t.Errorf("Status = %+v, want stale with an error", s)
		}
	}
	if !strings.Contains(st[0].Source, "/calendar/ical/") || !strings.Contains(st[0].Source, "token=REDACTED") {
		t.Errorf("redacted source %q lost its shape", st[0].Source)
	}
}

func sameIntervals(a, b []Interval) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) {
			return false
		}
	}
	return true
}
