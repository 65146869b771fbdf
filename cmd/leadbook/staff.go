package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"leadbook/leads"
)

// openStore opens the database for a one-off command.
func openStore(ctx context.Context, cfg *config) (*leads.Store, error) {
	return leads.Open(ctx, cfg.DB, leads.Options{ReadConns: 1})
}

// readPassword reads one line from stdin, for --password-stdin: a password
// never goes on the command line, where ps and shell history see it.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", errors.New("no password on stdin")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("empty password on stdin")
	}
	return pw, nil
}

func subFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments (`staff add EMAIL --password-stdin`), which package flag alone
// stops at, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// runStaff is `leadbook staff add|list|remove|passwd|role`.
func runStaff(ctx context.Context, cfg *config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("staff: want add, list, remove, passwd or role")
	}
	sub, args := args[0], args[1:]
	fs := subFlags("staff " + sub)
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	role := fs.String("role", "", "admin or staff; default: admin for the first account, staff after it")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("staff %s: %w", sub, err)
	}
	if *role != "" && !leads.ValidRole(*role) {
		return fmt.Errorf("staff %s: --role %q: want admin or staff", sub, *role)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	needEmail := func() (string, error) {
		if len(rest) != 1 {
			return "", fmt.Errorf("staff %s: want one EMAIL", sub)
		}
		return rest[0], nil
	}
	needPassword := func() (string, error) {
		if !*pwStdin {
			return "", fmt.Errorf("staff %s: pass --password-stdin and the password on stdin", sub)
		}
		return readPassword(stdin)
	}
	switch sub {
	case "add":
		email, err := needEmail()
		if err != nil {
			return err
		}
		pw, err := needPassword()
		if err != nil {
			return err
		}
		st, err := store.AddStaffRole(ctx, email, pw, *role, leads.ActorCLI)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added staff %d %s, role %s\n", st.ID, st.Email, st.Role)
		return nil
	case "role":
		if len(rest) != 2 || !leads.ValidRole(rest[1]) {
			return errors.New("staff role: want EMAIL admin|staff")
		}
		if err := store.SetStaffRole(ctx, rest[0], rest[1], leads.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is %s\n", rest[0], rest[1])
		return nil
	case "passwd":
		email, err := needEmail()
		if err != nil {
			return err
		}
		pw, err := needPassword()
		if err != nil {
			return err
		}
		if err := store.SetStaffPassword(ctx, email, pw, leads.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password changed for %s; its sessions were ended\n", email)
		return nil
	case "remove":
		email, err := needEmail()
		if err != nil {
			return err
		}
		if err := store.RemoveStaff(ctx, email, leads.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", email)
		return nil
	case "list":
		list, err := store.ListStaff(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tCREATED")
		for _, st := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", st.ID, st.Email, st.Role, st.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	return fmt.Errorf("staff: unknown subcommand %q", sub)
}

// runToken is `leadbook token create|list|revoke`.
func runToken(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("token: want create NAME, list or revoke NAME|ID")
	}
	sub, rest := args[0], args[1:]
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		fs := subFlags("token create")
		scope := fs.String("scope", leads.ScopeRead, "read (lists and reads) or write (also changes leads)")
		rest, err := parseInterleaved(fs, rest)
		if err != nil {
			return err
		}
		if len(rest) != 1 {
			return errors.New("token create: want one NAME [--scope read|write]")
		}
		tok, t, err := store.CreateScopedToken(ctx, rest[0], *scope, leads.ActorCLI)
		if err != nil {
			return err
		}
		// The token goes to stdout alone, for scripts; the note to
		// humans goes on its own line after it.
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stdout, "# token %d %q (scope %s): shown once, only its hash is stored. Use it as: Authorization: Bearer TOKEN\n", t.ID, t.Name, t.Scope)
		return nil
	case "list":
		list, err := store.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED\tSTATE")
		for _, t := range list {
			used, state := "never", "live"
			if !t.LastUsedAt.IsZero() {
				used = t.LastUsedAt.Format(time.RFC3339)
			}
			if !t.RevokedAt.IsZero() {
				state = "revoked " + t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.CreatedAt.Format(time.RFC3339), used, state)
		}
		return tw.Flush()
	case "revoke":
		if len(rest) != 1 {
			return errors.New("token revoke: want one NAME or ID")
		}
		if err := store.RevokeToken(ctx, rest[0], leads.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", rest[0])
		return nil
	}
	return fmt.Errorf("token: unknown subcommand %q", sub)
}

// runExport is `leadbook export [--from DAY] [--to DAY] [--bom]`: the CSV
// the dashboard serves, streamed to stdout.
func runExport(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	fs := subFlags("export")
	from := fs.String("from", "", "first day, YYYY-MM-DD (UTC)")
	to := fs.String("to", "", "last day, YYYY-MM-DD (UTC), included")
	bom := fs.Bool("bom", false, "start with a UTF-8 byte-order mark, for Excel")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if len(rest) > 0 {
		return fmt.Errorf("export: unexpected arguments %q", rest)
	}
	var f leads.ExportFilter
	for _, d := range []struct {
		v     string
		dst   *time.Time
		after bool
		name  string
	}{{*from, &f.From, false, "--from"}, {*to, &f.To, true, "--to"}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return fmt.Errorf("export: %s: want YYYY-MM-DD", d.name)
		}
		if d.after {
			t = t.AddDate(0, 0, 1)
		}
		*d.dst = t
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	detail := fmt.Sprintf(`{"from":%q,"to":%q}`, *from, *to)
	if err := store.Audit(ctx, leads.ActorCLI, leads.AuditExport, "leads.csv", detail); err != nil {
		return err
	}
	if _, err := store.ExportCSV(ctx, stdout, f, *bom); err != nil {
		return err
	}
	return nil
}

// runAudit is `leadbook audit verify`.
func runAudit(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return errors.New("audit: want verify")
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit log is NOT intact after %d entries: %w", n, err)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries\n", n)
	return nil
}

// jobsLoop runs the periodic jobs until ctx ends: each minute it forgets
// sign-in attempts the throttle no longer needs, releases booking holds
// whose confirmation did not come (nothing depends on that: every query
// treats an expired hold as free; it keeps the rows and the staff pages
// tidy) and finishes erasures whose cancellations went out; with a
// retention period set it deletes leads older than it (each hour); and it
// drops old rate-limit counts. Each job takes its turn in the database,
// so on several instances it runs once per interval in all, not once per
// instance.
func jobsLoop(ctx context.Context, store *leads.Store, holder string, retentionDays int, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	turn := func(job string, every time.Duration) bool {
		ok, err := store.TakeTurn(ctx, job, holder, every)
		if err != nil && ctx.Err() == nil {
			log.Error("periodic job", "job", job, "err", err)
		}
		return ok
	}
	for {
		if turn("purge_sign_ins", 50*time.Second) {
			if _, err := store.PurgeSignIns(ctx); err != nil && ctx.Err() == nil {
				log.Error("purge sign-in attempts", "err", err)
			}
		}
		if turn("release_holds", 50*time.Second) {
			if n, err := store.ReleaseExpiredHolds(ctx); err != nil && ctx.Err() == nil {
				log.Error("release expired holds", "err", err)
			} else if n > 0 {
				log.Info("expired holds released", "count", n)
			}
		}
		if turn("finish_erasures", 50*time.Second) {
			if n, err := store.FinishErasures(ctx); err != nil && ctx.Err() == nil {
				log.Error("finish erasures", "err", err)
			} else if n > 0 {
				log.Info("erasures completed", "count", n)
			}
		}
		if retentionDays > 0 && turn("retention", time.Hour) {
			if n, err := store.PurgeExpired(ctx, retentionDays); err != nil && ctx.Err() == nil {
				log.Error("retention purge", "err", err)
			} else if n > 0 {
				log.Info("retention purge", "leads", n, "days", retentionDays)
			}
		}
		if turn("prune_rate_counts", 10*time.Minute) {
			if _, err := store.PruneHits(ctx, store.Now().Add(-2*time.Minute)); err != nil && ctx.Err() == nil {
				log.Error("prune rate counts", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
