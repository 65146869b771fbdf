package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
	"leadbook/mailer"
)

// backup copies the database, online, to dst and prints the check of the
// copy: integrity and the rows of each table.
func backup(ctx context.Context, cfg *config, dst string, stdout io.Writer) error {
	start := time.Now()
	rep, err := leads.Backup(ctx, cfg.DB, dst)
	if rep != nil {
		fmt.Fprintf(stdout, "backup %s: %d bytes in %s, integrity_check %s\n", dst, rep.Bytes,
			time.Since(start).Round(time.Millisecond), rep.Integrity)
		for _, tc := range rep.Tables {
			fmt.Fprintf(stdout, "  %-20s %d rows\n", tc.Table, tc.Rows)
		}
	}
	return err
}

// runCopy copies the SQLite database of LEADBOOK_DB into the empty
// PostgreSQL database that --to names (its password may come from
// PGPASSWORD instead, to keep it off the command line) and prints what it
// copied.
func runCopy(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "postgres:// URL of an empty database")
	if err := fs.Parse(args); err != nil || *to == "" || fs.NArg() > 0 || !leads.IsServer(*to) {
		return errors.New("copy takes --to postgres://... : the empty PostgreSQL database to copy LEADBOOK_DB into")
	}
	if leads.IsServer(cfg.DB) {
		return errors.New("copy: LEADBOOK_DB must be the SQLite database to copy from")
	}
	if err := leads.CheckDB(*to); err != nil {
		return fmt.Errorf("copy: --to: %w", err)
	}
	src, err := leads.Open(ctx, cfg.DB, leads.Options{NoMigrate: true})
	if err != nil {
		return err
	}
	defer src.Close()
	start := time.Now()
	rep, err := src.CopyTo(ctx, *to)
	if rep != nil {
		fmt.Fprintf(stdout, "copied %s to %s in %s:\n", cfg.DB, leads.Describe(*to), time.Since(start).Round(time.Millisecond))
		for _, tc := range rep.Tables {
			fmt.Fprintf(stdout, "  %-20s %d rows\n", tc.Table, tc.Rows)
		}
		if err == nil {
			fmt.Fprintf(stdout, "audit chain verified on the copy: %d entries\n", rep.AuditEntries)
		}
	}
	return err
}

// check tests what serving needs, one line each: the configuration (parsed
// before it runs), the database, mail delivery and each busy feed. It
// returns an error when anything failed.
func check(ctx context.Context, cfg *config, stdout io.Writer) error {
	failed := 0
	line := func(what string) func(ok string, err error) {
		return func(ok string, err error) {
			if err != nil {
				failed++
				fmt.Fprintf(stdout, "FAIL %-9s %v\n", what, err)
				return
			}
			fmt.Fprintf(stdout, "ok   %-9s %s\n", what, ok)
		}
	}
	line("config")("valid", nil)
	// The database is opened once: for its own line, and for the booking
	// settings stored there, which the rules and the questions read.
	summary, stored, err := checkDatabase(ctx, cfg)
	line("database")(summary, err)
	summary, rules, err := checkRules(cfg, stored)
	line("rules")(summary, err)
	for _, l := range rules {
		fmt.Fprintln(stdout, l)
	}
	summary, questions, err := checkQuestions(cfg, stored)
	line("questions")(summary, err)
	for _, l := range questions {
		fmt.Fprintln(stdout, l)
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if cfg.SMTPHost == "" {
		line("mail")("pickup folder "+cfg.MailDir+" is writable", checkMailDir(cfg.MailDir))
	} else {
		s, err := newSender(cfg)
		if err == nil {
			err = s.(*mailer.SMTPSender).Ping(ctx)
		}
		what := fmt.Sprintf("smtp %s (%s)", cfg.SMTPHost, cfg.SMTPTLS)
		if cfg.SMTPUsername != "" {
			what += ", logged in"
		}
		line("mail")(what, err)
	}

	if cfg.hasBusySources() {
		feeds := newFeeds(cfg, cfg.calDAV())
		_ = feeds.Refresh(ctx) // each source's error is in its status
		for _, st := range feeds.Status() {
			var err error
			if st.LastError != "" {
				err = errors.New(st.Source + ": " + st.LastError)
			}
			what := fmt.Sprintf("%s: %d events", st.Source, st.Events)
			if st.SkippedCount > 0 {
				what += fmt.Sprintf(", %d parts skipped (not understood):", st.SkippedCount)
			}
			line("busy feed")(what, err)
			for _, sk := range st.Skipped {
				fmt.Fprintf(stdout, "     skipped line %d %s: %s\n", sk.Line, skippedWhat(sk), sk.Reason)
			}
			if n := st.SkippedCount - len(st.Skipped); n > 0 {
				fmt.Fprintf(stdout, "     and %d more not listed\n", n)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("check: %d of the checks failed", failed)
	}
	return nil
}

// skippedWhat names a skipped part of a feed: its component and the UID of
// its event.
func skippedWhat(sk calendar.Skipped) string {
	switch {
	case sk.Component == "":
		return "(outside any component)"
	case sk.UID == "":
		return sk.Component
	}
	return fmt.Sprintf("%s UID %q", sk.Component, sk.UID)
}

// checkDatabase describes the database, and reads the booking settings
// saved on the settings page while it is open (none where the database
// does not exist yet).
func checkDatabase(ctx context.Context, cfg *config) (string, storedSettings, error) {
	name := leads.Describe(cfg.DB)
	if _, err := os.Stat(cfg.DB); !leads.IsServer(cfg.DB) && errors.Is(err, os.ErrNotExist) {
		// serve creates it; check only that it could.
		if err := checkWritableDir(filepath.Dir(cfg.DB)); err != nil {
			return "", storedSettings{}, fmt.Errorf("%s does not exist and cannot be created: %w", cfg.DB, err)
		}
		return cfg.DB + " does not exist yet; serve or migrate creates it", storedSettings{}, nil
	}
	s, err := leads.Open(ctx, cfg.DB, leads.Options{NoMigrate: true})
	if err != nil {
		return "", storedSettings{err: err}, err
	}
	defer s.Close()
	var stored storedSettings
	stored.settings, _, stored.err = s.BookingSettings(ctx)
	if stored.err != nil {
		stored.err = fmt.Errorf("cannot read the stored booking settings (is the schema migrated?): %w", stored.err)
	}
	if err := s.Ping(ctx); err != nil {
		return "", stored, err
	}
	n, err := s.CountLeads(ctx)
	if err != nil {
		return "", stored, err
	}
	return fmt.Sprintf("%s %s, schema %d, %d leads", s.Engine(), name, leads.SchemaVersion(), n), stored, nil
}

func checkMailDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return checkWritableDir(dir)
}

// checkWritableDir creates and removes a file in dir, or in its nearest
// existing parent when dir does not exist yet.
func checkWritableDir(dir string) error {
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	f, err := os.CreateTemp(dir, ".leadbook-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}
