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

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
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

// Store is the SQLite system of record. It holds one writer connection,
// through which every write runs in an immediate transaction, and a pool of
// read-only connections for queries.
type Store struct {
	path string
	w    *sql.DB
	r    *sql.DB
	now  func() time.Time

	bookingsVersion atomic.Uint64
	pw              PasswordParams
	dummyHash       dummyHash
	signIn          SignInLimits
	hashSlots       chan struct{}
	hashWait        time.Duration
	check           func(encoded, password string) (bool, error)

	writes     chan writeReq
	closing    chan struct{}
	closeOnce  sync.Once
	writerDone chan struct{}
}

// Open opens (creating if needed) the database at path, applies pending
// migrations and returns the store. It refuses a database whose schema is
// newer than this binary knows.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("leads: open: empty database path")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	s, err := openWriter(ctx, path, opts.Now)
	if err != nil {
		return nil, err
	}
	s.pw = opts.Password
	if s.pw == (PasswordParams{}) {
		s.pw = DefaultPasswordParams
	}
	s.setSignIn(opts)
	w := s.w
	if opts.NoMigrate {
		if err := s.checkSchema(ctx); err != nil {
			w.Close()
			return nil, err
		}
	} else if _, err := s.migrate(ctx); err != nil {
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
	s.writes = make(chan writeReq)
	s.closing = make(chan struct{})
	s.writerDone = make(chan struct{})
	go s.writer()
	return s, nil
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
	return &Store{path: path, w: w, now: now}, nil
}

func dsn(path, params string) string {
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path), RawQuery: params}
	if !strings.HasPrefix(path, "/") {
		u.Opaque = path
	}
	return u.String()
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close stops the writer, after the batch it is running, and closes both
// pools.
func (s *Store) Close() error {
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

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := filepath.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("leads: migration %s: name must start with a positive number and '_'", base)
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
			return nil, fmt.Errorf("leads: migration %s: expected number %d", ms[i].name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion returns the highest migration this binary knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

func (s *Store) currentVersion(ctx context.Context) (int, error) {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("leads: migrations table: %w", err)
	}
	var v sql.NullInt64
	if err := s.w.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("leads: schema version: %w", err)
	}
	return int(v.Int64), nil
}

func (s *Store) checkSchema(ctx context.Context) error {
	cur, err := s.currentVersion(ctx)
	if err != nil {
		return err
	}
	if want := SchemaVersion(); cur != want {
		return fmt.Errorf("leads: database schema is version %d, this binary needs %d: run `leadbook migrate`", cur, want)
	}
	return nil
}

// migrate applies every pending migration, each in its own transaction, and
// returns how many it applied.
func (s *Store) migrate(ctx context.Context) (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	cur, err := s.currentVersion(ctx)
	if err != nil {
		return 0, err
	}
	if n := len(ms); cur > n {
		return 0, fmt.Errorf("leads: database schema version %d is newer than this binary's %d: refusing to serve it", cur, n)
	}
	applied := 0
	for _, m := range ms[cur:] {
		if err := s.apply(ctx, m); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("leads: migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("leads: migration %s: %w", m.name, err)
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

// Migrate opens the database at path, applies pending migrations, closes it
// and returns the number applied and the resulting version.
func Migrate(ctx context.Context, path string) (applied, version int, err error) {
	s, err := openWriter(ctx, path, time.Now)
	if err != nil {
		return 0, 0, err
	}
	defer s.w.Close()
	applied, err = s.migrate(ctx)
	if err != nil {
		return applied, 0, err
	}
	return applied, SchemaVersion(), nil
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}
