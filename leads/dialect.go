package leads

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// dialect is everything that differs between SQLite and PostgreSQL, in one
// place. The SQL of the store is one text per query; what cannot be said
// the same way on both engines is a field here, used by name.
type dialect struct {
	// name is "sqlite" or "postgres", also the folder of its migrations.
	name string
	// skipLocked ends a SELECT whose rows a claim takes: on PostgreSQL the
	// rows another transaction holds are passed over. SQLite has one
	// writer, so there is nothing to skip.
	skipLocked string
	// forUpdate ends a SELECT whose rows the transaction must hold until
	// it ends (the admins, while one is demoted or removed; the outbox rows
	// that a batch of "sent" marks takes, in order). SQLite's one writer
	// holds everything already.
	forUpdate string
	// day is the expression for the UTC calendar day (YYYY-MM-DD) of a
	// time column.
	day func(col string) string
	// timeText is the expression for a time column as stored text is on
	// SQLite (timeFormat: RFC 3339, UTC, milliseconds), for output that
	// goes out as it comes (the CSV export).
	timeText func(col string) string
	// emailKey is the expression that compares an address column in ASCII
	// letter case, as EmailKey and asciiLower do in Go, so that one key
	// finds the same rows on both engines (and an index on the expression
	// answers it).
	emailKey func(col string) string
	// byteOrder is the collation clause that orders text by its bytes
	// (SQLite's default; PostgreSQL's default follows the server's
	// locale), so that lists sort alike on both engines.
	byteOrder string
	// contains is the condition that expr holds the query's next
	// parameter as a substring.
	contains func(expr string) string
	// crlfSpace is the expression for the three characters CR LF space
	// (an iCalendar line fold).
	crlfSpace string
	// search is the WHERE condition of a word-prefix search of leads
	// (alias l); its one parameter is searchQuery's text.
	search string
	// searchFrom is the FROM clause that search needs, and searchID the
	// lead id column its index walks in order.
	searchFrom string
	searchID   string
	// searchQuery turns searchWords' words into the engine's query text.
	searchQuery func(words []string) string
	// constraint returns the name of the unique or exclusion constraint
	// that err violated, and whether it was such a violation. SQLite names
	// no constraint: its unique violations answer ("", true).
	constraint func(err error) (string, bool)
	// scrub are the statements that, after an erasure, make the erased
	// rows' bytes go from the engine's files as far as it allows.
	scrub []string
	// relaxed, when set, are the session settings of a pool of its own on
	// which the outbox's bookkeeping (claims, outcomes) runs, each a single
	// statement that commits without waiting for the log flush. Unset: the
	// bookkeeping runs in write transactions like any write.
	relaxed map[string]string
	// claimPlan, when set, is the statement that settles the plan of the
	// outbox claim that follows it in one transaction. A claim must walk
	// the queue index in its order and stop at its limit; where the
	// statistics are from before a burst (an outbox last analysed with an
	// empty queue), PostgreSQL's planner believes a row or two are queued
	// and would rather fetch every due row by bitmap and sort them,
	// thousands a claim. SQLite's planner takes the index.
	claimPlan string
	// gatherLeads, when set, writes the lead submissions that wait at the
	// same moment in one transaction of multi-row inserts (leadbatch.go).
	// SQLite's writer gathers every write already.
	gatherLeads bool
	// gatherBookings, when set, writes the bookings that wait at the same
	// moment in one transaction that takes the calendar's lock once
	// (bookbatch.go).
	gatherBookings bool
	// lockAddresses, when set, is the statement that takes a transaction's
	// locks on address keys (its parameter, addressLock's numbers, sorted):
	// a booking takes its caller's before it looks their lead up, so that
	// two bookings by one new address at once, on any instances, make one
	// lead. SQLite's one writer holds everything already.
	lockAddresses string
	// lockMigrations, when set, takes the lock that migrations run under
	// for the rest of the transaction.
	lockMigrations string
	// size returns the database's size on disk.
	size func(ctx context.Context, s *Store) (int64, error)
	// snapshot are the options of a read transaction that sees one
	// snapshot throughout (SQLite's WAL readers do from their first read).
	snapshot *sql.TxOptions
	// retryable reports whether a transaction that failed with err can be
	// run again from the start (a deadlock or serialization failure).
	retryable func(err error) bool
}

