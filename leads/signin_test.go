package leads_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

func TestSignInThrottleByAccountAndAddress(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s := openStaffStore(t, db, c)
		st, err := s.AddStaff(ctx, "dana@example.com", "a long enough password", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		wrong := func(email, addr string) error {
			t.Helper()
			_, err := s.Authenticate(ctx, email, "wrong password!!", addr)
			return err
		}
		for i := range 5 {
			if err := wrong("Dana@Example.com ", "192.0.2.10"); !errors.Is(err, leads.ErrBadCredentials) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
			c.Add(time.Minute)
		}
		_, err = s.Authenticate(ctx, "dana@example.com", "a long enough password", "192.0.2.10")
		var le *leads.Error
		if !errors.As(err, &le) || le.Code != leads.ETOOMANY || le.Retry != 10*time.Minute {
			// The first of the five leaves the window 15 minutes after it came.
			t.Fatalf("sixth try from the same address: %#v", err)
		}
		if _, err := s.Authenticate(ctx, "dana@example.com", "a long enough password", "192.0.2.11"); err != nil {
			t.Fatalf("the owner, from elsewhere: %v", err)
		}

		// IPv6 addresses count by /64: a new address in the same one is no
		// new place to guess from.
		for i := range 5 {
			if err := wrong("dana@example.com", fmt.Sprintf("2001:db8:1:2::%x", i+1)); !errors.Is(err, leads.ErrBadCredentials) {
				t.Fatalf("IPv6 attempt %d: %v", i+1, err)
			}
		}
		if err := wrong("dana@example.com", "2001:db8:1:2:ffff::9"); leads.ErrorCode(err) != leads.ETOOMANY {
			t.Fatalf("same /64: %v", err)
		}
		if err := wrong("dana@example.com", "2001:db8:1:3::1"); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("another /64: %v", err)
		}

		f, err := s.SignInFailures(ctx, st.ID, time.Time{})
		if err != nil || f.Count != 11 || f.LastFrom != "2001:db8:1::/48" || !f.Last.Equal(c.Now()) {
			t.Fatalf("failures = %+v, %v", f, err)
		}
	})
}

// TestPurgeSignIns checks what is kept of an attempt, and for how long:
// the full address only while it counts, the masked one for the notice.
func TestPurgeSignIns(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s := openStaffStore(t, db, c)
		st, err := s.AddStaff(ctx, "dana@example.com", "a long enough password", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		s.Authenticate(ctx, "dana@example.com", "wrong password!!", "198.51.100.23")
		s.Authenticate(ctx, "nobody@example.com", "wrong password!!", "198.51.100.24")
		raw := leadstest.Raw(t, db)
		count := func(q string) int {
			t.Helper()
			var n int
			if err := raw.QueryRow(q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(`SELECT COUNT(*) FROM sign_in_attempts WHERE address IN ('198.51.100.23', '198.51.100.24')`); n != 2 {
			t.Fatalf("%d attempts with their address inside the window", n)
		}
		if n := count(`SELECT COUNT(*) FROM sign_in_attempts WHERE account LIKE '%@%'`); n != 0 {
			t.Fatal("a typed email is stored")
		}
		c.Add(15 * time.Minute)
		if _, err := s.PurgeSignIns(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM sign_in_attempts WHERE address <> '' OR staff_id IS NULL`); n != 0 {
			t.Fatalf("%d attempts keep a full address or an unknown account after the window", n)
		}
		if n := count(`SELECT COUNT(*) FROM sign_in_keys`); n != 0 {
			t.Fatalf("%d throttle keys kept after the window", n)
		}
		if f, err := s.SignInFailures(ctx, st.ID, time.Time{}); err != nil || f.Count != 1 || f.LastFrom != "198.51.100.x" {
			t.Fatalf("the notice lost its attempt: %+v, %v", f, err)
		}
		c.Add(leads.SignInKeep)
		if _, err := s.PurgeSignIns(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM sign_in_attempts`); n != 0 {
			t.Fatalf("%d attempts kept past %s", n, leads.SignInKeep)
		}
	})
}
