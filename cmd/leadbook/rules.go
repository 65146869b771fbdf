package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"leadbook/handlers"
	"leadbook/leads"
)

// checkRules describes the booking rules in force, one line each: the
// environment's values overridden by those an admin saved on the
// settings page, and where each comes from.
func checkRules(ctx context.Context, cfg *config) (string, []string, error) {
	var stored []leads.BookingSetting
	if _, err := os.Stat(cfg.DB); leads.IsServer(cfg.DB) || !errors.Is(err, os.ErrNotExist) {
		s, err := leads.Open(ctx, cfg.DB, leads.Options{NoMigrate: true})
		if err != nil {
			return "", nil, err
		}
		defer s.Close()
		if stored, _, err = s.BookingSettings(ctx); err != nil {
			return "", nil, fmt.Errorf("cannot read the stored booking settings (is the schema migrated?): %w", err)
		}
	}
	_, values := handlers.ResolveRules(cfg.rules(), stored)
	fromDB := 0
	var lines []string
	for _, v := range values {
		src := "environment, " + v.Env
		if v.FromDatabase() {
			fromDB++
			src = fmt.Sprintf("database, set by %s at %s; %s gives %q", v.Stored.UpdatedBy,
				v.Stored.UpdatedAt.UTC().Format("2006-01-02 15:04Z"), v.Env, v.Environment)
		}
		if v.Error != "" {
			src += fmt.Sprintf("; the database's %q is not applied: %s", v.Stored.Value, v.Error)
		}
		lines = append(lines, fmt.Sprintf("     rule %-14s %s (%s)", v.Name, orNone(v.Value), src))
	}
	return fmt.Sprintf("booking rules in force, %d of %d from the database", fromDB, len(values)), lines, nil
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
