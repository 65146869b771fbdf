package mailer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newDirect(t *testing.T, s Sender) (*Direct, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger(t)
	d := NewDirect(s, logger)
	d.BaseDelay, d.MaxDelay = time.Millisecond, 5*time.Millisecond
	return d, logs
}

func closeDirect(t *testing.T, d *Direct) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestDirectRetriesThenDelivers(t *testing.T) {
	// Every message fails twice, then goes through.
	failures := map[string]int{}
	s := &fakeSender{fail: func(n int, m *Message) error {
		if failures[m.MessageID] < 2 {
			failures[m.MessageID]++
			return errTemporary
		}
		return nil
	}}
	d, logs := newDirect(t, s)
	d.Send(testMessage(1, "zoe@example.org"), testMessage(2, "zoe@example.org"))
	d.Send(testMessage(3, "zoe@example.org"))
	closeDirect(t, d)
	if sent := s.Sent(); len(sent) != 3 {
		t.Fatalf("sent %d, want 3", len(sent))
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", logs)
	}
	noPersonalData(t, logs.String())
}

func TestDirectGivesUpLoudly(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"permanent failure", &PermanentError{Err: errors.New("550 no such user")}, "permanent failure"},
		{"too many attempts", errTemporary, "too many attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &fakeSender{fail: func(int, *Message) error { return tc.err }}
			d, logs := newDirect(t, s)
			d.MaxAttempts = 3
			d.Send(testMessage(1, "zoe@example.org"))
			closeDirect(t, d)
			out := logs.String()
			if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, tc.want) ||
				!strings.Contains(out, "message_id=<test0001@example.com>") {
				t.Errorf("no error line naming the message:\n%s", out)
			}
			noPersonalData(t, out)
		})
	}
}

func TestDirectQueueFull(t *testing.T) {
	block := make(chan struct{})
	s := &fakeSender{fail: func(int, *Message) error { <-block; return nil }}
	d, logs := newDirect(t, s)
	d.QueueSize = 2
	// The first is taken by the sender (blocked), two wait, the fourth
	// finds the queue full... unless the goroutine has not started yet,
	// so send enough to overflow either way.
	for i := range 5 {
		d.Send(testMessage(i, "zoe@example.org"))
	}
	close(block)
	closeDirect(t, d)
	out := logs.String()
	if !strings.Contains(out, "queue full") {
		t.Fatalf("no queue-full error:\n%s", out)
	}
	if n := len(s.Sent()) + strings.Count(out, "queue full"); n != 5 {
		t.Errorf("%d sent + dropped, want 5: every message is accounted for", n)
	}
}

func TestDirectCloseTimeout(t *testing.T) {
	s := &fakeSender{fail: func(int, *Message) error { return errTemporary }}
	d, logs := newDirect(t, s)
	d.BaseDelay, d.MaxDelay = time.Hour, time.Hour
	d.Send(testMessage(1, "zoe@example.org"), testMessage(2, "zoe@example.org"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline", err)
	}
	out := logs.String()
	for _, id := range []string{"<test0001@example.com>", "<test0002@example.com>"} {
		if !strings.Contains(out, "mailer stopped\" message_id="+id) {
			t.Errorf("%s not logged as given up:\n%s", id, out)
		}
	}
	d.Send(testMessage(3, "zoe@example.org"))
	if !strings.Contains(logs.String(), "stopping\" message_id=<test0003@example.com>") {
		t.Errorf("a Send after Close is not logged:\n%s", logs)
	}
}
