package main

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// freePort returns a loopback port that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// sinkMode is how the test SMTP server answers.
type sinkMode int

const (
	sinkAccept   sinkMode = iota // take every message
	sinkGreet421                 // answer the connection with 421 and hang up
	sinkMail451                  // greet, then refuse MAIL FROM with 451
)

// smtpSink is an SMTP server on 127.0.0.1 that counts each Message-ID it
// accepts, can refuse mail in the ways of a server in trouble, and can be
// stopped (connections refused) and started again on the same port.
type smtpSink struct {
	t    *testing.T
	addr string
	user string // AUTH PLAIN required when set
	pass string

	mu       sync.Mutex
	mode     sinkMode
	srv      *smtp.Server
	ln       net.Listener
	got      map[string]int // Message-ID -> deliveries
	data     [][]byte
	refused  int // connections and transactions refused
	sessions int
}

func startSink(t *testing.T) *smtpSink {
	t.Helper()
	s := &smtpSink{t: t, addr: "127.0.0.1:0", got: map[string]int{}}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *smtpSink) Port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

func (s *smtpSink) SetMode(m sinkMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Start listens (again) on the sink's address.
func (s *smtpSink) Start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("smtp sink listen: %v", err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &sinkSession{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(&greetListener{Listener: ln, s: s}) }()
}

// Stop closes the listener and every connection: the port refuses
// connections until Start.
func (s *smtpSink) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Delivered returns how often each Message-ID was accepted.
func (s *smtpSink) Delivered() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.got))
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

func (s *smtpSink) Data() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.data...)
}

func (s *smtpSink) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// greetListener answers connections itself with 421 in sinkGreet421 mode,
// as a server that is overloaded or shutting down does.
type greetListener struct {
	net.Listener
	s *smtpSink
}

func (l *greetListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		greet := l.s.mode == sinkGreet421
		if greet {
			l.s.refused++
		}
		l.s.mu.Unlock()
		if !greet {
			return c, nil
		}
		_, _ = c.Write([]byte("421 4.3.2 Service not available, try later\r\n"))
		// Read until the client gives up, so it sees the answer before
		// the connection closes.
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
}

type sinkSession struct {
	s    *smtpSink
	user string
	from string
}

func (ss *sinkSession) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.pass {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *sinkSession) Mail(from string, opts *smtp.MailOptions) error {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.user != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	if ss.s.mode == sinkMail451 {
		ss.s.refused++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local problem, try later"}
	}
	ss.from = from
	return nil
}

func (ss *sinkSession) Rcpt(to string, opts *smtp.RcptOptions) error { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unreadable: " + strconv.Quote(err.Error())}
	}
	ss.s.mu.Lock()
	ss.s.got[m.Header.Get("Message-ID")]++
	ss.s.data = append(ss.s.data, b)
	ss.s.mu.Unlock()
	return nil
}

func (ss *sinkSession) Reset() {}

func (ss *sinkSession) Logout() error { return nil }
