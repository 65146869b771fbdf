package leads

import (
	"context"
	"strings"
	"testing"
	"time"

	"leadbook/leads/leadstest"
)

// TestRolesMigrationKeepsAccountsAdmins migrates a database that has
// accounts made before roles existed: they all become admins, so nobody
// is locked out of what they could do; the next account is staff.
func TestRolesMigrationKeepsAccountsAdmins(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		var (
			old *Store
			err error
		)
		if isPostgresURL(db) {
			pool, perr := connectPostgres(ctx, db, nil, postgresConns)
			if perr != nil {
				t.Fatal(perr)
			}
			old = &Store{path: db, d: postgresDialect, w: pool, now: time.Now}
		} else if old, err = openWriter(ctx, db, time.Now); err != nil {
			t.Fatal(err)
		}
		ms, err := loadMigrations(old.d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if strings.HasSuffix(m.name, "_admin.sql") {
				break
			}
			tx, _, err := old.schemaTx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := old.apply(ctx, tx, m); err != nil {
				t.Fatal(err)
			}
		}
		now := formatTime(time.Now())
		for _, email := range []string{"ann@example.com", "bob@example.com"} {
			if _, err := old.w.ExecContext(ctx, `INSERT INTO staff (email, password_hash, created_at, updated_at) VALUES (?, 'x', ?, ?)`, email, now, now); err != nil {
				t.Fatal(err)
			}
		}
		old.w.Close()

		s, err := Open(ctx, db, Options{Password: PasswordParams{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		list, err := s.ListStaff(ctx)
		if err != nil || len(list) != 2 || list[0].Role != RoleAdmin || list[1].Role != RoleAdmin {
			t.Fatalf("after the migration: %+v %v", list, err)
		}
		st, err := s.AddStaff(ctx, "cy@example.com", "a long enough password", ActorCLI)
		if err != nil || st.Role != RoleStaff {
			t.Fatalf("the next account: %+v %v", st, err)
		}
	})
}
