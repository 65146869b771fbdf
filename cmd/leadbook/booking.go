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

	"leadbook/calendar"
	"leadbook/handlers"
	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
)

// bookingSettings are the booking side as configured, for the server and
// the command line alike.
func bookingSettings(cfg *config, store *leads.Store, busy handlers.BusySource, composer *mailer.Composer) *handlers.Booking {
	return &handlers.Booking{
		Rules:      cfg.rules(),
		CEO:        calendar.Person{Name: cfg.CEOName, Email: cfg.CEOEmail},
		Reminder:   cfg.Reminder,
		FeedSecret: cfg.FeedSecret,
		Store:      store,
		Settings:   store,
		Busy:       busy,
		Composer:   composer,

		MaxUpcomingPerEmail:   cfg.MaxUpcomingPerEmail,
		BookingsPerAddressDay: cfg.BookingsPerAddressDay,
		ConfirmByEmail:        cfg.BookingConfirm == "email",
		Hold:                  cfg.BookingHold,

		MaxBookingsPerEmailWeek: cfg.MaxBookingsPerEmailWeek,
		Questions:               cfg.BookingQuestions,
	}
}

// runBooking is `leadbook booking list|cancel|move|mark`: the host's
// actions on the calls, through the same booking Service as the staff
// pages. The mail they queue is sent by a running server's outbox worker.
func runBooking(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("booking: want list, cancel, move or mark")
	}
	sub, args := args[0], args[1:]
	fs := subFlags("booking " + sub)
	message := fs.String("message", "", "cancel: a message to the visitor")
	rebook := fs.Bool("rebook", false, "cancel: send the visitor a link to book again with their details kept")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("booking %s: %w", sub, err)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	id := func() (int64, error) {
		if len(rest) == 0 {
			return 0, fmt.Errorf("booking %s: want the booking's number (see booking list)", sub)
		}
		n, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("booking %s: %q is not a booking number", sub, rest[0])
		}
		return n, nil
	}
	service := func(busy handlers.BusySource) (*booking.Service, error) {
		// The composer is serve's: with CalDAV set, a change queues the
		// write into the CEO's calendar too.
		composer, err := newComposer(cfg, store.Now)
		if err != nil {
			return nil, err
		}
		return bookingSettings(cfg, store, busy, composer).Service(cfg.BaseURL, store.Now), nil
	}
	switch sub {
	case "list":
		which := leads.BookingsUpcoming
		if len(rest) > 0 {
			which = rest[0]
		}
		bs, err := store.ListBookings(ctx, which, 500)
		if err != nil {
			return fmt.Errorf("booking list: %w (want upcoming, past or cancelled)", err)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTART (UTC)\tSTATUS\tNAME\tEMAIL")
		for _, b := range bs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", b.ID, b.Start.UTC().Format(time.RFC3339), b.State(), oneLine(b.Name), b.Email)
		}
		return tw.Flush()
	case "cancel":
		n, err := id()
		if err != nil {
			return err
		}
		svc, err := service(noBusy{})
		if err != nil {
			return err
		}
		b, err := svc.CancelByHost(ctx, booking.HostCancel{ID: n, Message: *message, Rebook: *rebook, By: leads.ActorCLI})
		if err != nil {
			return fmt.Errorf("booking cancel: %s", leads.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "cancelled booking %d (%s); the cancellations are queued for the visitor and the CEO\n",
			b.ID, b.Start.UTC().Format(time.RFC3339))
		return nil
	case "move":
		n, err := id()
		if err != nil {
			return err
		}
		if len(rest) != 2 {
			return errors.New("booking move: want ID START, START in RFC 3339 (2026-03-04T10:00:00+01:00)")
		}
		start, err := time.Parse(time.RFC3339, rest[1])
		if err != nil {
			return fmt.Errorf("booking move: START %q: want RFC 3339, like 2026-03-04T10:00:00+01:00", rest[1])
		}
		// The move is checked against the CEO's busy times, as any
		// booking: read the feeds and the CalDAV calendar once (until a
		// source answers, all its times are busy).
		feeds := newFeeds(cfg, cfg.calDAV())
		if cfg.hasBusySources() {
			_ = feeds.Refresh(ctx) // a source that fails keeps its times busy
		}
		svc, err := service(feeds)
		if err != nil {
			return err
		}
		b, err := svc.MoveByHost(ctx, n, start, leads.ActorCLI)
		if err != nil {
			if errors.Is(err, leads.ErrSlotTaken) {
				return fmt.Errorf("booking move: %s is not an open slot (taken, busy, or outside the hours)", start.Format(time.RFC3339))
			}
			return fmt.Errorf("booking move: %s", leads.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "moved booking %d to %s; the updated invitations are queued for the visitor and the CEO\n",
			b.ID, b.Start.UTC().Format(time.RFC3339))
		return nil
	case "mark":
		n, err := id()
		if err != nil {
			return err
		}
		if len(rest) != 2 {
			return errors.New("booking mark: want ID completed|no_show")
		}
		svc, err := service(noBusy{})
		if err != nil {
			return err
		}
		b, err := svc.MarkOutcome(ctx, n, rest[1], leads.ActorCLI)
		if err != nil {
			return fmt.Errorf("booking mark: %s", leads.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "booking %d: %s\n", b.ID, b.State())
		return nil
	}
	return fmt.Errorf("booking: unknown subcommand %q (want list, cancel, move or mark)", sub)
}

// noBusy is the busy source of the actions that check no slot.
type noBusy struct{}

func (noBusy) Busy(from, to time.Time) []calendar.Interval { return nil }
func (noBusy) Version() uint64                             { return 0 }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
