package leads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Spam is a submission held back as probably automated. Its payload is the
// submission as the handler received it (JSON), so staff can review it and
// release it as a lead.
type Spam struct {
	ID        int64
	CreatedAt time.Time
	Form      string // "contact" or "booking"
	Reason    string // "honeypot", "too fast", "bad token"
	// Email is the address the submission gave, normalised as a lead's
	// (NormalizeEmail) when it is held; erasure and subject access find a
	// person's held submissions by it, never by a search of payloads.
	Email   string
	Payload []byte
	Status  string
}

// HoldSpam stores a suspected bot submission in the quarantine.
func (s *Store) HoldSpam(ctx context.Context, sp *Spam) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		sp.CreatedAt = s.now()
		sp.Status = "held"
		sp.Email = NormalizeEmail(sp.Email)
		res, err := tx.ExecContext(ctx, `INSERT INTO spam (created_at, form, reason, email, payload) VALUES (?, ?, ?, ?, ?)`,
			formatTime(sp.CreatedAt), sp.Form, sp.Reason, sp.Email, string(sp.Payload))
		if err != nil {
			return fmt.Errorf("leads: hold spam: %w", err)
		}
		if sp.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("leads: hold spam: %w", err)
		}
		return nil
	})
}

// ListSpam returns held submissions, newest first.
func (s *Store) ListSpam(ctx context.Context, limit int) ([]Spam, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, created_at, form, reason, email, payload, status FROM spam
		WHERE status = 'held' ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("leads: list spam: %w", err)
	}
	defer rows.Close()
	var out []Spam
	for rows.Next() {
		var (
			sp               Spam
			created, payload string
		)
		if err := rows.Scan(&sp.ID, &created, &sp.Form, &sp.Reason, &sp.Email, &payload, &sp.Status); err != nil {
			return nil, fmt.Errorf("leads: list spam: %w", err)
		}
		if sp.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		sp.Payload = []byte(payload)
		out = append(out, sp)
	}
	return out, rows.Err()
}

// Secret returns the named secret, creating it with gen on first use. It
// keeps keys (the form-token signing key, say) stable across restarts.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("leads: secret %s: %w", name, err)
	}
	v, err = gen()
	if err != nil {
		return nil, fmt.Errorf("leads: secret %s: %w", name, err)
	}
	// A concurrent first start may have stored one: keep whichever is there.
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, name, v); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, name).Scan(&v)
	})
	if err != nil {
		return nil, fmt.Errorf("leads: secret %s: %w", name, err)
	}
	return v, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