var sqliteDialect = &dialect{
	name:       "sqlite",
	skipLocked: "",
	forUpdate:  "",
	day:        func(col string) string { return "substr(" + col + ", 1, 10)" },
	emailKey:   func(col string) string { return "lower(" + col + ")" },
	timeText:   func(col string) string { return col },
	byteOrder:  " COLLATE BINARY",
	contains:   func(expr string) string { return "instr(" + expr + ", ?) > 0" },
	crlfSpace:  "char(13, 10, 32)",
	searchFrom: "leads_fts f JOIN leads l ON l.id = f.docid",
	searchID:   "f.docid",
	search:     "leads_fts MATCH ?",
	searchQuery: func(words []string) string {
		for i, w := range words {
			words[i] = w + "*"
		}
		return strings.Join(words, " ")
	},
	constraint: func(err error) (string, bool) {
		var se sqlite3.Error
		ok := errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
			(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
		return "", ok
	},
	snapshot: nil,
	size:     sqliteSize,
	scrub: []string{
		// Merge the search index so the erased words leave its old
		// segments; checkpoint the WAL into the file (secure_delete has
		// zeroed the freed pages there) and truncate it. The checkpoint is
		// best effort: a long read holds it off until the next one.
		`INSERT INTO leads_fts (leads_fts) VALUES ('optimize')`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	},
	retryable: func(error) bool { return false },
}

var postgresDialect = &dialect{
	name:       "postgres",
	skipLocked: " FOR UPDATE SKIP LOCKED",
	forUpdate:  " FOR UPDATE",
	day: func(col string) string {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	},
	// PostgreSQL's lower() folds every script; SQLite's and EmailKey's
	// only ASCII, so the key folds the same letters on both.
	emailKey: func(col string) string {
		return "translate(" + col + ", '" + asciiUpper + "', '" + asciiLowerLetters + "')"
	},
	contains:  func(expr string) string { return "strpos(" + expr + ", ?) > 0" },
	byteOrder: ` COLLATE "C"`,
	timeText: func(col string) string {
		return "to_char(" + col + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
	},
	crlfSpace:  "chr(13) || chr(10) || chr(32)",
	searchFrom: "leads l",
	searchID:   "l.id",
	// The words lose their accents as the documents did (migration 0002).
	search: "l.search @@ to_tsquery('simple', translate(?, '" + accented + "', '" + unaccented + "'))",
	searchQuery: func(words []string) string {
		// Words are letters and digits only (searchWords), so no
		// tsquery operator can reach the query.
		for i, w := range words {
			words[i] = w + ":*"
		}
		return strings.Join(words, " & ")
	},
	constraint: func(err error) (string, bool) {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "23P01") {
			return pe.ConstraintName, true
		}
		return "", false
	},
	// Deleted rows stay in dead tuples until a vacuum makes their space
	// reusable (and in the WAL and backups until those are recycled).
	// Instances starting together migrate once: the others wait here,
	// then find the migration applied.
	lockMigrations: `SELECT pg_advisory_xact_lock(7810756212520087403)`, // the bytes of "leadbook"
	lockAddresses:  `SELECT pg_advisory_xact_lock(k) FROM unnest(?::bigint[]) AS k ORDER BY k`,
	size:           postgresSize,
	relaxed:        map[string]string{"synchronous_commit": "off"},
	claimPlan:      `SET LOCAL enable_bitmapscan = off`,
	gatherLeads:    true,
	gatherBookings: true,
	scrub:          []string{`VACUUM leads, bookings, outbox, spam, erasures, lead_events`},
	snapshot:       &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
	retryable: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
	},
}

// accented and unaccented are the letters that the PostgreSQL search
// index takes the accents off, as migrations/postgres/0002_staff.sql
// writes them.
const (
	accented   = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżž"
	unaccented = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrssstuuuuuuuuyyzzz"
)

const (
	asciiUpper        = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	asciiLowerLetters = "abcdefghijklmnopqrstuvwxyz"
)

// IsServer reports whether db (a LEADBOOK_DB value) names a PostgreSQL
// server rather than a SQLite file.
func IsServer(db string) bool { return isPostgresURL(db) }

// CheckDB says what is wrong with db as a LEADBOOK_DB value, without
// repeating the value (a URL may hold a password).
func CheckDB(db string) error {
	if !isPostgresURL(db) {
		return nil
	}
	if _, err := pgx.ParseConfig(db); err != nil {
		return errors.New("not a valid PostgreSQL URL (postgres://user:password@host:port/database?sslmode=...)")
	}
	return nil
}

func isPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}
