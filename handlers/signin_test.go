package handlers_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"leadbook/leads"
)

// hashProbe wraps the real password check to count the checks and the
// most that ran at once.
type hashProbe struct {
	checks, inFlight, peak atomic.Int64
	// hold, when set, is called inside each check: a test can keep checks
	// running while it looks.
	hold func()
}

func (p *hashProbe) check(encoded, password string) (bool, error) {
	p.checks.Add(1)
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	if p.hold != nil {
		p.hold()
	}
	return leads.CheckPassword(encoded, password)
}

func signInRequest(email, password, remote string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/staff/login",
		strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.RemoteAddr = remote
	return req
}

// memorySampler records the most heap in use, and the most memory the
// runtime held from the system, while it runs.
type memorySampler struct {
	stop     chan struct{}
	done     chan struct{}
	base     uint64 // heap objects at the start
	heap     uint64 // live and not yet swept heap objects
	mapped   uint64 // everything the runtime holds, less what it gave back
	samples  int
	hwmReset bool
}

var sampleNames = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/total:bytes", "/memory/classes/heap/released:bytes"}

func startMemorySampler() *memorySampler {
	runtime.GC()
	debug.FreeOSMemory()
	m := &memorySampler{stop: make(chan struct{}), done: make(chan struct{})}
	// Writing 5 to clear_refs resets the kernel's peak RSS (VmHWM) to the
	// current RSS, so VmHWM afterwards is the peak of this burst.
	m.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	samples := make([]metrics.Sample, len(sampleNames))
	for i, n := range sampleNames {
		samples[i].Name = n
	}
	go func() {
		defer close(m.done)
		for {
			metrics.Read(samples)
			if m.samples == 0 {
				m.base = samples[0].Value.Uint64()
			}
			m.samples++
			m.heap = max(m.heap, samples[0].Value.Uint64())
			m.mapped = max(m.mapped, samples[1].Value.Uint64()-samples[2].Value.Uint64())
			select {
			case <-m.stop:
				return
			case <-time.After(500 * time.Microsecond):
			}
		}
	}()
	return m
}

func (m *memorySampler) finish() { close(m.stop); <-m.done }

// vmHWM is the process's peak resident memory, from /proc, or 0.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

const mib = 1 << 20

// TestStaffLoginBurst is the attack of issue 9: 300 sign-ins for one
// account from one address, held and released together, through the whole
// router, at production argon2id cost. No more passwords may be checked
// than the account-and-address limit allows (each attempt is counted
// before its hash, in the same write that checks the limit), every other
// answer is an immediate refusal with Retry-After, and memory stays far
// below what 300 hashes of 19 MiB would take.
func TestStaffLoginBurst(t *testing.T) {
	probe := &hashProbe{}
	a := newApp(t, options{store: func(o *leads.Options) {
		o.Password = leads.DefaultPasswordParams
		o.CheckPassword = probe.check
	}})
	a.addStaff()
	const n = 300
	limit := leads.DefaultSignInLimits.AccountAddress
	reqs := make([]*http.Request, n)
	recs := make([]*httptest.ResponseRecorder, n)
	for i := range reqs {
		reqs[i] = signInRequest(staffEmail, fmt.Sprintf("wrong password number %d", i), fmt.Sprintf("198.51.100.7:%d", 10000+i))
		recs[i] = httptest.NewRecorder()
	}
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range reqs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			a.h.ServeHTTP(recs[i], reqs[i])
		}()
	}
	ready.Wait()
	mem := startMemorySampler()
	close(start)
	done.Wait()
	mem.finish()
	hwm := vmHWM()

	codes := map[int]int{}
	for i, rec := range recs {
		codes[rec.Code]++
		switch rec.Code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if rec.Header().Get("Retry-After") == "" {
				t.Errorf("request %d: %d without Retry-After", i, rec.Code)
			}
		default:
			t.Errorf("request %d: status %d", i, rec.Code)
		}
	}
	checks := probe.checks.Load()
	t.Logf("%d sign-ins: answers %v; %d passwords checked, at most %d at once; heap %.1f MiB before, peak %.1f MiB; runtime memory %.1f MiB (%d samples); VmHWM %.1f MiB (reset: %v)",
		n, codes, checks, probe.peak.Load(), float64(mem.base)/mib, float64(mem.heap)/mib, float64(mem.mapped)/mib, mem.samples, float64(hwm)/mib, mem.hwmReset)
	if checks > int64(limit) || checks < 1 {
		t.Errorf("%d passwords checked; the limit is %d", checks, limit)
	}
	if int64(codes[http.StatusUnauthorized]) != checks {
		t.Errorf("%d answers 401 for %d checks", codes[http.StatusUnauthorized], checks)
	}
	if mem.heap >= 200*mib || mem.mapped >= 200*mib {
		t.Errorf("peak heap %d MiB, runtime memory %d MiB: want under 200 MiB", mem.heap/mib, mem.mapped/mib)
	}
	if mem.hwmReset && !raceEnabled && hwm >= 200*mib {
		t.Errorf("peak RSS %d MiB: want under 200 MiB", hwm/mib)
	}
	// The refused attempts were not counted: the five checked ones were.
	if got := a.count(`SELECT COUNT(*) FROM sign_in_attempts`); int64(got) != checks {
		t.Errorf("%d attempts recorded for %d checks", got, checks)
	}
}

