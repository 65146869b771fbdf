package leads

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// copyTables are the tables Copy carries over, parents before the rows
// that refer to them. copySkip are the ones it leaves: what each instance
// rebuilds (search index, rate counts, job turns) or the database keeps of
// itself. A test holds the two lists to the schema, so a new table cannot
// be forgotten.
var (
	copyTables = []string{
		"leads", "bookings", "erasures", "outbox", "spam", "settings",
		"staff", "sessions", "api_tokens", "sign_in_attempts", "audit", "audit_head", "calendar_state",
		"booking_settings", "booking_settings_state",
		"lead_events",
		"caldav_events", "booking_replies", "imap_messages",
		"webhook_endpoints",
		"article_stats",
	}
	copySkip = []string{"schema_migrations", "job_leases", "rate_counts", "sign_in_keys"}
)

// singletons are the one-row tables that migrations create with their
// first row; Copy overwrites that row instead of inserting.
var singletons = map[string]bool{"audit_head": true, "calendar_state": true, "booking_settings_state": true}

// noIDOrder orders the copied tables that have no id column (and so no
// id sequence to move).
var noIDOrder = map[string]string{"article_stats": "day, article, source"}

// copyBatch is how many rows go into one INSERT.
const copyBatch = 200

// CopyReport says what Copy carried over.
type CopyReport struct {
	Tables       []TableCount
	AuditEntries int // entries of the audit chain, verified on the copy
}

// CopyTo copies this store's data into the empty database at dst (a
// PostgreSQL URL, migrated first), keeping every id, then moves the
// destination's id sequences past them and verifies the audit chain
// there. It refuses a destination that holds any data. The source is read
// in one snapshot, so a server may keep running on it, but what it writes
// meanwhile is not copied: stop it first for a move.
func (s *Store) CopyTo(ctx context.Context, dst string) (*CopyReport, error) {
	if s.d != sqliteDialect || !isPostgresURL(dst) {
		return nil, fmt.Errorf("leads: copy: from a SQLite database to a postgres:// URL only")
	}
	to, err := Open(ctx, dst, Options{Now: s.now})
	if err != nil {
		return nil, err
	}
	defer to.Close()
	if err := to.checkEmpty(ctx); err != nil {
		return nil, err
	}
	src, err := s.r.BeginTx(ctx, s.d.snapshot)
	if err != nil {
		return nil, fmt.Errorf("leads: copy: %w", err)
	}
	defer src.Rollback()
	tx, err := to.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("leads: copy: %w", err)
	}
	defer tx.Rollback()
	rep := &CopyReport{}
	for _, table := range copyTables {
		n, err := copyTable(ctx, src, tx, table)
		if err != nil {
			return nil, fmt.Errorf("leads: copy %s: %w", table, err)
		}
		rep.Tables = append(rep.Tables, TableCount{Table: table, Rows: n})
	}
	// Identities hand out ids after the copied ones.
	for _, table := range copyTables {
		if singletons[table] || table == "settings" || table == "audit" || table == "booking_settings" || noIDOrder[table] != "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'),
			COALESCE((SELECT MAX(id) FROM `+table+`), 1), (SELECT COUNT(*) FROM `+table+`) > 0)`); err != nil {
			return nil, fmt.Errorf("leads: copy %s: move its id sequence: %w", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("leads: copy: commit: %w", err)
	}
	if rep.AuditEntries, err = to.VerifyAudit(ctx); err != nil {
		return rep, fmt.Errorf("leads: copy: the audit chain does not verify on the copy: %w", err)
	}
	return rep, nil
}

// checkEmpty refuses a database that holds any row of the copied tables
// beyond the ones its migrations write.
func (s *Store) checkEmpty(ctx context.Context) error {
	for _, table := range copyTables {
		var n int64
		q := `SELECT COUNT(*) FROM ` + table
		switch table {
		case "audit_head":
			q += ` WHERE last_id > 0`
		case "calendar_state", "booking_settings_state":
			q += ` WHERE version > 0`
		}
		if err := s.r.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("leads: copy: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("leads: copy: the destination is not empty (%s has %d rows): copy into a new database", table, n)
		}
	}
	return nil
}

// copyTable copies one table's rows, the columns both sides have (the
// destination's generated ones, such as the search vector, excepted).
func copyTable(ctx context.Context, src, dst *sql.Tx, table string) (int64, error) {
	cols, times, err := copyColumns(ctx, src, dst, table)
	if err != nil {
		return 0, err
	}
	list := strings.Join(cols, ", ")
	order := " ORDER BY id"
	switch table {
	case "settings":
		order = " ORDER BY key"
	case "booking_settings":
		order = " ORDER BY name"
	}
	if o := noIDOrder[table]; o != "" {
		order = " ORDER BY " + o
	}
	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+table+order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		n     int64
		batch []any
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		one := "(" + marks(len(cols)) + ")"
		values := strings.TrimSuffix(strings.Repeat(one+", ", len(batch)/len(cols)), ", ")
		q := `INSERT INTO ` + table + ` (` + list + `) VALUES ` + values
		if singletons[table] {
			q = singletonUpsert(table, cols, values)
		}
		if _, err := dst.ExecContext(ctx, q, batch...); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			// SQLite spells "no time" as '' in a few NOT NULL text
			// columns; PostgreSQL's time columns say NULL.
			if times[i] && (v == "" || fmt.Sprint(v) == "") {
				vals[i] = nil
			}
		}
		batch = append(batch, vals...)
		n++
		if len(batch) >= copyBatch*len(cols) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

func singletonUpsert(table string, cols []string, values string) string {
	set := make([]string, 0, len(cols))
	for _, c := range cols {
		if c != "id" {
			set = append(set, c+" = excluded."+c)
		}
	}
	return `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES ` + values +
		` ON CONFLICT (id) DO UPDATE SET ` + strings.Join(set, ", ")
}

// copyColumns returns the columns of table that the destination can be
// given, and which of them are time columns there; it refuses a column the
// source has and the destination lacks.
func copyColumns(ctx context.Context, src, dst *sql.Tx, table string) (cols []string, times []bool, err error) {
	rows, err := src.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, nil, err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	types := map[string]string{}
	rows, err = dst.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ? AND is_generated = 'NEVER'`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			return nil, nil, err
		}
		types[c] = t
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, c := range cols {
		t, ok := types[c]
		if !ok {
			return nil, nil, fmt.Errorf("column %s has no place in the destination", c)
		}
		times = append(times, t == "timestamp with time zone")
	}
	return cols, times, nil
}
