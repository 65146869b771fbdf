package leads

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// AuditBookingSetting records a change of a booking rule on the settings
// page: its detail names the rule and its old and new values ("" for the
// environment's).
const AuditBookingSetting = "booking_setting"

// BookingSetting is one booking rule set in the database, overriding the
// environment's value. The store keeps the value as text, in the syntax
// of the environment variable it overrides; the handlers parse it.
type BookingSetting struct {
	Name      string
	Value     string
	UpdatedAt time.Time
	UpdatedBy string
}

// maxSettingValue bounds a stored rule's text (a year of closed dates
// fits many times over, and so do the booking form's questions at their
// caps).
const maxSettingValue = 64 << 10

func validSettingName(name string) bool {
	if name == "" || len(name) > 40 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// BookingSettings returns the stored booking rules by name, and the
// version they are at, read in one snapshot.
func (s *Store) BookingSettings(ctx context.Context) ([]BookingSetting, uint64, error) {
	tx, err := s.r.BeginTx(ctx, s.d.snapshot)
	if err != nil {
		return nil, 0, fmt.Errorf("leads: booking settings: %w", err)
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM booking_settings_state WHERE id = 1`).Scan(&v); err != nil {
		return nil, 0, fmt.Errorf("leads: booking settings: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, value, updated_at, updated_by FROM booking_settings ORDER BY name`+s.d.byteOrder)
	if err != nil {
		return nil, 0, fmt.Errorf("leads: booking settings: %w", err)
	}
	defer rows.Close()
	var out []BookingSetting
	for rows.Next() {
		var (
			bs BookingSetting
			at string
		)
		if err := rows.Scan(&bs.Name, &bs.Value, &at, &bs.UpdatedBy); err != nil {
			return nil, 0, fmt.Errorf("leads: booking settings: %w", err)
		}
		if bs.UpdatedAt, err = parseTime(at); err != nil {
			return nil, 0, err
		}
		out = append(out, bs)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("leads: booking settings: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("leads: booking settings: %w", err)
	}
	s.raiseRulesVersion(uint64(v))
	return out, uint64(v), nil
}

// SetBookingSettings stores the rules of set (name to value) and removes
// those named in reset (back to the environment's value), in one
// transaction that raises the settings' version and audits each rule that
// changed. Values are stored as given: the caller has checked them.
func (s *Store) SetBookingSettings(ctx context.Context, set map[string]string, reset []string, by Actor) error {
	return s.setBookingSettings(ctx, -1, set, reset, by)
}

// ErrSettingsChanged refuses a change of the booking settings made from a
// version of them that another change, on any instance, has replaced.
var ErrSettingsChanged = Errorf(ECONFLICT, "The booking settings were changed meanwhile.")

// SetBookingSettingsFrom is SetBookingSettings for a change made from the
// settings at version from (BookingSettings' version), such as a list
// edited as a whole: when another change was stored since, it stores
// nothing and returns ErrSettingsChanged, and the next read of the
// settings here is of the newest.
func (s *Store) SetBookingSettingsFrom(ctx context.Context, from uint64, set map[string]string, reset []string, by Actor) error {
	return s.setBookingSettings(ctx, int64(from), set, reset, by)
}

// setBookingSettings is SetBookingSettingsFrom, or SetBookingSettings
// when from is -1.
func (s *Store) setBookingSettings(ctx context.Context, from int64, set map[string]string, reset []string, by Actor) error {
	names := make([]string, 0, len(set))
	for name, v := range set {
		if !validSettingName(name) || len(v) > maxSettingValue {
			return Errorf(EINVALID, "The setting %q cannot be stored.", name)
		}
		names = append(names, name)
	}
	for _, name := range reset {
		if !validSettingName(name) {
			return Errorf(EINVALID, "The setting %q cannot be reset.", name)
		}
		if _, ok := set[name]; ok {
			return Errorf(EINVALID, "The setting %q cannot be set and reset at once.", name)
		}
	}
	slices.Sort(names)
	var version int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		// The state row first: concurrent changes queue on it.
		if err := tx.QueryRowContext(ctx, `UPDATE booking_settings_state SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&version); err != nil {
			return fmt.Errorf("leads: set booking settings: %w", err)
		}
		if from >= 0 && version-1 != from {
			version-- // the newest, which the rollback leaves
			return ErrSettingsChanged
		}
		changed := 0
		change := func(name, from, to string) error {
			changed++
			detail, err := json.Marshal(map[string]string{"name": name, "from": from, "to": to})
			if err != nil {
				return err
			}
			return appendAudit(ctx, tx, now, by, AuditBookingSetting, "setting:"+name, string(detail))
		}
		for _, name := range names {
			var was string
			err := tx.QueryRowContext(ctx, `SELECT value FROM booking_settings WHERE name = ?`, name).Scan(&was)
			switch {
			case err == nil && was == set[name]:
				continue
			case err != nil && !isNoRows(err):
				return fmt.Errorf("leads: set booking settings: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO booking_settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				name, set[name], formatTime(now), by.String()); err != nil {
				return fmt.Errorf("leads: set booking settings: %w", err)
			}
			if err := change(name, was, set[name]); err != nil {
				return err
			}
		}
		for _, name := range reset {
			var was string
			err := tx.QueryRowContext(ctx, `DELETE FROM booking_settings WHERE name = ? RETURNING value`, name).Scan(&was)
			if isNoRows(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("leads: reset booking setting: %w", err)
			}
			if err := change(name, was, ""); err != nil {
				return err
			}
		}
		if changed == 0 {
			return errNothingChanged
		}
		return nil
	})
	if err == errNothingChanged {
		return nil
	}
	if err == ErrSettingsChanged {
		s.raiseRulesVersion(uint64(version))
		return err
	}
	if err != nil {
		return err
	}
	s.raiseRulesVersion(uint64(version))
	return nil
}

// errNothingChanged rolls back a settings write that would change no
// rule, so the version moves only when the rules do.
var errNothingChanged = Errorf(ECONFLICT, "nothing changed")

// BookingSettingsVersion changes whenever a booking rule is set or reset,
// by this process or by any other on the same database, so callers can
// cache the rules in force. It is the version in the database, read at
// most once per versionTTL; this process's own writes show at once.
func (s *Store) BookingSettingsVersion() uint64 {
	return s.rulesVersion.get(s.r, `SELECT version FROM booking_settings_state WHERE id = 1`)
}

func (s *Store) raiseRulesVersion(v uint64) uint64 { return s.rulesVersion.raise(v) }
