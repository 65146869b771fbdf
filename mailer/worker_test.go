package mailer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"leadbook/leads"
)

// newWorker returns a worker on st with the test's clock, a fixed jitter
// (Rand 0: half the delay) and small delays.
func newWorker(t *testing.T, st *leads.Store, s Sender, clock *testClock) (*Worker, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger(t)
	return &Worker{
		Queue: st, Sender: s, Logger: logger, Now: clock.Now,
		BaseDelay: time.Second, MaxDelay: time.Minute, MaxAge: time.Hour, Poll: 20 * time.Millisecond,
		Lease: time.Minute, Batch: 4,
		Rand: func() float64 { return 0 },
	}, logs
}

func mustDrain(t *testing.T, w *Worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
}

func outboxRow(t *testing.T, st *leads.Store, messageID string) leads.OutboxMessage {
	t.Helper()
	rows, err := st.ListMail(context.Background(), leads.MailFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.MessageID == messageID {
			return r
		}
	}
	t.Fatalf("no outbox row %s", messageID)
	return leads.OutboxMessage{}
}

// noPersonalData fails the test when a log line shows an address, a name
// or a subject of the test messages.
func noPersonalData(t *testing.T, logs string) {
	t.Helper()
	for _, s := range []string{"@example.org", "Visitor", "Test message", "Zoë"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs show %q:\n%s", s, logs)
		}
	}
}

func TestWorkerDelivers(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	srv := startSMTP(t)
	w, logs := newWorker(t, st, newSMTPSender(t, srv.Config()), clock)
	var msgs []*Message
	for i := range 10 {
		msgs = append(msgs, testMessage(i, "zoe@example.org"))
	}
	queue(t, st, "test", msgs...)
	mustDrain(t, w)
	got := srv.Wait(10)
	for i, m := range msgs {
		if id := got[i].MessageID(t); id != m.MessageID {
			t.Errorf("message %d arrived as %s, want %s (in queue order)", i, id, m.MessageID)
		}
		if r := outboxRow(t, st, m.MessageID); r.Status != leads.OutboxSent || r.Attempts != 1 {
			t.Errorf("row %s: status %s, attempts %d", m.MessageID, r.Status, r.Attempts)
		}
	}
	noPersonalData(t, logs.String())
}

func TestWorkerSMTPFailures(t *testing.T) {
	tests := []struct {
		name      string
		stage     string
		code      int
		wantDead  bool
		wantInLog string
	}{
		{"451 at RCPT is retried", "rcpt", 451, false, "smtp_code=451"},
		{"451 at DATA is retried", "data", 451, false, "smtp_code=451"},
		{"550 at RCPT is dead-lettered", "rcpt", 550, true, "smtp_code=550"},
		{"554 at DATA is dead-lettered", "data", 554, true, "smtp_code=554"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			st := openStore(t, clock)
			srv := startSMTP(t)
			w, logs := newWorker(t, st, newSMTPSender(t, srv.Config()), clock)
			m := testMessage(1, "zoe@example.org")
			queue(t, st, "lead_confirmation", m)
			srv.Fail(tc.stage, tc.code, 1)

			mustDrain(t, w)
			row := outboxRow(t, st, m.MessageID)
			if !strings.Contains(row.LastError, strconv.Itoa(tc.code)) {
				t.Errorf("last error %q lacks the code", row.LastError)
			}
			if !strings.Contains(logs.String(), tc.wantInLog) || !strings.Contains(logs.String(), "kind=lead_confirmation") {
				t.Errorf("log lacks %q or the kind:\n%s", tc.wantInLog, logs)
			}
			noPersonalData(t, logs.String())
			if tc.wantDead {
				if row.Status != leads.OutboxDead {
					t.Fatalf("status %s, want dead", row.Status)
				}
				clock.Advance(24 * time.Hour)
				mustDrain(t, w)
				if n := len(srv.Received()); n != 0 {
					t.Errorf("a dead message was sent %d times", n)
				}
				return
			}
			// Retried: due after half the base delay (Rand is 0).
			if row.Status != leads.OutboxQueued || !row.NextAttemptAt.Equal(clock.Now().Add(500*time.Millisecond)) {
				t.Fatalf("status %s, next attempt %v; want queued at now+500ms", row.Status, row.NextAttemptAt)
			}
			mustDrain(t, w) // not due yet
			if n := len(srv.Received()); n != 0 {
				t.Fatalf("sent %d before the retry was due", n)
			}
			clock.Advance(500 * time.Millisecond)
			mustDrain(t, w)
			got := srv.Wait(1)
			if id := got[0].MessageID(t); id != m.MessageID {
				t.Errorf("retry arrived as %s, want the same Message-ID %s", id, m.MessageID)
			}
			if row := outboxRow(t, st, m.MessageID); row.Status != leads.OutboxSent || row.Attempts != 2 {
				t.Errorf("after retry: status %s, attempts %d", row.Status, row.Attempts)
			}
		})
	}
}

