package leads_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// cheap keeps argon2id fast under the race detector; the format and the
// code path are the production ones.
var cheap = leads.PasswordParams{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// openStaffStore opens the store on db (a database of leadstest.DB) with
// cheap password hashing.
func openStaffStore(t *testing.T, db string, c *clock) *leads.Store {
	t.Helper()
	s, err := leads.Open(context.Background(), db, leads.Options{Now: c.Now, Password: cheap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestPasswordHashFormat(t *testing.T) {
	h, err := leads.HashPassword("correct horse battery", leads.DefaultPasswordParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(h, "$") != 5 {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := leads.HashPassword("correct horse battery", leads.DefaultPasswordParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterx": false, "": false} {
		ok, err := leads.CheckPassword(h, pw)
		if err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v", pw, ok, err)
		}
	}
	if _, err := leads.CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a non-argon2id hash was accepted")
	}
}

func TestStaffAccountsAndAuthenticate(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s := openStaffStore(t, db, newClock())
		if _, err := s.AddStaff(ctx, "dana@example.com", "short", leads.ActorCLI); leads.ErrorCode(err) != leads.EINVALID {
			t.Fatalf("short password: %v", err)
		}
		st, err := s.AddStaff(ctx, "dana@example.com", "a long enough password", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddStaff(ctx, "DANA@example.com", "a long enough password", leads.ActorCLI); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("duplicate account: %v", err)
		}
		got, err := s.Authenticate(ctx, "Dana@Example.com", "a long enough password", "192.0.2.1")
		if err != nil || got.ID != st.ID || got.Email != "dana@example.com" {
			t.Fatalf("Authenticate = %v, %v", got, err)
		}
		if _, err = s.Authenticate(ctx, "dana@example.com", "wrong password!!", "192.0.2.1"); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err = s.Authenticate(ctx, "nobody@example.com", "wrong password!!", "192.0.2.1"); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("unknown account: %v", err)
		}
		if err := s.SetStaffPassword(ctx, "dana@example.com", "another long password", leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "dana@example.com", "another long password", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListStaff(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("ListStaff = %v, %v", list, err)
		}
		if err := s.RemoveStaff(ctx, "dana@example.com", leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveStaff(ctx, "dana@example.com", leads.ActorCLI); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("second remove: %v", err)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s := openStaffStore(t, db, c)
		st, err := s.AddStaff(ctx, "dana@example.com", "a long enough password", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		p := leads.SessionPolicy{Idle: 2 * time.Hour, Absolute: 12 * time.Hour}
		tok, err := s.CreateSession(ctx, st.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := leadstest.Raw(t, db).QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, tok).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("the raw token is stored")
		}
		// Used every 90 minutes, it lives until the absolute limit.
		for i := 0; i < 7; i++ {
			c.Add(90 * time.Minute)
			if _, err := s.FindSession(ctx, tok, p); err != nil {
				t.Fatalf("after %d uses: %v", i+1, err)
			}
		}
		c.Add(90 * time.Minute) // 12h since sign-in
		if _, err := s.FindSession(ctx, tok, p); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("past the absolute limit: %v", err)
		}
		tok2, _ := s.CreateSession(ctx, st.ID, p)
		c.Add(2*time.Hour + time.Second)
		if _, err := s.FindSession(ctx, tok2, p); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("idle session: %v", err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s := openStaffStore(t, db, newClock())
		tok, at, err := s.CreateToken(ctx, "crm sync", leads.ActorCLI)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, leads.TokenPrefix) {
			t.Fatalf("token %q", tok)
		}
		if _, _, err := s.CreateToken(ctx, "crm sync", leads.ActorCLI); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("duplicate name: %v", err)
		}
		if got, err := s.FindToken(ctx, tok); err != nil || got.ID != at.ID {
			t.Fatalf("FindToken = %v, %v", got, err)
		}
		if _, err := s.FindToken(ctx, tok+"x"); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("wrong token: %v", err)
		}
		if err := s.RevokeToken(ctx, "crm sync", leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindToken(ctx, tok); !errors.Is(err, leads.ErrBadCredentials) {
			t.Fatalf("revoked token: %v", err)
		}
		// The name is free again once revoked.
		if _, _, err := s.CreateToken(ctx, "crm sync", leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		list, _ := s.ListTokens(ctx)
		if len(list) != 2 || list[1].RevokedAt.IsZero() {
			t.Fatalf("tokens %+v", list)
		}
	})
}

// dropAuditGuards removes what keeps the audit log append-only (SQLite's
// two triggers, PostgreSQL's one), as someone tampering with the database
// directly would.
func dropAuditGuards(t *testing.T, raw *sql.DB, db string) {
	t.Helper()
	drops := []string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`}
	if leadstest.IsPostgres(db) {
		drops = []string{`DROP TRIGGER audit_no_update ON audit`}
	}
	for _, q := range drops {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s := openStaffStore(t, db, newClock())
		for i := 0; i < 5; i++ {
			if err := s.Audit(ctx, leads.Actor{Kind: "staff", ID: 1}, leads.AuditExport, "", `{"rows":1}`); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.VerifyAudit(ctx); err != nil || n != 5 {
			t.Fatalf("VerifyAudit = %d, %v", n, err)
		}
		raw := leadstest.Raw(t, db)
		if _, err := raw.Exec(`UPDATE audit SET detail = 'x' WHERE id = 2`); err == nil {
			t.Fatal("the trigger let an UPDATE through")
		}
		if _, err := raw.Exec(`DELETE FROM audit WHERE id = 2`); err == nil {
			t.Fatal("the trigger let a DELETE through")
		}
		exec := func(q string) {
			t.Helper()
			if _, err := raw.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		dropAuditGuards(t, raw, db)
		exec(`UPDATE audit SET detail = '{"rows":999}' WHERE id = 3`)
		var ae *leads.AuditError
		if _, err := s.VerifyAudit(ctx); !errors.As(err, &ae) || ae.ID != 3 || !strings.Contains(err.Error(), "edited") {
			t.Fatalf("edited row: %v", err)
		}
		exec(`UPDATE audit SET detail = '{"rows":1}' WHERE id = 3`)
		if _, err := s.VerifyAudit(ctx); err != nil {
			t.Fatalf("restored: %v", err)
		}
		exec(`DELETE FROM audit WHERE id = 2`)
		if _, err := s.VerifyAudit(ctx); !errors.As(err, &ae) || ae.ID != 3 || !strings.Contains(err.Error(), "removed") {
			t.Fatalf("deleted row: %v", err)
		}
	})
}

func TestAuditChainDetectsCutTail(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		s := openStaffStore(t, db, newClock())
		for i := 0; i < 3; i++ {
			if err := s.Audit(ctx, leads.ActorCLI, leads.AuditTokenCreate, "token:1", ""); err != nil {
				t.Fatal(err)
			}
		}
		raw := leadstest.Raw(t, db)
		dropAuditGuards(t, raw, db)
		if _, err := raw.Exec(`DELETE FROM audit WHERE id = 3`); err != nil {
			t.Fatal(err)
		}
		var ae *leads.AuditError
		if _, err := s.VerifyAudit(ctx); !errors.As(err, &ae) || ae.ID != 3 {
			t.Fatalf("cut tail: %v", err)
		}
	})
}
