package leads

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// timeFormat is how instants are stored: RFC 3339 in UTC with a fixed
// number of fractional digits, so that text order is time order.
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("leads: parse stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// Options configures a Store.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ReadConns is the size of the read pool; 4 when zero.
	ReadConns int
	// NoMigrate makes Open refuse a database whose schema is behind the
	// binary instead of migrating it.
	NoMigrate bool
	// Password sets argon2id's cost; DefaultPasswordParams when zero.
	// Tests lower it.
	Password PasswordParams
	// SignIn bounds sign-in attempts; DefaultSignInLimits where zero.
	SignIn SignInLimits
	// Hashes caps the argon2id computations run at once; DefaultHashes()
	// when zero.
	Hashes int
	// HashWait is how long a sign-in waits for a hashing slot before it is
	// refused as busy; one second when zero.
	HashWait time.Duration
	// CheckPassword checks a password against its stored hash;
	// leads.CheckPassword when nil. Tests wrap it to count and pace checks.
	CheckPassword func(encoded, password string) (bool, error)
}

// Store is the system of record, on SQLite or PostgreSQL.
//
// On SQLite it holds one writer connection, through which every write runs
// in an immediate transaction, and a pool of read-only connections for
// queries. On PostgreSQL one pool serves both, and each write is a
// transaction of its own: the server orders them, and the rows that a
// promise rests on (the calendar, the audit head, a claimed message) are
// locked inside the transaction that relies on them.
type Store struct {
	path string // the SQLite file, or the PostgreSQL URL
	d    *dialect
	w    *sql.DB
	r    *sql.DB
	bk   *sql.DB // the outbox's bookkeeping pool (dialect.relaxed), or nil
	now  func() time.Time

	bookingsVersion dbVersion // the calendar's (calendar_state)
	rulesVersion    dbVersion // the booking settings' (booking_settings_state)

	pw        PasswordParams
	dummyHash dummyHash
	signIn    SignInLimits
	hashSlots chan struct{}
	hashWait  time.Duration
	check     func(encoded, password string) (bool, error)

	writes      chan writeReq
	leadReqs    chan *leadReq    // gathered lead submissions (dialect.gatherLeads)
	bookingReqs chan *bookingReq // gathered bookings (dialect.gatherBookings)
	// batchedBookings counts the bookings committed in batches of two or
	// more, for the tests that must see the batch path taken.
	batchedBookings atomic.Int64
	closing         chan struct{}
	batchersDone    chan struct{}
	closeOnce       sync.Once
	writerDone      chan struct{}
}

// Open opens the database that db names, applies pending migrations and
// returns the store: a postgres:// or postgresql:// URL is a PostgreSQL
// server, anything else the path of a SQLite file (created if needed). It
// refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, db string, opts Options) (*Store, error) {
	if db == "" {
		return nil, errors.New("leads: open: empty database path")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	var (
		s   *Store
		err error
	)
	if isPostgresURL(db) {
		s, err = openPostgresStore(ctx, db, opts)
	} else {
		s, err = openSQLiteStore(ctx, db, opts)
	}
	if err != nil {
		return nil, err
	}
	if s.d == sqliteDialect {
		s.writes = make(chan writeReq)
		s.closing = make(chan struct{})
		s.writerDone = make(chan struct{})
		go s.writer()
	}
	if s.d.gatherLeads || s.d.gatherBookings {
		s.startBatchers()
	}
	return s, nil
}

func (s *Store) prepare(ctx context.Context, opts Options) error {
	s.pw = opts.Password
	if s.pw == (PasswordParams{}) {
		s.pw = DefaultPasswordParams
	}
	s.setSignIn(opts)
	if opts.NoMigrate {
		return s.checkSchema(ctx)
	}
	_, err := s.migrate(ctx)
	return err
}

func openSQLiteStore(ctx context.Context, path string, opts Options) (*Store, error) {
	s, err := openWriter(ctx, path, opts.Now)
	if err != nil {
		return nil, err
	}
	w := s.w
	if err := s.prepare(ctx, opts); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", dsn(path, "mode=ro&_busy_timeout=5000&_foreign_keys=on&_query_only=1&_stmt_cache_size=64"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("leads: open reader: %w", err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	r.SetConnMaxIdleTime(0)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("leads: open reader %s: %w", path, err)
	}
	return s, nil
}

// postgresConns is the size of a PostgreSQL store's pool, and
// bookkeepingConns that of the outbox's bookkeeping pool beside it.
const (
	postgresConns    = 16
	bookkeepingConns = 4
)

func openPostgresStore(ctx context.Context, url string, opts Options) (*Store, error) {
	db, err := connectPostgres(ctx, url, nil, postgresConns)
	if err != nil {
		return nil, err
	}
	s := &Store{path: url, d: postgresDialect, w: db, r: db, now: opts.Now}
	if s.d.relaxed != nil {
		if s.bk, err = connectPostgres(ctx, url, s.d.relaxed, bookkeepingConns); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := s.prepare(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func connectPostgres(ctx context.Context, url string, params map[string]string, conns int) (*sql.DB, error) {
	db, err := openPostgres(url, params)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("leads: open PostgreSQL: %w", redactURL(err, url))
	}
	return db, nil
}

// redactURL keeps the database URL, which may hold a password, out of an
// error that is going to be printed or logged.
func redactURL(err error, url string) error {
	if !strings.Contains(err.Error(), url) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), url, "(LEADBOOK_DB)"))
}