func TestWorkerConnectionRefused(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	srv := startSMTP(t)
	srv.Stop()
	w, logs := newWorker(t, st, newSMTPSender(t, srv.Config()), clock)
	m := testMessage(1, "zoe@example.org")
	queue(t, st, "test", m)

	// Three refused attempts back off 0.5s, 1s, 2s (Rand 0: half of 1s, 2s, 4s).
	for i, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
		mustDrain(t, w)
		row := outboxRow(t, st, m.MessageID)
		if row.Status != leads.OutboxQueued || row.Attempts != i+1 || !row.NextAttemptAt.Equal(clock.Now().Add(want)) {
			t.Fatalf("attempt %d: status %s, attempts %d, next in %v; want queued, next in %v",
				i+1, row.Status, row.Attempts, row.NextAttemptAt.Sub(clock.Now()), want)
		}
		clock.Advance(want)
	}
	srv.Start()
	mustDrain(t, w)
	srv.Wait(1)
	if row := outboxRow(t, st, m.MessageID); row.Status != leads.OutboxSent {
		t.Errorf("status %s after the server came back", row.Status)
	}
	if !strings.Contains(logs.String(), "will retry") {
		t.Errorf("no retry logged:\n%s", logs)
	}
	noPersonalData(t, logs.String())
}

func TestWorkerMaxAge(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{fail: func(int, *Message) error { return errTemporary }}
	w, logs := newWorker(t, st, s, clock)
	m := testMessage(1, "zoe@example.org")
	queue(t, st, "test", m)
	mustDrain(t, w)
	clock.Advance(w.MaxAge + time.Second)
	mustDrain(t, w)
	row := outboxRow(t, st, m.MessageID)
	if row.Status != leads.OutboxDead || !strings.Contains(row.LastError, "gave up after 1h0m0s") {
		t.Errorf("status %s, last error %q; want dead after max age", row.Status, row.LastError)
	}
	if !strings.Contains(logs.String(), "maximum age") {
		t.Errorf("no log line for the give-up:\n%s", logs)
	}
}

func TestWorkerMalformedPayload(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{}
	w, logs := newWorker(t, st, s, clock)
	good := testMessage(2, "zoe@example.org")
	if err := st.QueueMail(context.Background(), leads.OutboxMessage{
		Kind: "test", Recipient: "zoe@example.org", MessageID: "<bad@example.com>", Payload: []byte(`{"v":1,"to":`),
	}); err != nil {
		t.Fatal(err)
	}
	queue(t, st, "test", good)
	mustDrain(t, w)
	if row := outboxRow(t, st, "<bad@example.com>"); row.Status != leads.OutboxDead || !strings.Contains(row.LastError, "malformed payload") {
		t.Errorf("bad row: status %s, last error %q", row.Status, row.LastError)
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].MessageID != good.MessageID {
		t.Errorf("sent %v, want only the good message", sent)
	}
	noPersonalData(t, logs.String())
}

// TestWorkerLeaseExpiry acts out a worker that died holding a claim: the
// message goes out once its lease runs out, and only then.
func TestWorkerLeaseExpiry(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{}
	w, _ := newWorker(t, st, s, clock)
	m := testMessage(1, "zoe@example.org")
	queue(t, st, "test", m)
	if claimed, err := st.ClaimMail(context.Background(), w.Lease, 10); err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %d rows", err, len(claimed))
	}
	mustDrain(t, w)
	if n := len(s.Sent()); n != 0 {
		t.Fatalf("sent %d messages under another worker's lease", n)
	}
	clock.Advance(w.Lease)
	mustDrain(t, w)
	if n := len(s.Sent()); n != 1 {
		t.Fatalf("sent %d messages after the lease ran out, want 1", n)
	}
}

// stoppingSender cancels the worker's context after a number of sends.
type stoppingSender struct {
	Sender
	mu     sync.Mutex
	n      int
	after  int
	cancel context.CancelFunc
}

func (s *stoppingSender) Send(ctx context.Context, m *Message) error {
	err := s.Sender.Send(ctx, m)
	s.mu.Lock()
	s.n++
	if s.n == s.after {
		s.cancel()
	}
	s.mu.Unlock()
	return err
}

