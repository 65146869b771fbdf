package calendar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// FeedOptions configure Feeds. Zero fields take the defaults noted.
type FeedOptions struct {
	Client   *http.Client     // nil: a client with Timeout
	Now      func() time.Time // nil: time.Now
	MaxStale time.Duration    // how long a failing source's last good copy is trusted; 0: 6h
	Horizon  time.Duration    // how far ahead of now busy times are expanded; 0: 62 days
	Floating *time.Location   // the zone of floating times and all-day events (the CEO's); nil: UTC
	Timeout  time.Duration    // per fetch; 0: 30s
}

// FeedStatus describes one busy source.
type FeedStatus struct {
	Source      string // URL with userinfo, query values and secret-looking path parts redacted, or the file path
	LastSuccess time.Time
	LastAttempt time.Time
	LastError   string
	Events      int  // VEVENTs in the last good copy
	Stale       bool // never loaded, or last good copy older than MaxStale: Busy blocks everything
	// What reading the last good copy left out (ParseBusy reads liberally):
	// the first entries, and how many there were in all.
	Skipped      []Skipped
	SkippedCount int
}

// Feeds holds the CEO's busy-time sources (iCalendar feeds over HTTP(S) or
// in files) and their last good copies. It is safe for concurrent use.
type Feeds struct {
	opts    FeedOptions
	refresh sync.Mutex // one Refresh at a time

	mu      sync.Mutex
	sources []*feedSource
	version uint64
}

type feedSource struct {
	name     string // as configured
	redacted string
	url      string // "" for a file
	// fetch, when set, reads the source instead of url or the file: the
	// busy time of [from, to) as iCalendar (a CalDAV query, say).
	fetch func(ctx context.Context, from, to time.Time) ([]byte, error)

	// The last good copy and how to recognise it unchanged.
	data         []byte
	busy         []Interval // merged, expanded over [from, to)
	from, to     time.Time
	events       int
	skipped      []Skipped
	skips        int
	etag, lastMo string
	modTime      time.Time
	size         int64
	loaded       bool

	lastSuccess, lastAttempt time.Time
	lastErr                  string
	stale                    bool // as last seen, so that a change bumps the version
}

// NewFeeds returns Feeds for sources: http(s):// or webcal:// URLs and file
// paths. Nothing is fetched until Refresh or Run.
func NewFeeds(sources []string, opts FeedOptions) *Feeds {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = 6 * time.Hour
	}
	if opts.Horizon <= 0 {
		opts.Horizon = 62 * 24 * time.Hour
	}
	if opts.Floating == nil {
		opts.Floating = time.UTC
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.Timeout}
	}
	f := &Feeds{opts: opts}
	for _, s := range sources {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		src := &feedSource{name: s, redacted: s, stale: true}
		if l := strings.ToLower(s); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "webcal://") {
			src.url = s
			if strings.HasPrefix(l, "webcal://") {
				src.url = "https://" + s[len("webcal://"):]
			}
			src.redacted = RedactURL(s)
		}
		f.sources = append(f.sources, src)
	}
	return f
}

// AddSource adds a source that fetch reads, the iCalendar text of the
// busy time in [from, to) each time it is called (Busy of a CalDAV
// collection, say); name is how Status shows it, so it must hold no
// secret. It is treated as every other source: stale, and so blocking
// every slot, until its first success and again once its last good copy
// is older than MaxStale. Call it before Refresh or Run.
func (f *Feeds) AddSource(name string, fetch func(ctx context.Context, from, to time.Time) ([]byte, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sources = append(f.sources, &feedSource{name: name, redacted: name, stale: true, fetch: fetch})
	f.version++
}

// RedactURL hides the secrets of a feed URL: userinfo, query values and
// path segments that look like tokens (Google's private-… part, Outlook's
// long identifiers).
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	segs := strings.Split(u.Path, "/")
	for i, seg := range segs {
		if p, ok := strings.CutPrefix(seg, "private-"); ok && p != "" {
			segs[i] = "private-REDACTED"
		} else if len(seg) >= 16 && strings.ContainsAny(seg, "0123456789") && !strings.HasSuffix(strings.ToLower(seg), ".ics") {
			segs[i] = "REDACTED"
		}
	}
	u.Path, u.RawPath = strings.Join(segs, "/"), ""
	u.Fragment = ""
	return u.String()
}

