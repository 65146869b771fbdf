package mailer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// waitSessions waits until the server has seen want connections end.
func waitSessions(t *testing.T, srv *smtpServer, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		opened, ended := srv.Sessions()
		if ended >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sessions ended, want %d", ended, opened, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSMTPSenderReusesSessions(t *testing.T) {
	srv := startSMTP(t)
	s := newSMTPSender(t, srv.Config())
	for i := range 5 {
		if err := s.Send(context.Background(), testMessage(i, "zoe@example.org")); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	got := srv.Wait(5)
	for i, r := range got {
		if id := r.MessageID(t); id != fmt.Sprintf("<test%04d@example.com>", i) {
			t.Errorf("message %d arrived as %s", i, id)
		}
	}
	if opened, ended := srv.Sessions(); opened != 1 || ended != 0 {
		t.Errorf("five messages one after another: %d sessions opened, %d ended; want one, still open", opened, ended)
	}

	// At once, each Send has a session of its own, and no more are kept
	// open afterwards than the pool holds.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() { errs <- s.Send(context.Background(), testMessage(100+i, fmt.Sprintf("v%d@example.org", i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	srv.Wait(25)
	opened, ended := srv.Sessions()
	if opened > 21 {
		t.Errorf("%d sessions for 20 messages at once", opened)
	}
	if open := opened - ended; open > sessionsKept {
		t.Errorf("%d sessions left open, want at most %d", open, sessionsKept)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitSessions(t, srv, opened)
	// A sender still sends after Close, and keeps no session.
	if err := s.Send(context.Background(), testMessage(200, "zoe@example.org")); err != nil {
		t.Fatalf("Send after Close: %v", err)
	}
	waitSessions(t, srv, opened+1)
}

func TestSMTPSenderClosesIdleSessions(t *testing.T) {
	srv := startSMTP(t)
	s := newSMTPSender(t, srv.Config())
	s.pool.idleFor = 50 * time.Millisecond
	if err := s.Send(context.Background(), testMessage(1, "zoe@example.org")); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, srv, 1) // the timer said QUIT
	if err := s.Send(context.Background(), testMessage(2, "zoe@example.org")); err != nil {
		t.Fatal(err)
	}
	srv.Wait(2)
	if opened, _ := srv.Sessions(); opened != 2 {
		t.Errorf("%d sessions opened, want 2", opened)
	}
}

// TestSMTPSenderSessionLost: a session the server dropped while it was idle
// (a restart, its idle timeout), or one it refuses more mail on, costs
// nothing but a new connection; the message is sent once.
func TestSMTPSenderSessionLost(t *testing.T) {
	t.Run("server restarted", func(t *testing.T) {
		srv := startSMTP(t)
		s := newSMTPSender(t, srv.Config())
		if err := s.Send(context.Background(), testMessage(1, "zoe@example.org")); err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		srv.Start()
		if err := s.Send(context.Background(), testMessage(2, "zoe@example.org")); err != nil {
			t.Fatalf("Send after the server dropped the idle session: %v", err)
		}
		if got := srv.Wait(2); len(got) != 2 || got[1].MessageID(t) != "<test0002@example.com>" {
			t.Errorf("received %d messages", len(got))
		}
	})
	t.Run("421 at MAIL on a reused session", func(t *testing.T) {
		srv := startSMTP(t)
		s := newSMTPSender(t, srv.Config())
		if err := s.Send(context.Background(), testMessage(1, "zoe@example.org")); err != nil {
			t.Fatal(err)
		}
		srv.Fail("mail", 421, 1)
		if err := s.Send(context.Background(), testMessage(2, "zoe@example.org")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		srv.Wait(2)
		if opened, _ := srv.Sessions(); opened != 2 {
			t.Errorf("%d sessions opened, want 2", opened)
		}
	})
	t.Run("451 at MAIL on a new session", func(t *testing.T) {
		// Not tried again at once: the worker's backoff decides.
		srv := startSMTP(t)
		s := newSMTPSender(t, srv.Config())
		srv.Fail("mail", 451, 1)
		if err := s.Send(context.Background(), testMessage(1, "zoe@example.org")); err == nil || Permanent(err) {
			t.Fatalf("Send = %v, want a temporary error", err)
		}
		if opened, _ := srv.Sessions(); opened != 1 || len(srv.Received()) != 0 {
			t.Errorf("%d sessions, %d messages; want 1 and none", opened, len(srv.Received()))
		}
	})
	t.Run("failure after MAIL", func(t *testing.T) {
		// A reused session that fails later is not tried again: the
		// message may have been taken.
		srv := startSMTP(t)
		s := newSMTPSender(t, srv.Config())
		if err := s.Send(context.Background(), testMessage(1, "zoe@example.org")); err != nil {
			t.Fatal(err)
		}
		srv.Fail("data", 451, 1)
		if err := s.Send(context.Background(), testMessage(2, "zoe@example.org")); err == nil {
			t.Fatal("Send succeeded")
		}
		if opened, _ := srv.Sessions(); opened != 1 {
			t.Errorf("%d sessions opened, want 1", opened)
		}
		waitSessions(t, srv, 1) // the failed session is not kept
		if err := s.Send(context.Background(), testMessage(3, "zoe@example.org")); err != nil {
			t.Fatal(err)
		}
		if got := srv.Wait(2); got[1].MessageID(t) != "<test0003@example.com>" {
			t.Errorf("second message = %s", got[1].MessageID(t))
		}
	})
}
