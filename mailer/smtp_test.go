package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"
)

func newSMTPSender(t *testing.T, cfg SMTPConfig) *SMTPSender {
	t.Helper()
	s, err := NewSMTPSender(cfg)
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	return s
}

func TestSMTPSenderDelivers(t *testing.T) {
	srv := startSMTP(t)
	s := newSMTPSender(t, srv.Config())
	m := testMessage(1, "zoe@example.org")
	m.Subject = "Grüße"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Wait(1)
	if got[0].From != "bookings@example.com" || len(got[0].To) != 1 || got[0].To[0] != "zoe@example.org" {
		t.Errorf("envelope = %q -> %q", got[0].From, got[0].To)
	}
	if got[0].User != "" || got[0].TLS {
		t.Errorf("user %q, TLS %v on a plain connection", got[0].User, got[0].TLS)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if id := msg.Header.Get("Message-ID"); id != m.MessageID {
		t.Errorf("Message-ID = %q", id)
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subj != "Grüße" {
		t.Errorf("Subject = %q", subj)
	}
	if !bytes.Contains(got[0].Data, []byte("Hello number 1.")) {
		t.Errorf("body missing:\n%s", got[0].Data)
	}
}

func TestSMTPSenderTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name     string
		opts     []serverOption
		cfg      func(SMTPConfig) SMTPConfig
		wantUser string
		wantTLS  bool
		wantErr  bool
	}{
		{
			name: "starttls with AUTH PLAIN",
			opts: []serverOption{withSTARTTLS(serverTLS), withAuth("mailer", "s3cret")},
			cfg: func(c SMTPConfig) SMTPConfig {
				c.TLS, c.Username, c.Password, c.TLSConfig = TLSStartTLS, "mailer", "s3cret", clientTLS
				return c
			},
			wantUser: "mailer", wantTLS: true,
		},
		{
			name: "implicit tls with AUTH PLAIN",
			opts: []serverOption{withImplicitTLS(serverTLS), withAuth("mailer", "s3cret")},
			cfg: func(c SMTPConfig) SMTPConfig {
				c.TLS, c.Username, c.Password, c.TLSConfig = TLSImplicit, "mailer", "s3cret", clientTLS
				return c
			},
			wantUser: "mailer", wantTLS: true,
		},
		{
			name: "none without auth, STARTTLS offered but not used",
			opts: []serverOption{withSTARTTLS(serverTLS)},
			cfg:  func(c SMTPConfig) SMTPConfig { return c },
		},
		{
			name:    "starttls is mandatory",
			cfg:     func(c SMTPConfig) SMTPConfig { c.TLS, c.TLSConfig = TLSStartTLS, clientTLS; return c },
			wantErr: true,
		},
		{
			name:    "untrusted certificate",
			opts:    []serverOption{withSTARTTLS(serverTLS)},
			cfg:     func(c SMTPConfig) SMTPConfig { c.TLS = TLSStartTLS; return c },
			wantErr: true,
		},
		{
			name: "wrong password",
			opts: []serverOption{withSTARTTLS(serverTLS), withAuth("mailer", "s3cret")},
			cfg: func(c SMTPConfig) SMTPConfig {
				c.TLS, c.Username, c.Password, c.TLSConfig = TLSStartTLS, "mailer", "wrong", clientTLS
				return c
			},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t, tc.opts...)
			s := newSMTPSender(t, tc.cfg(srv.Config()))
			err := s.Send(context.Background(), testMessage(1, "zoe@example.org"))
			pingErr := s.Ping(context.Background())
			if tc.wantErr {
				if err == nil || pingErr == nil {
					t.Fatalf("Send: %v, Ping: %v; want errors", err, pingErr)
				}
				if Permanent(err) {
					t.Errorf("a connection or login failure is permanent: %v", err)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wrong") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || pingErr != nil {
				t.Fatalf("Send: %v, Ping: %v", err, pingErr)
			}
			got := srv.Wait(1)
			if got[0].User != tc.wantUser || got[0].TLS != tc.wantTLS {
				t.Errorf("user %q TLS %v, want %q %v", got[0].User, got[0].TLS, tc.wantUser, tc.wantTLS)
			}
		})
	}
}

func TestNewSMTPSenderConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg SMTPConfig
		ok  bool
	}{
		{SMTPConfig{Host: "smtp.example.com"}, true},
		{SMTPConfig{Host: "smtp.example.com", TLS: "STARTTLS", Port: 2525}, true},
		{SMTPConfig{Host: "smtp.example.com", TLS: "tls"}, true},
		{SMTPConfig{Host: "smtp.example.com", TLS: "none", Username: "u", Password: "p"}, true},
		{SMTPConfig{}, false},
		{SMTPConfig{Host: "smtp.example.com", TLS: "ssl"}, false},
		{SMTPConfig{Host: "smtp.example.com", Port: 70000}, false},
		{SMTPConfig{Host: "smtp.example.com", Timeout: -time.Second}, false},
	} {
		_, err := NewSMTPSender(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("NewSMTPSender(%+v) = %v, want ok %v", tc.cfg, err, tc.ok)
		}
	}
}

// TestSMTPErrorClassification checks Permanent and SMTPCode on the errors
// go-mail really returns for each kind of failure.
func TestSMTPErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		stage     string
		code      int
		permanent bool
	}{
		{"421 at MAIL", "mail", 421, false},
		{"550 at MAIL", "mail", 550, true},
		{"451 at RCPT", "rcpt", 451, false},
		{"550 at RCPT", "rcpt", 550, true},
		{"452 at DATA", "data", 452, false},
		{"554 at DATA", "data", 554, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSMTP(t)
			srv.Fail(tc.stage, tc.code, -1)
			s := newSMTPSender(t, srv.Config())
			err := s.Send(context.Background(), testMessage(1, "zoe@example.org"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := Permanent(err); got != tc.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			if code, esc := SMTPCode(err); code != tc.code || esc != fmt.Sprintf("%d.0.0", tc.code/100) {
				t.Errorf("SMTPCode = %d %q", code, esc)
			}
			if s := safeError(err); strings.Contains(s, "zoe") {
				t.Errorf("safeError shows the address: %q", s)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := startSMTP(t)
		srv.Stop()
		s := newSMTPSender(t, srv.Config())
		err := s.Send(context.Background(), testMessage(1, "zoe@example.org"))
		if err == nil || Permanent(err) {
			t.Fatalf("Send = %v, want a temporary error", err)
		}
		if code, _ := SMTPCode(err); code != 0 {
			t.Errorf("SMTPCode = %d", code)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// A listener that accepts and never greets.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		s := newSMTPSender(t, SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: TLSNone, Timeout: 100 * time.Millisecond})
		err = s.Send(context.Background(), testMessage(1, "zoe@example.org"))
		if err == nil || Permanent(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Send = %v, want a temporary deadline error", err)
		}
	})
}

func TestPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"context deadline", context.DeadlineExceeded, false},
		{"network error", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"PermanentError", &PermanentError{Err: errors.New("no")}, true},
		{"wrapped PermanentError", fmt.Errorf("outer: %w", &PermanentError{Err: errors.New("no")}), true},
		{"joined PermanentError", errors.Join(errors.New("a"), &PermanentError{Err: errors.New("b")}), true},
		{"no recipients", &gomail.SendError{Reason: gomail.ErrGetRcpts}, true},
		{"no sender", fmt.Errorf("send: %w", &gomail.SendError{Reason: gomail.ErrGetSender}), true},
		{"RCPT failed without a code (network)", &gomail.SendError{Reason: gomail.ErrSMTPRcptTo}, false},
		{"DATA close failed without a code", &gomail.SendError{Reason: gomail.ErrSMTPDataClose}, false},
		{"connection check", &gomail.SendError{Reason: gomail.ErrConnCheck}, false},
		{"RSET after delivery", &gomail.SendError{Reason: gomail.ErrSMTPReset}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Permanent(tc.err); got != tc.want {
				t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