// TestWorkerRestart stops a worker in the middle of the queue, and of a
// batch with sent marks pending, and starts another on the same store:
// every message sent is marked before the first stops, and every message
// arrives exactly once.
func TestWorkerRestart(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	srv := startSMTP(t)
	const total = 25
	var msgs []*Message
	for i := range total {
		m := testMessage(i, "zoe@example.org")
		m.MessageID = NewMessageID("bookings@example.com")
		msgs = append(msgs, m)
	}
	queue(t, st, "test", msgs...)

	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	first := &stoppingSender{Sender: newSMTPSender(t, srv.Config()), after: 6, cancel: cancel1}
	w1, logs := newWorker(t, st, first, clock)
	if err := w1.Run(ctx1); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if n := len(srv.Received()); n != 6 {
		t.Fatalf("first worker sent %d, want 6 (the one in flight finished)", n)
	}
	stats, err := st.MailStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Sent != 6 || stats.Queued != total-6 {
		t.Fatalf("after stop: %+v", stats)
	}

	// Released claims are due at once: no waiting for their leases.
	ctx2, cancel2 := context.WithCancel(context.Background())
	w2, logs2 := newWorker(t, st, newSMTPSender(t, srv.Config()), clock)
	done := make(chan error, 1)
	go func() { done <- w2.Run(ctx2) }()
	got := srv.Wait(total)
	cancel2()
	if err := <-done; err != nil {
		t.Fatalf("second Run: %v", err)
	}

	seen := map[string]int{}
	for _, r := range got {
		seen[r.MessageID(t)]++
	}
	for _, m := range msgs {
		if seen[m.MessageID] != 1 {
			t.Errorf("%s arrived %d times", m.MessageID, seen[m.MessageID])
		}
	}
	if len(got) != total {
		t.Errorf("%d arrived, want %d", len(got), total)
	}
	if stats, _ := st.MailStats(context.Background()); stats.Sent != total || stats.Queued != 0 {
		t.Errorf("final stats %+v", stats)
	}
	noPersonalData(t, logs.String()+logs2.String())
}

// countingQueue is the store, counting the calls that mark messages sent.
type countingQueue struct {
	Queue
	mu            sync.Mutex
	calls, claims int
}

func (q *countingQueue) MarkMailSentAll(ctx context.Context, claims []leads.MailClaim) ([]int64, error) {
	q.mu.Lock()
	q.calls++
	q.claims += len(claims)
	q.mu.Unlock()
	return q.Queue.MarkMailSentAll(ctx, claims)
}

// TestWorkerMarksSentTogether sends batches of quick deliveries: every
// message is sent once and marked sent, the marks of a batch in one call.
func TestWorkerMarksSentTogether(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{}
	w, _ := newWorker(t, st, s, clock)
	q := &countingQueue{Queue: st}
	w.Queue, w.Batch = q, 16
	const n = 40
	var msgs []*Message
	for i := range n {
		msgs = append(msgs, testMessage(i, "zoe@example.org"))
	}
	queue(t, st, "test", msgs...)
	mustDrain(t, w)
	if got := len(s.Sent()); got != n {
		t.Fatalf("%d sends, want %d", got, n)
	}
	for _, m := range msgs {
		if r := outboxRow(t, st, m.MessageID); r.Status != leads.OutboxSent || r.Attempts != 1 {
			t.Errorf("row %s: status %s, attempts %d", m.MessageID, r.Status, r.Attempts)
		}
	}
	// Three batches (16, 16, 8), so three calls; a stall of the machine
	// past markSentWithin may add one.
	if q.claims != n || q.calls > n/4 {
		t.Errorf("%d marks in %d calls, want %d in about 3", q.claims, q.calls, n)
	}
}

