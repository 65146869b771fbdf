package leads

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// EUNAUTHORIZED is the code of a failed sign-in or an unknown credential.
const EUNAUTHORIZED = "unauthorized"

// ErrBadCredentials is the one answer to a wrong password and to an unknown
// account alike, so the answer does not tell which accounts exist.
var ErrBadCredentials = &Error{Code: EUNAUTHORIZED, Message: "The email or password is not right."}

// Password length bounds, in characters. The upper bound keeps a hostile
// sign-in from costing more than an honest one.
const (
	MinPassword = 12
	MaxPassword = 1024
)

// PasswordParams are argon2id's cost settings.
type PasswordParams struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
	KeyLen  uint32
	SaltLen int
}

// DefaultPasswordParams follow OWASP's argon2id baseline (19 MiB, two
// passes, one lane): about 30 ms on a server core, and little enough memory
// that a few concurrent sign-ins do not crowd the process.
var DefaultPasswordParams = PasswordParams{Time: 2, Memory: 19 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}

// HashPassword returns an argon2id hash of password in the PHC string
// format, with a random salt: $argon2id$v=19$m=19456,t=2,p=1$SALT$HASH.
func HashPassword(password string, p PasswordParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("leads: hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the PHC-encoded argon2id
// hash, using the parameters recorded in the hash.
func CheckPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, errors.New("leads: check password: not an argon2id hash")
	}
	var p PasswordParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("leads: check password: parameters: %w", err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("leads: check password: salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("leads: check password: hash: %w", err)
	}
	if p.Memory > 1<<21 || p.Time > 16 || p.Threads == 0 {
		return false, errors.New("leads: check password: parameters out of range")
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Staff is a person who may sign in to the dashboard.
type Staff struct {
	ID        int64
	Email     string
	Role      string // RoleAdmin or RoleStaff
	CreatedAt time.Time
	UpdatedAt time.Time
}

func validPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPassword {
		return Errorf(EINVALID, "The password must have at least %d characters.", MinPassword)
	}
	if n > MaxPassword {
		return Errorf(EINVALID, "The password must have at most %d characters.", MaxPassword)
	}
	return nil
}

// dummyHash is hashed against when an account does not exist, so that an
// unknown email costs as long as a wrong password.
type dummyHash struct {
	once sync.Once
	hash string
	err  error
}

func (s *Store) dummy() (string, error) {
	s.dummyHash.once.Do(func() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		s.dummyHash.hash, s.dummyHash.err = HashPassword(hex.EncodeToString(b[:]), s.pw)
	})
	return s.dummyHash.hash, s.dummyHash.err
}

// AddStaff creates an account with the default role: admin for the
// first account, so a new install can be run from the dashboard; staff
// after it.
func (s *Store) AddStaff(ctx context.Context, email, password string, by Actor) (*Staff, error) {
	return s.AddStaffRole(ctx, email, password, "", by)
}

// AddStaffRole creates an account with a role, RoleAdmin or RoleStaff,
// or "" for AddStaff's default. The email must be new; the password is
// hashed with argon2id (under the store's cap) before the write, so the
// slow hash never holds the writer.
func (s *Store) AddStaffRole(ctx context.Context, email, password, role string, by Actor) (*Staff, error) {
	email = strings.TrimSpace(email)
	if !ValidEmail(email) {
		return nil, Errorf(EINVALID, "%q is not a valid email address.", email)
	}
	if role != "" && !ValidRole(role) {
		return nil, Errorf(EINVALID, "The role must be admin or staff.")
	}
	if err := validPassword(password); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return nil, err
	}
	st := &Staff{Email: email, Role: role}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		st.CreatedAt, st.UpdatedAt = now, now
		if role == "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM staff`).Scan(&n); err != nil {
				return fmt.Errorf("leads: add staff: %w", err)
			}
			st.Role = RoleStaff
			if n == 0 {
				st.Role = RoleAdmin
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO staff (email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			email, hash, st.Role, formatTime(now), formatTime(now)).Scan(&st.ID)
		if err != nil {
			if isUnique(err) {
				return Errorf(ECONFLICT, "There is already an account for that email.")
			}
			return fmt.Errorf("leads: add staff: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditStaffAdd, "staff:"+strconv.FormatInt(st.ID, 10), `{"role":"`+st.Role+`"}`)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// ListStaff returns every account, by email in ASCII letter case.
func (s *Store) ListStaff(ctx context.Context) ([]Staff, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, email, role, created_at, updated_at FROM staff
		ORDER BY `+s.d.emailKey("email")+s.d.byteOrder+`, id`)
	if err != nil {
		return nil, fmt.Errorf("leads: list staff: %w", err)
	}
	defer rows.Close()
	var out []Staff
	for rows.Next() {
		var (
			st               Staff
			created, updated string
		)
		if err := rows.Scan(&st.ID, &st.Email, &st.Role, &created, &updated); err != nil {
			return nil, fmt.Errorf("leads: list staff: %w", err)
		}
		if st.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if st.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: list staff: %w", err)
	}
	return out, nil
}

// RemoveStaff deletes an account and, with it, its sessions. The last
// admin cannot be removed.
func (s *Store) RemoveStaff(ctx context.Context, email string, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.lockAdmins(ctx, tx); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `DELETE FROM staff WHERE `+s.d.emailKey("email")+` = ? RETURNING id`, asciiLower(strings.TrimSpace(email))).Scan(&id); err != nil {
			if isNoRows(err) {
				return Errorf(ENOTFOUND, "No account for that email.")
			}
			return fmt.Errorf("leads: remove staff: %w", err)
		}
		if err := keepAnAdmin(ctx, tx); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s.now(), by, AuditStaffRemove, "staff:"+strconv.FormatInt(id, 10), "")
	})
}

// SetStaffPassword replaces an account's password and ends its sessions.
func (s *Store) SetStaffPassword(ctx context.Context, email, password string, by Actor) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		var id int64
		if err := tx.QueryRowContext(ctx, `UPDATE staff SET password_hash = ?, updated_at = ? WHERE `+s.d.emailKey("email")+` = ? RETURNING id`,
			hash, formatTime(now), asciiLower(strings.TrimSpace(email))).Scan(&id); err != nil {
			if isNoRows(err) {
				return Errorf(ENOTFOUND, "No account for that email.")
			}
			return fmt.Errorf("leads: set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE staff_id = ?`, id); err != nil {
			return fmt.Errorf("leads: set password: end sessions: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditStaffPassword, "staff:"+strconv.FormatInt(id, 10), "")
	})
}

// newSecret returns a random token (32 bytes, base64url) with a prefix and
// the hex SHA-256 that is stored in its place.
func newSecret(prefix string) (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("leads: new token: %w", err)
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken is the stored form of a session or API token: hex SHA-256. The
// tokens carry 256 random bits, so a fast hash is enough; it only keeps a
// database copy from being a key.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Session is a signed-in browser.
type Session struct {
	ID         int64
	Staff      Staff
	CreatedAt  time.Time
	LastSeenAt time.Time
	// FailuresSince is the account's sign-in before this one (its creation
	// for the first): failed attempts after it are shown to its owner.
	FailuresSince time.Time
}

// SessionPolicy bounds a session's life: Idle since its last use, Absolute
// since sign-in.
type SessionPolicy struct {
	Idle, Absolute time.Duration
}

// CreateSession starts a session for an account and returns its token, a
// new one at every sign-in. It also records the sign-in in the audit log
// and on the account (the session remembers the one before), and clears
// the account's expired sessions.
func (s *Store) CreateSession(ctx context.Context, staffID int64, p SessionPolicy) (string, error) {
	token, hash, err := newSecret("")
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE staff_id = ? AND (created_at < ? OR last_seen_at < ?)`,
			staffID, formatTime(now.Add(-p.Absolute)), formatTime(now.Add(-p.Idle))); err != nil {
			return fmt.Errorf("leads: create session: %w", err)
		}
		var since string
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(last_sign_in_at, created_at) FROM staff WHERE id = ?`, staffID).Scan(&since); err != nil {
			if isNoRows(err) {
				return Errorf(ENOTFOUND, "No such account.")
			}
			return fmt.Errorf("leads: create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET last_sign_in_at = ? WHERE id = ?`, formatTime(now), staffID); err != nil {
			return fmt.Errorf("leads: create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, staff_id, created_at, last_seen_at, failures_since) VALUES (?, ?, ?, ?, ?)`,
			hash, staffID, formatTime(now), formatTime(now), since); err != nil {
			return fmt.Errorf("leads: create session: %w", err)
		}
		return appendAudit(ctx, tx, now, Actor{Kind: "staff", ID: staffID}, AuditSignIn, "", "")
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// sessionTouchEvery limits last-use updates to one write a minute per
// session, so browsing the dashboard does not write on every request.
const sessionTouchEvery = time.Minute

// FindSession returns the live session of token, refreshing its last use.
// An unknown, idle or too old session is ErrBadCredentials.
func (s *Store) FindSession(ctx context.Context, token string, p SessionPolicy) (*Session, error) {
	var (
		se                      Session
		created, seen, sCreated string
		sUpdated                string
		since                   sql.NullString // '' (SQLite) or NULL for sessions older than the column
	)
	err := s.r.QueryRowContext(ctx, `SELECT se.id, se.created_at, se.last_seen_at, se.failures_since, st.id, st.email, st.role, st.created_at, st.updated_at
		FROM sessions se JOIN staff st ON st.id = se.staff_id WHERE se.token_hash = ?`, HashToken(token)).
		Scan(&se.ID, &created, &seen, &since, &se.Staff.ID, &se.Staff.Email, &se.Staff.Role, &sCreated, &sUpdated)
	if isNoRows(err) {
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("leads: find session: %w", err)
	}
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&se.CreatedAt, created}, {&se.LastSeenAt, seen}, {&se.Staff.CreatedAt, sCreated}, {&se.Staff.UpdatedAt, sUpdated}} {
		if *f.dst, err = parseTime(f.src); err != nil {
			return nil, err
		}
	}
	if since.String != "" {
		if se.FailuresSince, err = parseTime(since.String); err != nil {
			return nil, err
		}
	}
	now := s.now()
	if now.Sub(se.LastSeenAt) >= p.Idle || now.Sub(se.CreatedAt) >= p.Absolute {
		return nil, ErrBadCredentials
	}
	if now.Sub(se.LastSeenAt) >= sessionTouchEvery {
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, formatTime(now), se.ID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("leads: touch session: %w", err)
		}
		se.LastSeenAt = now
	}
	return &se, nil
}

// DeleteSession ends the session of token (sign-out); an unknown token is
// not an error.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var staffID int64
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE token_hash = ? RETURNING staff_id`, HashToken(token)).Scan(&staffID)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("leads: delete session: %w", err)
		}
		return appendAudit(ctx, tx, s.now(), Actor{Kind: "staff", ID: staffID}, AuditSignOut, "", "")
	})
}

// APIToken is a credential for scripts. Only its hash is stored.
type APIToken struct {
	ID         int64
	Name       string
	CreatedAt  time.Time
	CreatedBy  string
	LastUsedAt time.Time
	RevokedAt  time.Time
	// Scope is ScopeRead or ScopeWrite.
	Scope string
}

// API token scopes: read lists and reads; write also changes leads.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// TokenPrefix starts every API token, so a leaked one is recognisable.
const TokenPrefix = "lb_"

// CreateToken makes a read API token with a name unique among live tokens
// and returns it; this is the only time it is shown.
func (s *Store) CreateToken(ctx context.Context, name string, by Actor) (string, *APIToken, error) {
	return s.CreateScopedToken(ctx, name, ScopeRead, by)
}

// CreateScopedToken is CreateToken for a token of the given scope.
func (s *Store) CreateScopedToken(ctx context.Context, name, scope string, by Actor) (string, *APIToken, error) {
	if scope != ScopeRead && scope != ScopeWrite {
		return "", nil, Errorf(EINVALID, "A token's scope is read or write.")
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsAny(name, "\r\n\t") {
		return "", nil, Errorf(EINVALID, "A token needs a name of one line, up to 100 characters.")
	}
	if _, err := strconv.ParseInt(name, 10, 64); err == nil {
		return "", nil, Errorf(EINVALID, "A token's name must not be a number: numbers name token ids.")
	}
	token, hash, err := newSecret(TokenPrefix)
	if err != nil {
		return "", nil, err
	}
	t := &APIToken{Name: name, CreatedBy: by.String(), Scope: scope}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		t.CreatedAt = now
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (name, token_hash, created_at, created_by, scope) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			name, hash, formatTime(now), t.CreatedBy, scope).Scan(&t.ID)
		if err != nil {
			if isUnique(err) {
				return Errorf(ECONFLICT, "A live token is already named %q.", name)
			}
			return fmt.Errorf("leads: create token: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditTokenCreate, "token:"+strconv.FormatInt(t.ID, 10), "")
	})
	if err != nil {
		return "", nil, err
	}
	return token, t, nil
}

func scanToken(row rowScanner) (*APIToken, error) {
	var (
		t             APIToken
		created       string
		used, revoked sql.NullString
	)
	if err := row.Scan(&t.ID, &t.Name, &created, &t.CreatedBy, &used, &revoked, &t.Scope); err != nil {
		if isNoRows(err) {
			return nil, ErrBadCredentials
		}
		return nil, fmt.Errorf("leads: scan token: %w", err)
	}
	var err error
	if t.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if used.Valid {
		if t.LastUsedAt, err = parseTime(used.String); err != nil {
			return nil, err
		}
	}
	if revoked.Valid {
		if t.RevokedAt, err = parseTime(revoked.String); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

const tokenColumns = `id, name, created_at, created_by, last_used_at, revoked_at, scope`

// ListTokens returns every token, live and revoked, newest first.
func (s *Store) ListTokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("leads: list tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes the live token with the given name or id.
func (s *Store) RevokeToken(ctx context.Context, nameOrID string, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		id, _ := strconv.ParseInt(nameOrID, 10, 64)
		var got int64
		err := tx.QueryRowContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND (id = ? OR name = ?) RETURNING id`,
			formatTime(now), id, nameOrID).Scan(&got)
		if isNoRows(err) {
			return Errorf(ENOTFOUND, "No live token named %q.", nameOrID)
		}
		if err != nil {
			return fmt.Errorf("leads: revoke token: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditTokenRevoke, "token:"+strconv.FormatInt(got, 10), "")
	})
}

// FindToken returns the live API token that token is, or
// ErrBadCredentials.
func (s *Store) FindToken(ctx context.Context, token string) (*APIToken, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 100 {
		return nil, ErrBadCredentials
	}
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`,
		HashToken(token)))
	if err != nil {
		return nil, err
	}
	if now := s.now(); now.Sub(t.LastUsedAt) >= sessionTouchEvery {
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(now), t.ID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("leads: touch token: %w", err)
		}
		t.LastUsedAt = now
	}
	return t, nil
}
