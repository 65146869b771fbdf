package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"leadbook/leads"
	"leadbook/mailer"
)

// runWebhook is `leadbook webhook add URL --events a,b`, `webhook list`
// and `webhook remove ID`.
func runWebhook(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("webhook: want add URL --events a,b, list or remove ID")
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add":
		fs := subFlags("webhook add")
		events := fs.String("events", "", "comma-separated: "+strings.Join(leads.WebhookEvents, ","))
		rest, err := parseInterleaved(fs, rest)
		if err != nil {
			return err
		}
		if len(rest) != 1 || *events == "" {
			return errors.New("webhook add: want one URL and --events a,b (" + strings.Join(leads.WebhookEvents, ",") + ")")
		}
		list, err := leads.ParseWebhookEvents(*events)
		if err != nil {
			return err
		}
		if err := mailer.CheckWebhookTarget(ctx, rest[0], cfg.WebhookAllowPrivate); err != nil {
			return err
		}
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		w, secret, err := store.AddWebhook(ctx, rest[0], list, leads.ActorCLI)
		if err != nil {
			return err
		}
		// The secret alone on the first line, for scripts.
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stdout, "# webhook %d %s (%s): the signing secret is shown once; give it to the receiver.\n",
			w.ID, w.URL, strings.Join(w.Events, ","))
		return nil
	case "list":
		if len(rest) != 0 {
			return errors.New("webhook list: takes no arguments")
		}
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		list, err := store.ListWebhooks(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tURL\tEVENTS\tSTATE\tCREATED")
		for _, w := range list {
			state := w.Status
			if w.DisabledReason != "" {
				state += " (" + w.DisabledReason + ")"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", w.ID, w.URL, strings.Join(w.Events, ","), state, w.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "remove":
		if len(rest) != 1 {
			return errors.New("webhook remove: want one ID")
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id < 1 {
			return fmt.Errorf("webhook remove: %q is not an endpoint id", rest[0])
		}
		store, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		if err := store.RemoveWebhook(ctx, id, leads.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed webhook %d and its deliveries\n", id)
		return nil
	}
	return fmt.Errorf("webhook: unknown subcommand %q", sub)
}
