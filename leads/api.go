package leads

import (
	"context"
	"fmt"
	"time"
)

// Position is a place in a list ordered by (UpdatedAt, ID): the last row a
// page gave. The zero Position is the start.
type Position struct {
	UpdatedAt time.Time
	ID        int64
}

// ChangeFilter selects a page of rows by when they last changed.
type ChangeFilter struct {
	// Since, when set, leaves out rows last changed before it.
	Since time.Time
	// After continues a list after the row it names.
	After Position
	// Limit is the page size: 1 to 500, 50 when zero.
	Limit int
}

func (f *ChangeFilter) limit() int {
	switch {
	case f.Limit <= 0:
		return 50
	case f.Limit > 500:
		return 500
	}
	return f.Limit
}

// where is the condition and arguments of f on the table of alias a,
// and the LIMIT argument: one row more than the page, so that the caller
// knows whether another page follows.
func (f *ChangeFilter) where(a string) (string, []any) {
	after := f.After.UpdatedAt
	cond := ` WHERE ` + a + `.updated_at >= ? AND (` + a + `.updated_at > ? OR (` + a + `.updated_at = ? AND ` + a + `.id > ?))
		ORDER BY ` + a + `.updated_at, ` + a + `.id LIMIT ?`
	return cond, []any{formatTime(f.Since), formatTime(after), formatTime(after), f.After.ID, f.limit() + 1}
}

// LeadsChanged returns leads in the order they last changed (then by id),
// one page of f, and whether more follow. Each lead has its OwnerEmail.
func (s *Store) LeadsChanged(ctx context.Context, f ChangeFilter) ([]Lead, bool, error) {
	cond, args := f.where("l")
	rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed("l.", leadColumns)+`, COALESCE(o.email, '')
		FROM leads l LEFT JOIN staff o ON o.id = l.owner_id`+cond, args...)
	if err != nil {
		return nil, false, fmt.Errorf("leads: leads changed: %w", err)
	}
	defer rows.Close()
	var out []Lead
	for rows.Next() {
		var owner string
		l, err := scanLead(withOwner{rows, &owner})
		if err != nil {
			return nil, false, err
		}
		l.OwnerEmail = owner
		out = append(out, *l)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("leads: leads changed: %w", err)
	}
	more := len(out) > f.limit()
	if more {
		out = out[:f.limit()]
	}
	return out, more, nil
}

// BookingsChanged returns bookings in the order they last changed (then
// by id), one page of f, and whether more follow.
func (s *Store) BookingsChanged(ctx context.Context, f ChangeFilter) ([]Booking, bool, error) {
	cond, args := f.where("b")
	out, err := queryBookings(ctx, s.r, cond, args...)
	if err != nil {
		return nil, false, err
	}
	more := len(out) > f.limit()
	if more {
		out = out[:f.limit()]
	}
	return out, more, nil
}

// withOwner scans a lead's columns followed by its owner's address.
type withOwner struct {
	row   rowScanner
	email *string
}

func (w withOwner) Scan(dest ...any) error { return w.row.Scan(append(dest, w.email)...) }