// Refresh fetches every source once: HTTP(S) with a conditional GET
// (If-None-Match, If-Modified-Since) and the Timeout, a file only when its
// modification time or size changed. Each source keeps its last good copy
// when a fetch or its parsing fails; the returned error joins the failures.
func (f *Feeds) Refresh(ctx context.Context) error {
	f.refresh.Lock()
	defer f.refresh.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(f.sources))
	for i, src := range f.sources {
		wg.Go(func() { errs[i] = f.refreshOne(ctx, src) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Run refreshes every interval until ctx is done, starting at once. A
// feed refused whole is recorded in Status, never propagated (as would be
// a panic while reading one, which no feed is known to cause).
func (f *Feeds) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 5 * time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_ = f.Refresh(ctx) // errors are kept per source for Status
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *Feeds) refreshOne(ctx context.Context, src *feedSource) (err error) {
	now := f.opts.Now()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("calendar: feed %s: panic: %v", src.redacted, v)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		src.lastAttempt = now
		if err != nil {
			src.lastErr = err.Error()
		} else {
			src.lastErr = ""
		}
	}()
	f.mu.Lock()
	data, etag, lastMo, modTime, size := src.data, src.etag, src.lastMo, src.modTime, src.size
	f.mu.Unlock()

	from, to := now.Add(-24*time.Hour), now.Add(f.opts.Horizon)
	var changed bool
	switch {
	case src.fetch != nil:
		fctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
		var got []byte
		got, err = src.fetch(fctx, from, to)
		cancel()
		if err == nil && len(got) > maxFeedBytes {
			err = fmt.Errorf("calendar: feed %s: larger than %d bytes", src.redacted, maxFeedBytes)
		}
		changed = err == nil && !bytes.Equal(got, data)
		data = got
	case src.url != "":
		data, etag, lastMo, changed, err = f.fetch(ctx, src, data, etag, lastMo)
	default:
		data, modTime, size, changed, err = readFeedFile(src.name, data, modTime, size)
	}
	if err != nil {
		return err
	}
	parsed, err := parseFeed(data, from, to, f.opts.Floating)
	if err != nil {
		return fmt.Errorf("calendar: feed %s: %w", src.redacted, err)
	}
	busy := mergeIntervals(parsed.busy)

	f.mu.Lock()
	defer f.mu.Unlock()
	if !src.loaded || changed || !slices.Equal(busy, src.busy) || !src.from.Equal(from) {
		f.version++
	}
	src.data, src.etag, src.lastMo, src.modTime, src.size = data, etag, lastMo, modTime, size
	src.busy, src.from, src.to, src.events, src.loaded = busy, from, to, parsed.events, true
	src.skipped, src.skips = parsed.skipped, parsed.skips
	src.lastSuccess = now
	f.updateStale(now)
	return nil
}

// fetch does a conditional GET. On 304 it returns the old data.
func (f *Feeds) fetch(ctx context.Context, src *feedSource, old []byte, etag, lastMo string) ([]byte, string, string, bool, error) {
	fail := func(err error) ([]byte, string, string, bool, error) {
		return nil, "", "", false, fmt.Errorf("calendar: feed %s: %w", src.redacted, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url, nil)
	if err != nil {
		return fail(errors.New("bad URL"))
	}
	req.Header.Set("Accept", "text/calendar, */*;q=0.5")
	req.Header.Set("User-Agent", "leadbook-calendar/1")
	if old != nil {
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		if lastMo != "" {
			req.Header.Set("If-Modified-Since", lastMo)
		}
	}
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return fail(withoutURL(err)) // the URL in the error may hold secrets
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return old, etag, lastMo, false, nil
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fail(fmt.Errorf("HTTP status %s", resp.Status))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return fail(err)
	}
	if len(data) > maxFeedBytes {
		return fail(fmt.Errorf("larger than %d bytes", maxFeedBytes))
	}
	return data, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), !bytes.Equal(data, old), nil
}

func readFeedFile(path string, old []byte, modTime time.Time, size int64) ([]byte, time.Time, int64, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, time.Time{}, 0, false, fmt.Errorf("calendar: feed %s: %w", path, err)
	}
	if old != nil && fi.ModTime().Equal(modTime) && fi.Size() == size {
		return old, modTime, size, false, nil
	}
	if fi.Size() > maxFeedBytes {
		return nil, time.Time{}, 0, false, fmt.Errorf("calendar: feed %s: larger than %d bytes", path, maxFeedBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, 0, false, fmt.Errorf("calendar: feed %s: %w", path, err)
	}
	return data, fi.ModTime(), fi.Size(), !bytes.Equal(data, old), nil
}

// updateStale recomputes each source's staleness at now and bumps the
// version when one changed. f.mu must be held.
func (f *Feeds) updateStale(now time.Time) {
	for _, s := range f.sources {
		stale := !s.loaded || now.Sub(s.lastSuccess) > f.opts.MaxStale
		if stale != s.stale {
			s.stale = stale
			f.version++
		}
	}
}

// Busy returns the union of every source's busy intervals overlapping
// [from, to), sorted and merged. A source that never loaded, or whose last
// good copy is older than MaxStale, contributes [from, to) whole, as does
// any part of the window outside the span its copy was expanded over: no
// slot is offered rather than risking a clash.
func (f *Feeds) Busy(from, to time.Time) []Interval {
	if !from.Before(to) {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateStale(f.opts.Now())
	var out []Interval
	for _, s := range f.sources {
		if s.stale {
			return []Interval{{from, to}}
		}
		if from.Before(s.from) {
			out = append(out, Interval{from, minTime(to, s.from)})
		}
		if to.After(s.to) {
			out = append(out, Interval{maxTime(from, s.to), to})
		}
		// s.busy is sorted and merged: ends are sorted too.
		i, _ := slices.BinarySearchFunc(s.busy, from, func(x Interval, t time.Time) int {
			if x.End.After(t) {
				return 1
			}
			return -1
		})
		for ; i < len(s.busy) && s.busy[i].Start.Before(to); i++ {
			out = append(out, s.busy[i])
		}
	}
	return mergeIntervals(out)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Version changes whenever the busy data of a source or its staleness
// changes, so that callers can cache what they derive from Busy.
func (f *Feeds) Version() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateStale(f.opts.Now())
	return f.version
}

// Status reports every source, in configuration order.
func (f *Feeds) Status() []FeedStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateStale(f.opts.Now())
	out := make([]FeedStatus, len(f.sources))
	for i, s := range f.sources {
		out[i] = FeedStatus{
			Source:       s.redacted,
			LastSuccess:  s.lastSuccess,
			LastAttempt:  s.lastAttempt,
			LastError:    s.lastErr,
			Events:       s.events,
			Stale:        s.stale,
			Skipped:      slices.Clone(s.skipped),
			SkippedCount: s.skips,
		}
	}
	return out
}
