package leads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// BackupReport describes a backup copy: the result of its integrity check
// and the rows of each table.
type BackupReport struct {
	Path      string
	Bytes     int64
	Integrity string // "ok" for a sound copy
	Tables    []TableCount
}

// TableCount is the number of rows in one table.
type TableCount struct {
	Table string
	Rows  int64
}

// Backup writes a consistent copy of the database at path to dst with
// VACUUM INTO, on a connection of its own, so it runs while a server
// writes: the copy is the database as of one read transaction. It then
// opens the copy read-only, runs PRAGMA integrity_check and counts the rows
// of every table. dst must not exist. It returns an error when the copy
// fails its check.
func Backup(ctx context.Context, path, dst string) (*BackupReport, error) {
	if isPostgresURL(path) {
		return nil, fmt.Errorf("leads: backup: on PostgreSQL, back up with the server's own tool, which copies one consistent snapshot while leadbook runs:\n  pg_dump --format=custom --file=%s '%s'\n(restore with pg_restore into an empty database)", dst, Describe(path))
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("leads: backup: %w", err)
	}
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("leads: backup: %s already exists", dst)
	}
	src, err := sql.Open("sqlite3", dsn(path, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return nil, fmt.Errorf("leads: backup: %w", err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		os.Remove(dst)
		return nil, fmt.Errorf("leads: backup: vacuum into %s: %w", dst, err)
	}
	rep, err := Inspect(ctx, dst)
	if err != nil {
		return nil, err
	}
	if rep.Integrity != "ok" {
		return rep, fmt.Errorf("leads: backup: integrity check of the copy failed: %s", rep.Integrity)
	}
	return rep, nil
}

// Inspect opens the database at path read-only and reports its
// integrity_check result and the rows of each table.
func Inspect(ctx context.Context, path string) (*BackupReport, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("leads: inspect: %w", err)
	}
	db, err := sql.Open("sqlite3", dsn(path, "mode=ro&_busy_timeout=5000"))
	if err != nil {
		return nil, fmt.Errorf("leads: inspect: %w", err)
	}
	defer db.Close()
	rep := &BackupReport{Path: path, Bytes: fi.Size()}
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return nil, fmt.Errorf("leads: inspect: integrity check: %w", err)
	}
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return nil, fmt.Errorf("leads: inspect: integrity check: %w", err)
		}
		lines = append(lines, line)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("leads: inspect: integrity check: %w", err)
	}
	rep.Integrity = strings.Join(lines, "; ")
	names, err := tableNames(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		var n int64
		// The name comes from sqlite_schema, not from outside.
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+strings.ReplaceAll(name, `"`, `""`)+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("leads: inspect: count %s: %w", name, err)
		}
		rep.Tables = append(rep.Tables, TableCount{Table: name, Rows: n})
	}
	return rep, nil
}

func tableNames(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("leads: inspect: tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("leads: inspect: tables: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: inspect: tables: %w", err)
	}
	return names, nil
}

// Size returns the database's size on disk: the SQLite file plus its
// write-ahead log, or what PostgreSQL reports for the database.
func (s *Store) Size(ctx context.Context) (int64, error) {
	n, err := s.d.size(ctx, s)
	if err != nil {
		return 0, fmt.Errorf("leads: size: %w", err)
	}
	return n, nil
}

// sqliteSize adds up the SQLite file and its write-ahead log.
func sqliteSize(_ context.Context, s *Store) (int64, error) {
	var total int64
	for _, name := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(name)
		if errors.Is(err, os.ErrNotExist) && name != s.path {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// postgresSize asks the server.
func postgresSize(ctx context.Context, s *Store) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// PoolStats returns the figures of the pool that writes go through (on
// SQLite the one writer connection, on PostgreSQL the whole pool).
func (s *Store) PoolStats() sql.DBStats { return s.w.Stats() }

// Describe names the database that db (a LEADBOOK_DB value) points to,
// fit for logs and output: a PostgreSQL URL without its password.
func Describe(db string) string {
	if !isPostgresURL(db) {
		return db
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// SetMaxPageCount caps the database at n pages on the writer connection
// (PRAGMA max_page_count) and returns the cap in force afterwards, which
// SQLite never lets fall below the current size. Writes that need more
// pages fail with SQLITE_FULL, as on a full disk. It is for tests and
// operations drills of the disk-full path; a large n lifts the cap again.
func (s *Store) SetMaxPageCount(ctx context.Context, n int64) (int64, error) {
	// The writer pool holds exactly one connection, so the pragma reaches
	// the connection every write uses.
	var got int64
	if err := s.w.QueryRowContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n)).Scan(&got); err != nil {
		return 0, fmt.Errorf("leads: max page count: %w", err)
	}
	return got, nil
}

// IsFull reports whether err comes from a database or disk that is full.
func IsFull(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrFull
}
