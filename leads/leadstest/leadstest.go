// Package leadstest gives tests a fresh, empty database on each engine the
// store runs on: a SQLite file in the test's temporary folder always, and
// a PostgreSQL database of its own when LEADBOOK_TEST_POSTGRES names a
// server (a postgres:// URL of a role that may create databases). With CI
// set, a missing server fails the test instead of skipping it, so that a
// green run cannot hide a suite that never reached PostgreSQL.
package leadstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", for the admin connection and Raw
	_ "github.com/mattn/go-sqlite3"    // "sqlite3", for Raw
)

// EnvPostgres names the PostgreSQL server the tests may use.
const EnvPostgres = "LEADBOOK_TEST_POSTGRES"

// Engines are the engines Each runs a test on, in order.
var Engines = []string{"sqlite", "postgres"}

// Each runs f as a subtest per engine, each with a database of its own
// (DB's value for that engine).
func Each(t *testing.T, f func(t *testing.T, db string)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			f(t, DB(t, engine))
		})
	}
}

// DB returns a new, empty database for engine: a SQLite file path, or the
// URL of a PostgreSQL database dropped when the test ends. It skips the
// test (fails it under CI) when engine is postgres and no server is named.
func DB(t testing.TB, engine string) string {
	t.Helper()
	switch engine {
	case "sqlite":
		return filepath.Join(t.TempDir(), "leadbook.db")
	case "postgres":
		return Postgres(t)
	}
	t.Fatalf("leadstest: unknown engine %q", engine)
	return ""
}

// Postgres creates a PostgreSQL database for t and returns its URL.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("leadstest: %s is not set: CI must run the store's tests on PostgreSQL (.ci/run starts a server)", EnvPostgres)
		}
		t.Skipf("leadstest: %s not set; the PostgreSQL half of the suite is skipped (.ci/run starts a server)", EnvPostgres)
	}
	db, err := adminDB(admin)
	if err != nil {
		t.Fatalf("leadstest: %s: %v", EnvPostgres, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "leadbook_test_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("leadstest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("leadstest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("leadstest: %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

func adminDB(u string) (*sql.DB, error) {
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", u)
		if adminErr == nil {
			admin.SetMaxOpenConns(4)
			adminErr = admin.PingContext(context.Background())
		}
	})
	return admin, adminErr
}

// Raw opens db (a DB value) directly with its engine's driver, for tests
// that look beneath the store. Write its queries with $1, $2 placeholders:
// both engines understand them.
func Raw(t testing.TB, db string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite3", "file:"+db
	if IsPostgres(db) {
		driver, dsn = "pgx", db
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// IsPostgres reports whether db is a PostgreSQL URL.
func IsPostgres(db string) bool {
	u, err := url.Parse(db)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql")
}
