package leads

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Actor says who did something: a staff account, an API token, the command
// line, the server itself, or the visitor of a booking acting on it
// through their manage link (ActorVisitor, which names no one: the
// entry's subject says whose booking). It is what the audit log and the
// erasure record name.
type Actor struct {
	Kind string // "staff", "token", "cli", "system" or "visitor"
	ID   int64  // the staff account's or token's id; 0 for cli and system
}

// Actors without an id.
var (
	ActorCLI    = Actor{Kind: "cli"}
	ActorSystem = Actor{Kind: "system"}
	// ActorVisitor is a booking's own visitor: their cancel or move, in
	// the booking's history.
	ActorVisitor = Actor{Kind: "visitor"}
)

func (a Actor) String() string {
	if a.ID == 0 {
		if a.Kind == "" {
			return "unknown"
		}
		return a.Kind
	}
	return a.Kind + ":" + strconv.FormatInt(a.ID, 10)
}

// Audit actions.
const (
	AuditSignIn        = "sign_in"
	AuditSignInFailed  = "sign_in_failed"
	AuditSignOut       = "sign_out"
	AuditExport        = "export"
	AuditPersonExport  = "person_export"
	AuditErasure       = "erasure"
	AuditErasureDone   = "erasure_done"
	AuditRetention     = "retention_purge"
	AuditMailRetry     = "mail_retry"
	AuditNotSpam       = "not_spam"
	AuditTokenCreate   = "token_create"
	AuditTokenRevoke   = "token_revoke"
	AuditStaffAdd      = "staff_add"
	AuditStaffRemove   = "staff_remove"
	AuditStaffPassword = "staff_password"
)

// AuditEntry is one line of the audit log. Subject and Detail hold ids and
// counts, never a visitor's personal data (a lead is "lead:42", not an
// email).
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string
	Action   string
	Subject  string
	Detail   string
	PrevHash string
	Hash     string
}

// auditGenesis is the previous hash of the first entry.
const auditGenesis = "0000000000000000000000000000000000000000000000000000000000000000"

// auditHash is the chain link: SHA-256 over the previous hash and every
// field, each length-prefixed so no two entries can hash alike by moving
// text between fields.
func auditHash(e *AuditEntry) string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, strconv.FormatInt(e.ID, 10), formatTime(e.At), e.Actor, e.Action, e.Subject, e.Detail} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// appendAudit adds an entry inside tx, chained to the last one. The head
// row is the chain's lock: raising its id takes the row until tx ends, so
// concurrent writers (other instances on PostgreSQL) append one after
// another, each after the entry before it, instead of colliding.
func appendAudit(ctx context.Context, tx *sql.Tx, now time.Time, actor Actor, action, subject, detail string) error {
	e := AuditEntry{At: now, Actor: actor.String(), Action: action, Subject: subject, Detail: detail}
	if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1
		RETURNING last_id, last_hash`).Scan(&e.ID, &e.PrevHash); err != nil {
		return fmt.Errorf("leads: audit head: %w", err)
	}
	e.Hash = auditHash(&e)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, formatTime(e.At), e.Actor, e.Action, e.Subject, e.Detail, e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("leads: audit: %w", err)
	}
	// The head also lets Verify notice that entries were cut off the end.
	if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET last_hash = ? WHERE id = 1`, e.Hash); err != nil {
		return fmt.Errorf("leads: audit head: %w", err)
	}
	return nil
}

// Audit appends one entry to the audit log.
func (s *Store) Audit(ctx context.Context, actor Actor, action, subject, detail string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return appendAudit(ctx, tx, s.now(), actor, action, subject, detail)
	})
}

// ListAudit returns the newest entries first, at most limit.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit
		ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("leads: list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: list audit: %w", err)
	}
	return out, nil
}

func scanAudit(row rowScanner) (AuditEntry, error) {
	var (
		e  AuditEntry
		at string
	)
	if err := row.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return e, fmt.Errorf("leads: scan audit: %w", err)
	}
	// Entries are written with whole milliseconds (timeFormat). A time
	// that does not parse, or holds a finer part, was edited: the check
	// must still go on, so it is carried into the hashed text instead.
	// (The same instant in other words, as PostgreSQL renders it, is the
	// same entry.)
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil || !t.Equal(t.Truncate(time.Millisecond)) {
		e.Detail = "\x00unparsable time " + at + "\x00" + e.Detail
		return e, nil
	}
	e.At = t.UTC()
	return e, nil
}

// AuditError names the first entry where the chain breaks.
type AuditError struct {
	ID     int64
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("leads: audit entry %d: %s", e.ID, e.Reason)
}

// VerifyAudit walks the whole chain in order and returns how many entries
// it checked, and an *AuditError naming the first entry that was edited,
// removed (the entry after a gap) or cut off the end.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	// One snapshot for the entries and the head, so that an entry
	// appended while the walk runs is not taken for one cut off.
	tx, err := s.r.BeginTx(ctx, s.d.snapshot)
	if err != nil {
		return 0, fmt.Errorf("leads: verify audit: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("leads: verify audit: %w", err)
	}
	defer rows.Close()
	prev, prevID, n := auditGenesis, int64(0), 0
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return n, err
		}
		n++
		if e.ID != prevID+1 {
			return n, &AuditError{ID: e.ID, Reason: fmt.Sprintf("follows entry %d: entries %d to %d were removed", prevID, prevID+1, e.ID-1)}
		}
		if e.PrevHash != prev {
			return n, &AuditError{ID: e.ID, Reason: "its link to the previous entry does not match: the previous entry was changed or removed"}
		}
		if strings.HasPrefix(e.Detail, "\x00unparsable time") || auditHash(&e) != e.Hash {
			return n, &AuditError{ID: e.ID, Reason: "its content does not match its hash: the entry was edited"}
		}
		prev, prevID = e.Hash, e.ID
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("leads: verify audit: %w", err)
	}
	var (
		lastID   int64
		lastHash string
	)
	err = tx.QueryRowContext(ctx, `SELECT last_id, last_hash FROM audit_head WHERE id = 1`).Scan(&lastID, &lastHash)
	if isNoRows(err) {
		return n, &AuditError{ID: prevID, Reason: "the recorded head of the log is missing"}
	}
	if err != nil {
		return n, fmt.Errorf("leads: verify audit: %w", err)
	}
	if lastID > prevID {
		return n, &AuditError{ID: prevID + 1, Reason: fmt.Sprintf("missing: the log ends at entry %d but entry %d was written", prevID, lastID)}
	}
	if lastID != prevID || lastHash != prev {
		return n, &AuditError{ID: prevID, Reason: "does not match the recorded head of the log"}
	}
	return n, nil
}