// TestStaffLoginHashCap holds the password checks that got a slot, and
// sends more sign-ins than there are slots, each from its own address so
// that no limit refuses them: the extra ones must be answered 503 with
// Retry-After, at once, rather than queue (each waiting hash would soon
// hold 19 MiB); and, not having been checked, they must not count.
func TestStaffLoginHashCap(t *testing.T) {
	const slots, n = 2, 10
	held := make(chan struct{}, n)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	probe := &hashProbe{hold: func() { held <- struct{}{}; <-release }}
	a := newApp(t, options{store: func(o *leads.Options) {
		o.Hashes = slots
		o.HashWait = 50 * time.Millisecond
		o.CheckPassword = probe.check
	}})
	a.addStaff()
	results := make(chan *httptest.ResponseRecorder, n)
	for i := range n {
		go func() {
			rec := httptest.NewRecorder()
			a.h.ServeHTTP(rec, signInRequest(staffEmail, "wrong password here", fmt.Sprintf("198.51.100.%d:1000", i+1)))
			results <- rec
		}()
	}
	guard := time.After(30 * time.Second) // only against a hang
	for range slots {
		select {
		case <-held:
		case <-guard:
			t.Fatal("the checks never started")
		}
	}
	for i := range n - slots {
		select {
		case rec := <-results:
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
				t.Errorf("sign-in %d without a slot: %d, Retry-After %q", i, rec.Code, rec.Header().Get("Retry-After"))
			}
		case <-guard:
			t.Fatalf("%d sign-ins queued behind the held checks instead of being refused (%d checks running)", n-slots-i, probe.inFlight.Load())
		}
	}
	if got := probe.peak.Load(); got != slots {
		t.Errorf("%d checks ran at once; the cap is %d", got, slots)
	}
	free()
	for range slots {
		if rec := <-results; rec.Code != http.StatusUnauthorized {
			t.Errorf("held check: %d", rec.Code)
		}
	}
	if got := a.count(`SELECT COUNT(*) FROM sign_in_attempts`); got != slots {
		t.Errorf("%d attempts counted; only %d were checked", got, slots)
	}
}

// TestStaffLoginLockout: wrong passwords from one address cannot lock the
// owner out from another; the per-address and per-account ceilings hold,
// for a real and an unknown account alike.
func TestStaffLoginLockout(t *testing.T) {
	const wrong = "wrong password here"
	addr := func(i int) string { return fmt.Sprintf("198.51.100.%d:1000", i) }
	t.Run("one address cannot lock the owner out", func(t *testing.T) {
		a := newApp(t, options{})
		a.addStaff()
		for i := range 5 {
			if rec := a.loginAs(staffEmail, wrong, addr(1)); rec.Code != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d", i+1, rec.Code)
			}
		}
		if rec := a.loginAs(staffEmail, staffPassword, "203.0.113.9:2000"); rec.Code != http.StatusSeeOther {
			t.Fatalf("the owner from another address: %d", rec.Code)
		}
		rec := a.loginAs(staffEmail, staffPassword, addr(1))
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "900" {
			t.Fatalf("sixth try from the guessing address: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
	})
	t.Run("a success clears its address's failures", func(t *testing.T) {
		a := newApp(t, options{})
		a.addStaff()
		for range 4 {
			a.loginAs(staffEmail, wrong, addr(1))
		}
		if rec := a.loginAs(staffEmail, staffPassword, addr(1)); rec.Code != http.StatusSeeOther {
			t.Fatalf("right password after four typos: %d", rec.Code)
		}
		for i := range 5 {
			if rec := a.loginAs(staffEmail, wrong, addr(1)); rec.Code != http.StatusUnauthorized {
				t.Fatalf("typo %d after signing in: %d", i+1, rec.Code)
			}
		}
	})
	t.Run("per address", func(t *testing.T) {
		a := newApp(t, options{})
		a.addStaff()
		for i := range 20 {
			if rec := a.loginAs(fmt.Sprintf("guess%d@consult.example", i), wrong, addr(1)); rec.Code != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d", i+1, rec.Code)
			}
		}
		if rec := a.loginAs(staffEmail, staffPassword, addr(1)); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("the address, at a new account: %d", rec.Code)
		}
		if rec := a.loginAs(staffEmail, staffPassword, addr(2)); rec.Code != http.StatusSeeOther {
			t.Fatalf("another address: %d", rec.Code)
		}
	})
	t.Run("per account", func(t *testing.T) {
		a := newApp(t, options{})
		a.addStaff()
		var bodies []string
		for _, email := range []string{staffEmail, "ghost@consult.example"} {
			// 100 tries need 20 addresses at 5 each.
			for i := range 100 {
				if rec := a.loginAs(email, wrong, addr(i/5+1)); rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s, try %d: %d", email, i+1, rec.Code)
				}
			}
			rec := a.loginAs(email, staffPassword, "203.0.113.9:2000")
			if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "900" {
				t.Fatalf("%s past the ceiling: %d, Retry-After %q", email, rec.Code, rec.Header().Get("Retry-After"))
			}
			bodies = append(bodies, rec.Body.String())
		}
		if bodies[0] != bodies[1] {
			t.Error("the ceiling answers a real and an unknown account differently")
		}
		a.clock.Add(15 * time.Minute)
		if rec := a.loginAs(staffEmail, staffPassword, "203.0.113.9:2000"); rec.Code != http.StatusSeeOther {
			t.Fatalf("after the window: %d", rec.Code)
		}
	})
}
