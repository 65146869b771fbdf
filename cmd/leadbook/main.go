// Command leadbook serves the consultancy's site: articles, lead capture,
// booking calls with the CEO, and the mail that confirms them.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"leadbook/calendar"
	"leadbook/handlers"
	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
)

// defaultGCPercent is the garbage collector's target when GOGC is not
// set. A request leaves little behind (pages are cached bytes, the store
// keeps nothing per request), so the live heap is a few megabytes and
// Go's default of 100 collects it very often under load: a quarter of the
// CPU a lead submission cost went to marking. 200 halves that for a few
// megabytes more heap.
const defaultGCPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "leadbook: %v\n", err)
		os.Exit(1)
	}
}

// run is the whole program: it parses the configuration, then runs the
// subcommand named in args (serve when none). stdin feeds subcommands that
// read secrets, such as passwords.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := "leadbook"
	if len(args) > 0 {
		name, args = filepath.Base(args[0]), args[1:]
	}
	cfg, rest, err := parseConfig(name, args, getenv, stdout)
	if errors.Is(err, errVersion) {
		fmt.Fprintln(stdout, readBuildInfo())
		return nil
	}
	if err != nil {
		return err
	}
	cmd := "serve"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		if len(rest) > 0 {
			return fmt.Errorf("serve takes no arguments, got %q", rest)
		}
		return serve(ctx, cfg, stdout, stderr)
	case "migrate":
		applied, version, err := leads.Migrate(ctx, cfg.DB)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migrations; schema is at version %d\n", applied, version)
		return nil
	case "staff":
		return runStaff(ctx, cfg, rest, stdin, stdout)
	case "token":
		return runToken(ctx, cfg, rest, stdout)
	case "booking":
		return runBooking(ctx, cfg, rest, stdout)
	case "webhook":
		return runWebhook(ctx, cfg, rest, stdout)
	case "export":
		return runExport(ctx, cfg, rest, stdout)
	case "audit":
		return runAudit(ctx, cfg, rest, stdout)
	case "backup":
		if len(rest) != 1 {
			return errors.New("backup takes one argument: the file to write (see leadbook --help)")
		}
		return backup(ctx, cfg, rest[0], stdout)
	case "copy":
		return runCopy(ctx, cfg, rest, stdout)
	case "check":
		if len(rest) > 0 {
			return fmt.Errorf("check takes no arguments, got %q", rest)
		}
		return check(ctx, cfg, stdout)
	case "help":
		printHelp(stdout)
		return nil
	}
	return fmt.Errorf("unknown command %q (see leadbook --help)", cmd)
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(handlers.LogHandler(h))
}

