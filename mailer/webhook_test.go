package mailer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"leadbook/leads"
)

// hookReceiver is a webhook endpoint on loopback that verifies every call
// with the Standard Webhooks reference library and answers status.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	verify *standardwebhooks.Webhook

	mu     sync.Mutex
	status int
	got    []receivedHook
}

type receivedHook struct {
	ID   string
	Type string
	Data json.RawMessage
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{t: t, status: http.StatusNoContent}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) setSecret(secret string) {
	v, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.verify = v
	r.mu.Unlock()
}

func (r *hookReceiver) setStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.verify.Verify(body, req.Header); err != nil {
		r.t.Errorf("signature of %s does not verify: %v", req.Header.Get("webhook-id"), err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Type == "" || b.Timestamp.IsZero() || len(b.Data) == 0 {
		r.t.Errorf("body %s: %v", body, err)
	}
	if r.status/100 == 2 {
		r.got = append(r.got, receivedHook{ID: req.Header.Get("webhook-id"), Type: b.Type, Data: b.Data})
	}
	w.WriteHeader(r.status)
}

func (r *hookReceiver) received() []receivedHook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedHook(nil), r.got...)
}

// hookWorker is a Worker over st whose webhook rows go to a
// WebhookDeliverer that may reach loopback (the receivers are there).
func hookWorker(st *leads.Store, clock *testClock) *Worker {
	return &Worker{
		Queue: st, Sender: &fakeSenderNone{}, Now: clock.Now, Rand: func() float64 { return 0 },
		Deliverers: map[string]Deliverer{leads.KindWebhook: &WebhookDeliverer{Store: st, AllowPrivate: true}},
	}
}

// fakeSenderNone fails the test's mail, of which there is none.
type fakeSenderNone struct{}

func (fakeSenderNone) Send(context.Context, *Message) error { return errors.New("no mail expected") }

func addHook(t *testing.T, st *leads.Store, rawURL string, events ...string) (*leads.WebhookEndpoint, string) {
	t.Helper()
	w, secret, err := st.AddWebhook(context.Background(), rawURL, events, leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	return w, secret
}

func createLead(t *testing.T, st *leads.Store, email string) *leads.Lead {
	t.Helper()
	l := &leads.Lead{Name: "Ada Lovelace", Email: email, Source: leads.SourceContact, ConsentVersion: "v1"}
	if _, err := st.CreateLead(context.Background(), l, nil); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWebhookDeliveredSigned(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	st := openStore(t, clock)
	rcv := newHookReceiver(t)
	_, secret := addHook(t, st, rcv.srv.URL+"/hooks?key=1", leads.EventLeadCreated)
	rcv.setSecret(secret)
	l := createLead(t, st, "ada@example.com")

	if err := hookWorker(st, clock).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := rcv.received()
	if len(got) != 1 || got[0].Type != leads.EventLeadCreated || !strings.HasPrefix(got[0].ID, "msg_") {
		t.Fatalf("received %+v", got)
	}
	var data leads.WebhookLead
	if err := json.Unmarshal(got[0].Data, &data); err != nil || data.ID != l.ID || data.Email != "ada@example.com" {
		t.Fatalf("data %s: %v", got[0].Data, err)
	}
	if st, _ := st.MailStats(ctx); st.Sent != 1 || st.Queued != 0 {
		t.Fatalf("outbox %+v", st)
	}
}

// A receiver that is down gets the event once it is back, with the same
// webhook-id, signed afresh.
func TestWebhookReceiverDownThenBack(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	st := openStore(t, clock)
	rcv := newHookReceiver(t)
	// Reserve an address, then close it: connections there are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w, secret := addHook(t, st, "http://"+addr+"/in", leads.EventLeadCreated)
	rcv.setSecret(secret)
	createLead(t, st, "ada@example.com")
	wk := hookWorker(st, clock)

	// Down: refused, then 503.
	if err := wk.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ := st.WebhookDeliveries(ctx, w.ID, 10)
	if len(d) != 1 || d[0].Status != leads.OutboxQueued || d[0].Attempts != 1 || d[0].LastError == "" || !d[0].NextAttemptAt.After(clock.Now()) {
		t.Fatalf("after a refused connection: %+v", d)
	}
	id := d[0].MessageID

	// Back up on that address, answering 503 first.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the address was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(rcv.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rcv.setStatus(http.StatusServiceUnavailable)
	clock.Advance(time.Hour)
	if err := wk.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ = st.WebhookDeliveries(ctx, w.ID, 10)
	if d[0].Status != leads.OutboxQueued || d[0].Attempts != 2 || !strings.Contains(d[0].LastError, "503") {
		t.Fatalf("after a 503: %+v", d[0])
	}

	rcv.setStatus(http.StatusOK)
	clock.Advance(time.Hour)
	if err := wk.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := rcv.received()
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("received %+v, want one delivery with webhook-id %s", got, id)
	}
	d, _ = st.WebhookDeliveries(ctx, w.ID, 10)
	if d[0].Status != leads.OutboxSent {
		t.Fatalf("after the receiver came back: %+v", d[0])
	}
}

func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	st := openStore(t, clock)
	rcv := newHookReceiver(t)
	w, secret := addHook(t, st, rcv.srv.URL, leads.EventLeadCreated)
	rcv.setSecret(secret)
	rcv.setStatus(http.StatusGone)
	createLead(t, st, "ada@example.com")
	createLead(t, st, "bob@example.com")
	wk := hookWorker(st, clock)
	wk.Batch = 1
	if err := wk.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ep, err := st.FindWebhook(ctx, w.ID)
	if err != nil || ep.Status != leads.WebhookDisabled || !strings.Contains(ep.DisabledReason, "410") {
		t.Fatalf("endpoint after 410: %+v %v", ep, err)
	}
	d, _ := st.WebhookDeliveries(ctx, w.ID, 10)
	statuses := map[string]int{}
	for _, m := range d {
		statuses[m.Status]++
	}
	// The one that got 410 is dead; the other was withdrawn with the endpoint.
	if statuses[leads.OutboxDead] != 1 || statuses[leads.OutboxCancelled] != 1 {
		t.Fatalf("deliveries after 410: %v", statuses)
	}
	// New events skip it.
	createLead(t, st, "cy@example.com")
	if d, _ := st.WebhookDeliveries(ctx, w.ID, 10); len(d) != 2 {
		t.Fatalf("a disabled endpoint got a new delivery: %d rows", len(d))
	}
}

