package leads

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Roles of a staff account. Admins manage accounts, API tokens, the
// booking settings and erasure; staff work leads and calls.
const (
	RoleAdmin = "admin"
	RoleStaff = "staff"
)

// AuditStaffRole records a change of an account's role.
const AuditStaffRole = "staff_role"

// ValidRole reports whether role is RoleAdmin or RoleStaff.
func ValidRole(role string) bool { return role == RoleAdmin || role == RoleStaff }

// IsAdmin reports whether the account has the admin role.
func (st *Staff) IsAdmin() bool { return st != nil && st.Role == RoleAdmin }

// lockAdmins holds the admins' rows until the transaction ends, so two
// admins demoting or removing each other at once cannot both succeed and
// leave none: the second waits, then sees the first's change.
func (s *Store) lockAdmins(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM staff WHERE role = ?`+s.d.forUpdate, RoleAdmin)
	if err != nil {
		return fmt.Errorf("leads: lock admins: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("leads: lock admins: %w", err)
	}
	return nil
}

// keepAnAdmin refuses a change that leaves accounts but no admin among
// them. (Removing the only account leaves nobody locked out: the CLI's
// next account is an admin.)
func keepAnAdmin(ctx context.Context, tx *sql.Tx) error {
	var admins, all int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(CASE WHEN role = ? THEN 1 END), COUNT(*) FROM staff`, RoleAdmin).Scan(&admins, &all); err != nil {
		return fmt.Errorf("leads: count admins: %w", err)
	}
	if admins == 0 && all > 0 {
		return Errorf(ECONFLICT, "This is the last admin account: make another account admin first.")
	}
	return nil
}

// FindStaff returns the account with id.
func (s *Store) FindStaff(ctx context.Context, id int64) (*Staff, error) {
	var (
		st               Staff
		created, updated string
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, email, role, created_at, updated_at FROM staff WHERE id = ?`, id).
		Scan(&st.ID, &st.Email, &st.Role, &created, &updated)
	if isNoRows(err) {
		return nil, Errorf(ENOTFOUND, "No such account.")
	}
	if err != nil {
		return nil, fmt.Errorf("leads: find staff: %w", err)
	}
	if st.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if st.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &st, nil
}

// SetStaffRole gives the account with email a role. The last admin
// cannot be made staff. Its sessions stay: the role is read with the
// session on every request.
func (s *Store) SetStaffRole(ctx context.Context, email, role string, by Actor) error {
	if !ValidRole(role) {
		return Errorf(EINVALID, "The role must be admin or staff.")
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.lockAdmins(ctx, tx); err != nil {
			return err
		}
		now := s.now()
		var (
			id  int64
			was string
		)
		key := asciiLower(strings.TrimSpace(email))
		if err := tx.QueryRowContext(ctx, `SELECT id, role FROM staff WHERE `+s.d.emailKey("email")+` = ?`, key).Scan(&id, &was); err != nil {
			if isNoRows(err) {
				return Errorf(ENOTFOUND, "No account for that email.")
			}
			return fmt.Errorf("leads: set role: %w", err)
		}
		if was == role {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff SET role = ?, updated_at = ? WHERE id = ?`, role, formatTime(now), id); err != nil {
			return fmt.Errorf("leads: set role: %w", err)
		}
		if err := keepAnAdmin(ctx, tx); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, by, AuditStaffRole, "staff:"+strconv.FormatInt(id, 10), `{"from":"`+was+`","to":"`+role+`"}`)
	})
}