// TestWorkerMarksSentWhileSlow blocks the third send of a batch: the two
// delivered before it are recorded sent while it blocks, not when the
// batch ends.
func TestWorkerMarksSentWhileSlow(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	blocked, release := make(chan struct{}), make(chan struct{})
	s := &fakeSender{fail: func(n int, _ *Message) error {
		if n == 3 {
			close(blocked)
			<-release
		}
		return nil
	}}
	w, _ := newWorker(t, st, s, clock)
	var msgs []*Message
	for i := range 4 {
		msgs = append(msgs, testMessage(i, "zoe@example.org"))
	}
	queue(t, st, "test", msgs...)
	done := make(chan error, 1)
	go func() { done <- w.Drain(context.Background()) }()
	<-blocked
	deadline := time.Now().Add(5 * time.Second)
	for outboxRow(t, st, msgs[0].MessageID).Status != leads.OutboxSent || outboxRow(t, st, msgs[1].MessageID).Status != leads.OutboxSent {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the two messages sent before a blocked send are still queued after 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := outboxRow(t, st, msgs[2].MessageID); r.Status != leads.OutboxQueued {
		t.Errorf("the blocked message is %s", r.Status)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	for _, m := range msgs {
		if r := outboxRow(t, st, m.MessageID); r.Status != leads.OutboxSent {
			t.Errorf("row %s: status %s", m.MessageID, r.Status)
		}
	}
}

// TestWorkerMarkTakenOver: a message whose lease ran out while it was
// being sent, and which another worker claimed, is not marked sent by the
// first worker; Drain reports it, and the batch's other marks stand.
func TestWorkerMarkTakenOver(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{}
	w, _ := newWorker(t, st, s, clock)
	first, second := testMessage(1, "zoe@example.org"), testMessage(2, "zoe@example.org")
	queue(t, st, "test", first, second)
	s.fail = func(n int, _ *Message) error {
		if n == 1 {
			clock.Advance(w.Lease)
			if got, err := st.ClaimMail(context.Background(), w.Lease, 1); err != nil || len(got) != 1 || got[0].MessageID != first.MessageID {
				t.Errorf("the other worker's claim: %v, %+v", err, got)
			}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	taken := outboxRow(t, st, first.MessageID)
	err := w.Drain(ctx)
	if leads.ErrorCode(err) != leads.ENOTFOUND || !strings.Contains(err.Error(), "message "+strconv.FormatInt(taken.ID, 10)+" sent: ") || !strings.Contains(err.Error(), "Its claim was taken over") {
		t.Fatalf("Drain: %v; want the taken-over message reported, not found", err)
	}
	if r := outboxRow(t, st, first.MessageID); r.Status != leads.OutboxQueued || r.Attempts != 2 {
		t.Errorf("taken-over row: status %s, attempts %d; want the other worker's claim", r.Status, r.Attempts)
	}
	if r := outboxRow(t, st, second.MessageID); r.Status != leads.OutboxSent {
		t.Errorf("other row: status %s", r.Status)
	}
}

// TestWorkerWake checks that a running worker sends a newly queued message
// when woken, long before its poll interval.
func TestWorkerWake(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{sentCh: make(chan *Message, 10)}
	w, _ := newWorker(t, st, s, clock)
	w.Poll = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	for i := range 3 {
		queue(t, st, "test", testMessage(i, "zoe@example.org"))
		w.Wake()
		select {
		case <-s.sentCh:
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d not sent after Wake", i)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		r        float64
		want     time.Duration
	}{
		{1, 0, 15 * time.Second},
		{1, 0.999999999, 30 * time.Second},
		{2, 0, 30 * time.Second},
		{3, 0.5, 90 * time.Second},
		{7, 0, 16 * time.Minute},
		{8, 0, 30 * time.Minute},
		{9, 0, 30 * time.Minute},
		{1000, 1, time.Hour},
		{0, 0, 15 * time.Second},
	}
	for _, tc := range tests {
		got := Backoff(tc.attempts, 30*time.Second, time.Hour, func() float64 { return tc.r })
		if got.Round(time.Millisecond) != tc.want {
			t.Errorf("Backoff(%d, r=%v) = %v, want %v", tc.attempts, tc.r, got, tc.want)
		}
	}
	for range 1000 {
		if d := Backoff(3, time.Second, time.Minute, nil); d < 2*time.Second || d > 4*time.Second {
			t.Fatalf("Backoff(3) = %v, want within [2s, 4s]", d)
		}
	}
}

// fakeDeliverer delivers rows of its kind, failing with fail's answer.
type fakeDeliverer struct {
	mu   sync.Mutex
	rows []int64
	fail func(n int) error
}

func (d *fakeDeliverer) Deliver(_ context.Context, row leads.OutboxMessage) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rows = append(d.rows, row.ID)
	if d.fail != nil {
		return d.fail(len(d.rows))
	}
	return nil
}

// TestWorkerDeliverers: rows of a kind with a Deliverer go to it, not to
// the mail sender, with mail's outcomes: delivered, retried after a
// temporary failure (a panic is one), dead on a permanent one.
func TestWorkerDeliverers(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	s := &fakeSender{}
	w, _ := newWorker(t, st, s, clock)
	ok := &fakeDeliverer{}
	flaky := &fakeDeliverer{fail: func(n int) error {
		if n == 1 {
			return errTemporary
		}
		return nil
	}}
	gone := &fakeDeliverer{fail: func(int) error { return &PermanentError{Err: errTemporary} }}
	panicky := &fakeDeliverer{fail: func(n int) error {
		if n == 1 {
			panic("index out of range")
		}
		return nil
	}}
	w.Deliverers = map[string]Deliverer{"ok": ok, "flaky": flaky, "gone": gone, "panicky": panicky}
	ctx := context.Background()
	for _, kind := range []string{"ok", "flaky", "gone", "panicky"} {
		if err := st.QueueMail(ctx, leads.OutboxMessage{
			Kind: kind, Recipient: "hook", MessageID: "<" + kind + "@hooks>", Payload: []byte(`{}`),
		}); err != nil {
			t.Fatal(err)
		}
	}
	mail := testMessage(1, "zoe@example.org")
	queue(t, st, "test", mail)
	mustDrain(t, w)
	clock.Advance(time.Minute)
	mustDrain(t, w)

	if sent := s.Sent(); len(sent) != 1 || sent[0].MessageID != mail.MessageID {
		t.Errorf("mail sender got %v, want only the mail", sent)
	}
	for kind, want := range map[string]struct {
		status   string
		attempts int
	}{"ok": {leads.OutboxSent, 1}, "flaky": {leads.OutboxSent, 2}, "gone": {leads.OutboxDead, 1}, "panicky": {leads.OutboxSent, 2}} {
		if r := outboxRow(t, st, "<"+kind+"@hooks>"); r.Status != want.status || r.Attempts != want.attempts {
			t.Errorf("%s row: status %s after %d attempts, want %s after %d", kind, r.Status, r.Attempts, want.status, want.attempts)
		}
	}
}

// TestWorkerDeliversAtOnce: messages to different recipients are
// delivered at the same time. Each send waits until Concurrency of them
// are under way, which one-at-a-time delivery never reaches.
func TestWorkerDeliversAtOnce(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	var (
		mu       sync.Mutex
		inFlight int
		all      = make(chan struct{})
	)
	s := &fakeSender{fail: func(int, *Message) error {
		mu.Lock()
		inFlight++
		if inFlight == 4 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("the other sends did not begin meanwhile")
		}
	}}
	w, _ := newWorker(t, st, s, clock)
	w.Concurrency = 4
	var msgs []*Message
	for i := range 4 {
		msgs = append(msgs, testMessage(i, fmt.Sprintf("visitor%d@example.org", i)))
	}
	queue(t, st, "test", msgs...)
	mustDrain(t, w)
	for _, m := range msgs {
		if r := outboxRow(t, st, m.MessageID); r.Status != leads.OutboxSent || r.Attempts != 1 {
			t.Errorf("row %s: status %s, attempts %d", m.MessageID, r.Status, r.Attempts)
		}
	}
}

// TestWorkerOneRecipientInOrder: the messages of one recipient (whatever
// the case of the address) go one after another, in queue order, while
// other recipients' go at the same time.
func TestWorkerOneRecipientInOrder(t *testing.T) {
	clock := newClock()
	st := openStore(t, clock)
	var (
		mu      sync.Mutex
		busy    = map[string]bool{}
		order   = map[string][]string{}
		overlap []string
	)
	s := &fakeSender{fail: func(_ int, m *Message) error {
		k := strings.ToLower(m.To.Address)
		mu.Lock()
		if busy[k] {
			overlap = append(overlap, m.MessageID)
		}
		busy[k] = true
		order[k] = append(order[k], m.MessageID)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		busy[k] = false
		mu.Unlock()
		return nil
	}}
	w, _ := newWorker(t, st, s, clock)
	w.Concurrency, w.Batch = 4, 16
	to := []string{"ada@example.org", "bob@example.org", "ADA@Example.org", "cy@example.org"}
	want := map[string][]string{}
	var msgs []*Message
	for i := range 16 {
		m := testMessage(i, to[i%len(to)])
		msgs = append(msgs, m)
		k := strings.ToLower(m.To.Address)
		want[k] = append(want[k], m.MessageID)
	}
	queue(t, st, "test", msgs...)
	mustDrain(t, w)
	if len(overlap) > 0 {
		t.Errorf("sent while the same recipient's previous message was under way: %v", overlap)
	}
	for k, ids := range want {
		if !slices.Equal(order[k], ids) {
			t.Errorf("%s got %v, want %v (queue order)", k, order[k], ids)
		}
	}
}