func TestWebhookAnswers(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{http.StatusOK, leads.OutboxSent},
		{http.StatusAccepted, leads.OutboxSent},
		{http.StatusFound, leads.OutboxDead},
		{http.StatusBadRequest, leads.OutboxDead},
		{http.StatusUnauthorized, leads.OutboxDead},
		{http.StatusTooManyRequests, leads.OutboxDead},
		{http.StatusInternalServerError, leads.OutboxQueued},
		{http.StatusBadGateway, leads.OutboxQueued},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			ctx := context.Background()
			clock := newClock()
			st := openStore(t, clock)
			rcv := newHookReceiver(t)
			w, secret := addHook(t, st, rcv.srv.URL, leads.EventLeadCreated)
			rcv.setSecret(secret)
			rcv.setStatus(tc.status)
			createLead(t, st, "ada@example.com")
			if err := hookWorker(st, clock).Drain(ctx); err != nil {
				t.Fatal(err)
			}
			d, _ := st.WebhookDeliveries(ctx, w.ID, 10)
			if d[0].Status != tc.want {
				t.Fatalf("answer %d: delivery %s (%s), want %s", tc.status, d[0].Status, d[0].LastError, tc.want)
			}
			if ep, _ := st.FindWebhook(ctx, w.ID); ep.Status != leads.WebhookEnabled {
				t.Fatalf("answer %d disabled the endpoint", tc.status)
			}
		})
	}
}

// Without AllowPrivate, a loopback target is refused when it is added and,
// should it get in (a name that resolved elsewhere then, say), when the
// connection is made.
func TestWebhookPrivateAddressGuard(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{
		"http://127.0.0.1:8080/", "http://localhost/", "http://10.1.2.3/", "http://192.168.0.10/", "http://[::1]/",
		"http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://0.0.0.0/", "http://100.64.0.1/",
	} {
		if err := CheckWebhookTarget(ctx, u, false); leads.ErrorCode(err) != leads.EINVALID {
			t.Errorf("CheckWebhookTarget(%q) = %v, want refused", u, err)
		}
		if err := CheckWebhookTarget(ctx, u, true); err != nil {
			t.Errorf("CheckWebhookTarget(%q, allowed) = %v", u, err)
		}
	}
	if err := CheckWebhookTarget(ctx, "https://203.0.113.10/hook", false); err != nil {
		t.Errorf("a public address: %v", err)
	}

	clock := newClock()
	st := openStore(t, clock)
	rcv := newHookReceiver(t)
	w, secret := addHook(t, st, rcv.srv.URL, leads.EventLeadCreated)
	rcv.setSecret(secret)
	createLead(t, st, "ada@example.com")
	wk := &Worker{Queue: st, Sender: fakeSenderNone{}, Now: clock.Now,
		Deliverers: map[string]Deliverer{leads.KindWebhook: &WebhookDeliverer{Store: st}}}
	if err := wk.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rcv.received(); len(got) != 0 {
		t.Fatalf("the loopback receiver was reached: %+v", got)
	}
	d, _ := st.WebhookDeliveries(ctx, w.ID, 10)
	if d[0].Status != leads.OutboxDead || !strings.Contains(d[0].LastError, "private") {
		t.Fatalf("delivery to loopback: %+v", d[0])
	}
}

func TestSignWebhookMatchesReference(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	got, err := SignWebhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := standardwebhooks.NewWebhook(secret)
	want, _ := ref.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if got != want {
		t.Fatalf("signature %s, reference %s", got, want)
	}
}