// serve runs the web server and the outbox worker until ctx ends, then shuts
// down in order: readiness off (for DrainDelay, so that load balancers
// notice), HTTP drained, worker stopped, mail handed over, database closed.
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) (err error) {
	log := newLogger(cfg, stderr)
	bi := readBuildInfo()
	log.Info("starting", "version", bi.Version, "commit", bi.Commit, "modified", bi.Modified, "go", bi.Go)
	if files, err := raiseFileLimit(); err != nil {
		log.Warn("raise the open-file limit", "limit", files, "err", err)
	} else {
		log.Info("open-file limit", "limit", files)
	}
	store, err := leads.Open(ctx, cfg.DB, leads.Options{SignIn: cfg.SignIn, Hashes: cfg.Hashes})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			log.Error("close database", "err", cerr)
			err = errors.Join(err, cerr)
		}
	}()
	// instance names this process in the database's job turns.
	instance := instanceName()
	formKey, err := store.Secret(ctx, "form_key", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return err
	}
	attribKey, err := store.Secret(ctx, "attrib_key", func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return err
	}
	sender, err := newSender(cfg)
	if err != nil {
		return err
	}
	composer, err := newComposer(cfg, store.Now)
	if err != nil {
		return err
	}
	cal := cfg.calDAV()
	feeds := newFeeds(cfg, cal)
	ceo := calendar.Person{Name: cfg.CEOName, Email: cfg.CEOEmail}
	deliverers := map[string]mailer.Deliverer{}
	deliverers[leads.KindWebhook] = &mailer.WebhookDeliverer{Store: store, AllowPrivate: cfg.WebhookAllowPrivate}
	if cal != nil {
		dav := &mailer.CalDAV{Calendar: cal, Store: store, Composer: composer, CEO: ceo}
		deliverers[mailer.KindCalDAV], deliverers[leads.KindCalDAVDelete] = dav, dav
	}
	m := newMetrics(metricsSource{store: store, feeds: feeds, now: store.Now})
	worker := &mailer.Worker{Queue: store, Sender: sender, Logger: log, Now: store.Now,
		BaseDelay: cfg.MailRetryBase, MaxDelay: cfg.MailRetryMax, Lease: cfg.MailLease, Result: m.workerResult,
		Render: composer.Render, Deliverers: deliverers}

	if cfg.onStore != nil {
		cfg.onStore(store)
	}
	direct := mailer.NewDirect(sender, log)
	// Several instances share one PostgreSQL database, and so their POST
	// limit; one SQLite process counts in memory.
	var hits handlers.HitCounter
	if store.Engine() == "postgres" {
		hits = store
	}
	srv, err := handlers.New(handlers.Config{
		SiteName:       cfg.SiteName,
		BaseURL:        cfg.BaseURL,
		RateLimit:      cfg.RateLimit,
		MinFill:        cfg.MinFill,
		FormMaxAge:     cfg.FormMaxAge,
		TrustedProxies: cfg.Trusted,
		Logger:         log,
		HTTPS:          len(cfg.BaseURL) > 8 && cfg.BaseURL[:8] == "https://",
		Privacy:        cfg.Privacy,
		Contact:        cfg.Contact,
	}, handlers.Deps{Store: store, Composer: composer, Direct: direct, Outbox: worker, FormKey: formKey,
		Observe: m.observe, Count: m.count, Metrics: m.handler(),
		Booking:   bookingSettings(cfg, store, feeds, composer),
		Staff:     &handlers.Staff{Store: store, Accounts: store, Feeds: feeds, API: store, Webhooks: store, AllowPrivateWebhooks: cfg.WebhookAllowPrivate},
		Hits:      hits,
		Views:     store,
		AttribKey: attribKey,
	})
	if err != nil {
		return err
	}
	// Start-up renders and compresses every page once; hand that garbage
	// back to the system now rather than carry it while idle.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = handlers.LimitListener(ln, handlers.ConnLimit{PerAddress: cfg.MaxConns, Exempt: cfg.Trusted,
		Refused: m.connRefused(log)})
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		// Short, so that idle keep-alive connections do not pile up
		// towards the file limit; a browser opens a new one in a moment.
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := worker.Run(workerCtx); err != nil {
			log.Error("outbox worker stopped", "err", err)
		}
	}()
	if cfg.hasBusySources() {
		// The first fetch runs in the background: until it succeeds, the
		// feeds report everything busy, so no slot can clash.
		wg.Add(1)
		go func() {
			defer wg.Done()
			feeds.Run(workerCtx, 5*time.Minute)
		}()
	}
	if cfg.IMAPURL != "" {
		replies := &mailer.Replies{URL: cfg.IMAPURL, Username: cfg.IMAPUsername, Password: cfg.IMAPPassword,
			Store: store, Composer: composer, CEO: ceo, CEOZone: cfg.Timezone, Logger: log, Now: store.Now}
		wg.Add(1)
		go func() {
			defer wg.Done()
			repliesLoop(workerCtx, store, instance, replies, cfg.IMAPPoll, worker.Wake, log)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		jobsLoop(workerCtx, store, instance, cfg.RetentionDays, log)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		flushViews(workerCtx, srv, cfg.ViewsFlush, log)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "db", leads.Describe(cfg.DB))
	fmt.Fprintf(stdout, "leadbook listening on http://%s\n", ln.Addr())

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-serveErr:
		log.Error("http server failed", "err", err)
	}
	srv.StartDraining()
	if cfg.DrainDelay > 0 && err == nil {
		log.Info("draining", "delay", cfg.DrainDelay.String())
		time.Sleep(cfg.DrainDelay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if serr := httpSrv.Shutdown(shutdownCtx); serr != nil {
		log.Error("http shutdown", "err", serr)
		err = errors.Join(err, serr)
	}
	stopWorker()
	wg.Wait()
	// The listener is closed: the last views counted go in now.
	if ferr := srv.FlushViews(shutdownCtx); ferr != nil {
		log.Error("article views", "err", ferr)
	}
	if derr := direct.Close(shutdownCtx); derr != nil {
		log.Error("fallback mail", "err", derr)
		err = errors.Join(err, derr)
	}
	// The SMTP sessions kept open between messages end with QUIT.
	if c, ok := sender.(io.Closer); ok {
		if cerr := c.Close(); cerr != nil {
			log.Warn("smtp", "err", cerr)
		}
	}
	log.Info("stopped")
	return err
}

// repliesLoop reads the organizer's mailbox every interval, on one
// instance at a time: the one holding the job's turn, whose poll ends
// before the turn does.
func repliesLoop(ctx context.Context, store *leads.Store, holder string, r *mailer.Replies, every time.Duration, wake func(), log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ok, err := store.TakeTurn(ctx, "imap_replies", holder, every)
		if err != nil && ctx.Err() == nil {
			log.Error("periodic job", "job", "imap_replies", "err", err)
		}
		if ok {
			pctx, cancel := context.WithTimeout(ctx, every*9/10)
			res, err := r.Poll(pctx)
			cancel()
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("reading replies", "err", err)
			case res.Acted > 0:
				wake() // cancellations and notes were queued
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// flushViews adds the article views counted in memory to the database
// every interval until ctx ends; counts that fail stay for the next turn.
func flushViews(ctx context.Context, srv *handlers.Server, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := srv.FlushViews(ctx); err != nil && ctx.Err() == nil {
				log.Warn("article views: flush", "err", err)
			}
		}
	}
}

// calDAV returns the CEO's CalDAV calendar, or nil when none is set.
func (c *config) calDAV() *calendar.CalDAV {
	if c.CalDAVURL == "" {
		return nil
	}
	return &calendar.CalDAV{URL: c.CalDAVURL, Username: c.CalDAVUsername, Password: c.CalDAVPassword,
		Client: &http.Client{Timeout: 30 * time.Second}, Skip: booking.OwnUID(c.BaseURL)}
}

// newComposer is the mail composer as configured, for serve and the
// booking commands alike: with CalDAV set, every booking change queues
// its write into the CEO's calendar as well.
func newComposer(cfg *config, now func() time.Time) (*mailer.Composer, error) {
	composer, err := mailer.NewComposer(cfg.MailFrom, cfg.StaffEmail, cfg.BaseURL, cfg.SiteName)
	if err != nil {
		return nil, err
	}
	composer.Now = now
	composer.CalDAV, composer.RepliesRead = cfg.CalDAVURL != "", cfg.IMAPURL != ""
	composer.Meeting = cfg.Meeting
	return composer, nil
}

// newFeeds is the CEO's busy time as configured, for serve, check and
// the booking commands alike: the ICS feeds and, when cal is not nil,
// the CalDAV calendar. Until a source answers, its times are all busy.
func newFeeds(cfg *config, cal *calendar.CalDAV) *calendar.Feeds {
	feeds := calendar.NewFeeds(cfg.BusyICS, calendar.FeedOptions{
		MaxStale: cfg.BusyMaxStale,
		Horizon:  time.Duration(cfg.HorizonDays+2) * 24 * time.Hour,
		Floating: cfg.Timezone,
	})
	if cal != nil {
		feeds.AddSource(calDAVSourceName(cfg), cal.Busy)
	}
	return feeds
}

// hasBusySources reports whether any busy source is configured (an ICS
// feed or the CalDAV calendar).
func (c *config) hasBusySources() bool { return len(c.BusyICS) > 0 || c.CalDAVURL != "" }

// calDAVSourceName is how the busy sources' status shows the calendar.
func calDAVSourceName(c *config) string { return "caldav " + calendar.RedactURL(c.CalDAVURL) }

// instanceName names this process among the instances on one database:
// the host, the process id and a random part (a restarted container may
// get the same host name and pid).
func instanceName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

func newSender(cfg *config) (mailer.Sender, error) {
	if cfg.SMTPHost == "" {
		if err := os.MkdirAll(cfg.MailDir, 0o750); err != nil {
			return nil, fmt.Errorf("LEADBOOK_MAIL_DIR: %w", err)
		}
		return mailer.DirSender{Dir: cfg.MailDir}, nil
	}
	return mailer.NewSMTPSender(mailer.SMTPConfig{
		Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLS: cfg.SMTPTLS,
		Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
	})
}
