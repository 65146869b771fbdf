package mailer

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"leadbook/leads"
)

// testClock is an injected clock that moves only when told to.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a log destination that tests read while workers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// testMessage returns a small valid message to the given recipient.
func testMessage(n int, to string) *Message {
	return &Message{
		From:      mail.Address{Name: "Bookings", Address: "bookings@example.com"},
		To:        mail.Address{Name: "Visitor", Address: to},
		Subject:   fmt.Sprintf("Test message %d", n),
		Text:      fmt.Sprintf("Hello number %d.\n", n),
		HTML:      fmt.Sprintf("<p>Hello number %d.</p>\n", n),
		MessageID: fmt.Sprintf("<test%04d@example.com>", n),
		Date:      time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
	}
}

func openStore(t *testing.T, clock *testClock) *leads.Store {
	t.Helper()
	st, err := leads.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), leads.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}

// queue stores msgs in the outbox and returns their row ids.
func queue(t *testing.T, st *leads.Store, kind string, msgs ...*Message) {
	t.Helper()
	rows := make([]leads.OutboxMessage, len(msgs))
	for i, m := range msgs {
		p, err := m.MarshalPayload()
		if err != nil {
			t.Fatalf("marshal payload: %v", err)
		}
		rows[i] = leads.OutboxMessage{Kind: kind, Recipient: m.To.Address, MessageID: m.MessageID, Payload: p}
	}
	if err := st.QueueMail(context.Background(), rows...); err != nil {
		t.Fatalf("queue mail: %v", err)
	}
}

// received is one message as the test SMTP server got it.
type received struct {
	From string
	To   []string
	Data []byte
	User string // the AUTH identity, "" without AUTH
	TLS  bool
}

// MessageID returns the Message-ID header of the received data.
func (r received) MessageID(t *testing.T) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parse received message: %v", err)
	}
	return m.Header.Get("Message-ID")
}

// failure tells the server to answer code at stage ("rcpt" or "data") for
// the next times transactions (times < 0: always).
type failure struct {
	stage string
	code  int
	times int
}

// smtpServer is an in-process SMTP server on 127.0.0.1 that records what
// it receives and can be told to fail or be stopped and started again on
// the same port.
type smtpServer struct {
	t        *testing.T
	addr     string
	tls      *tls.Config // offered as STARTTLS, or required from the start when implicit
	implicit bool
	user     string // AUTH PLAIN required when set
	pass     string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	fail     *failure
	got      []received
	arrivals chan received
	sessions int // connections opened
	ended    int // connections ended (QUIT, or closed by either side)
}

type serverOption func(*smtpServer)

func withSTARTTLS(c *tls.Config) serverOption {
	return func(s *smtpServer) { s.tls = c }
}

func withImplicitTLS(c *tls.Config) serverOption {
	return func(s *smtpServer) { s.tls, s.implicit = c, true }
}

func withAuth(user, pass string) serverOption {
	return func(s *smtpServer) { s.user, s.pass = user, pass }
}

func startSMTP(t *testing.T, opts ...serverOption) *smtpServer {
	t.Helper()
	s := &smtpServer{t: t, addr: "127.0.0.1:0", arrivals: make(chan received, 1000)}
	for _, o := range opts {
		o(s)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start listens (again) on the server's address.
func (s *smtpServer) Start() {
	s.t.Helper()
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("smtp listen: %v", err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &smtpSession{s: s, tls: isTLS}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if !s.implicit {
		srv.TLSConfig = s.tls
	} else {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the listener and every connection.
func (s *smtpServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Serve may not have registered the listener yet, so close it
		// here too: from now on the port refuses connections.
		_ = ln.Close()
		_ = srv.Close()
	}
}

func (s *smtpServer) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

func (s *smtpServer) Fail(stage string, code, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = &failure{stage: stage, code: code, times: times}
}

// failAt returns the error to answer at stage, if any, and counts it.
func (s *smtpServer) failAt(stage string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fail
	if f == nil || f.stage != stage || f.times == 0 {
		return nil
	}
	if f.times > 0 {
		f.times--
	}
	enh := smtp.EnhancedCode{f.code / 100, 0, 0}
	return &smtp.SMTPError{Code: f.code, EnhancedCode: enh, Message: "Told to fail by the test"}
}

func (s *smtpServer) Received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// Wait returns once n messages in all have arrived, or fails the test.
func (s *smtpServer) Wait(n int) []received {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := s.Received(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrivals:
		case <-deadline:
			s.t.Fatalf("smtp: %d messages arrived, want %d", len(s.Received()), n)
		}
	}
}

func (s *smtpServer) Config() SMTPConfig {
	return SMTPConfig{Host: "127.0.0.1", Port: s.Port(), TLS: TLSNone, Timeout: 5 * time.Second, HeloName: "test.local"}
}

type smtpSession struct {
	s    *smtpServer
	tls  bool
	user string
	cur  received
}

func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.pass {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if err := ss.s.failAt("mail"); err != nil {
		return err
	}
	if ss.s.user != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.cur = received{From: from, User: ss.user, TLS: ss.tls}
	return nil
}

func (ss *smtpSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := ss.s.failAt("rcpt"); err != nil {
		return err
	}
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := ss.s.failAt("data"); err != nil {
		return err
	}
	ss.cur.Data = b
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, ss.cur)
	ss.s.mu.Unlock()
	select {
	case ss.s.arrivals <- ss.cur:
	default:
	}
	return nil
}

func (ss *smtpSession) Reset() { ss.cur = received{} }

func (ss *smtpSession) Logout() error {
	ss.s.mu.Lock()
	ss.s.ended++
	ss.s.mu.Unlock()
	return nil
}

// Sessions returns how many connections were opened and how many ended.
func (s *smtpServer) Sessions() (opened, ended int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions, s.ended
}

// selfSigned returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1, and a client config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

// fakeSender records messages and fails as scripted.
type fakeSender struct {
	mu    sync.Mutex
	sent  []*Message
	calls int
	// fail returns the error for the n-th call (1-based), nil to succeed.
	fail func(n int, m *Message) error
	// sentCh, when set, receives every message sent.
	sentCh chan *Message
}

func (f *fakeSender) Send(ctx context.Context, m *Message) error {
	f.mu.Lock()
	f.calls++
	n := f.calls
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if err := fail(n, m); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.sent = append(f.sent, m)
	f.mu.Unlock()
	if f.sentCh != nil {
		f.sentCh <- m
	}
	return nil
}

func (f *fakeSender) Sent() []*Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*Message(nil), f.sent...)
}

var errTemporary = errors.New("test: temporary failure")