// writerParams are the writer's settings: DESIGN.md's, plus secure_delete,
// so that an erased person's data is overwritten in the file rather than
// left in free pages.
const writerParams = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_secure_delete=on&_stmt_cache_size=64"

func openWriter(ctx context.Context, path string, now func() time.Time) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("leads: open: %w", err)
		}
	}
	w, err := sql.Open("sqlite3", dsn(path, writerParams))
	if err != nil {
		return nil, fmt.Errorf("leads: open writer: %w", err)
	}
	// One writer: SQLite serialises writers anyway, and a single connection
	// turns lock contention into an orderly queue in database/sql.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("leads: open %s: %w", path, err)
	}
	return &Store{path: path, d: sqliteDialect, w: w, now: now}, nil
}

func dsn(path, params string) string {
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path), RawQuery: params}
	if !strings.HasPrefix(path, "/") {
		u.Opaque = path
	}
	return u.String()
}

// Path returns the database file's path, or the PostgreSQL URL.
func (s *Store) Path() string { return s.path }

// Engine returns "sqlite" or "postgres".
func (s *Store) Engine() string { return s.d.name }

// Close stops the writer, after the batch it is running, and closes the
// pools.
func (s *Store) Close() error {
	if s.d == postgresDialect {
		if s.batchersDone != nil {
			s.closeOnce.Do(func() { close(s.closing) })
			<-s.batchersDone
		}
		if s.bk != nil {
			return errors.Join(s.bk.Close(), s.w.Close())
		}
		return s.w.Close()
	}
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.writerDone
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Ping checks that the database answers a query on the read pool and that
// the writer connection is usable.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("leads: ping: %w", err)
	}
	return nil
}

// Now returns the store's clock reading.
func (s *Store) Now() time.Time { return s.now() }

// migration is one numbered .sql file.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(d *dialect) ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/"+d.name+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := filepath.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("leads: migration %s/%s: name must start with a positive number and '_'", d.name, base)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("leads: migration %s/%s: expected number %d", d.name, ms[i].name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the highest migration this binary knows (the same
// on both engines: a test holds the two folders to the same numbers).
func SchemaVersion() int {
	ms, err := loadMigrations(sqliteDialect)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// schemaTx begins a transaction that sees the schema version without a
// race: on PostgreSQL it first takes the migration lock (held until the
// transaction ends), then makes sure the record of migrations exists and
// reads it.
func (s *Store) schemaTx(ctx context.Context) (*sql.Tx, int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("leads: migrations: %w", err)
	}
	if s.d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockMigrations); err != nil {
			tx.Rollback()
			return nil, 0, fmt.Errorf("leads: migrations: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		tx.Rollback()
		return nil, 0, fmt.Errorf("leads: migrations table: %w", err)
	}
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		tx.Rollback()
		return nil, 0, fmt.Errorf("leads: schema version: %w", err)
	}
	return tx, int(v.Int64), nil
}

func (s *Store) checkSchema(ctx context.Context) error {
	tx, cur, err := s.schemaTx(ctx)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("leads: schema version: %w", err)
	}
	if want := SchemaVersion(); cur != want {
		if cur > want {
			return fmt.Errorf("leads: database schema version %d is newer than this binary's %d: refusing to serve it", cur, want)
		}
		return fmt.Errorf("leads: database schema is version %d, this binary needs %d: run `leadbook migrate`", cur, want)
	}
	return nil
}

// migrate applies every pending migration, each in its own transaction
// (on PostgreSQL under the migration lock, so that of several instances
// starting at once one applies it and the others find it done), and
// returns how many it applied.
func (s *Store) migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations(s.d)
	if err != nil {
		return 0, err
	}
	applied := 0
	for {
		tx, cur, err := s.schemaTx(ctx)
		if err != nil {
			return applied, err
		}
		if n := len(ms); cur >= n {
			tx.Rollback()
			if cur > n {
				return applied, fmt.Errorf("leads: database schema version %d is newer than this binary's %d: refusing to serve it", cur, n)
			}
			return applied, nil
		}
		if err := s.apply(ctx, tx, ms[cur]); err != nil {
			tx.Rollback()
			return applied, err
		}
		applied++
	}
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, m migration) error {
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("leads: migration %s/%s: %w", s.d.name, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, formatTime(s.now())); err != nil {
		return fmt.Errorf("leads: migration %s: record: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("leads: migration %s: commit: %w", m.name, err)
	}
	return nil
}

// Migrate opens the database that db names, applies pending migrations,
// closes it and returns the number applied and the resulting version.
func Migrate(ctx context.Context, db string) (applied, version int, err error) {
	var s *Store
	if isPostgresURL(db) {
		pool, err := connectPostgres(ctx, db, nil, postgresConns)
		if err != nil {
			return 0, 0, err
		}
		s = &Store{path: db, d: postgresDialect, w: pool, now: time.Now}
	} else if s, err = openWriter(ctx, db, time.Now); err != nil {
		return 0, 0, err
	}
	defer s.w.Close()
	applied, err = s.migrate(ctx)
	if err != nil {
		return applied, 0, err
	}
	return applied, SchemaVersion(), nil
}

// isUnique reports whether err is a unique-constraint violation (or, on
// PostgreSQL, an exclusion-constraint one).
func isUnique(err error) bool {
	_, ok := violated(err)
	return ok
}

// violated returns the constraint that err violated, by name where the
// engine names it (PostgreSQL); never from the message text.
func violated(err error) (constraint string, ok bool) {
	if c, ok := sqliteDialect.constraint(err); ok {
		return c, true
	}
	return postgresDialect.constraint(err)
}
