package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"leadbook/calendar"
	"leadbook/handlers"
	"leadbook/leads"
	"leadbook/mailer"
)

// config is the whole configuration, parsed and validated once before
// anything is opened.
type config struct {
	Addr          string
	DB            string
	BaseURL       string
	SMTPHost      string
	SMTPPort      int
	SMTPUsername  string
	SMTPPassword  string
	SMTPTLS       string
	MailDir       string
	MailFrom      mail.Address
	StaffEmail    mail.Address
	CEOName       string
	CEOEmail      string
	Timezone      *time.Location
	Hours         calendar.Week
	SlotMinutes   int
	BufferMinutes int
	MinNotice     time.Duration
	HorizonDays   int
	DailyCap      int
	Closed        []calendar.DateRange
	BusyICS       []string
	BusyMaxStale  time.Duration
	Reminder      time.Duration
	FeedSecret    string
	RateLimit     int
	MaxConns      int // open connections per client address; 0: no cap
	MinFill       time.Duration
	FormMaxAge    time.Duration
	Trusted       []*net.IPNet
	RetentionDays int
	LogFormat     string
	SiteName      string
	DrainDelay    time.Duration
	MailRetryBase time.Duration
	MailRetryMax  time.Duration
	MailLease     time.Duration
	SignIn        leads.SignInLimits
	Hashes        int

	// Booking limits and confirmation by email.
	MaxUpcomingPerEmail   int
	BookingsPerAddressDay int
	BookingConfirm        string // "" or "email"
	BookingHold           time.Duration

	// The privacy notice (Markdown; nil: the built-in one) and the firm's
	// contact details on the contact page.
	Privacy []byte
	Contact handlers.Contact
	// The CEO's calendar over CalDAV, and the organizer's mailbox over
	// IMAP for replies to invitations.
	CalDAVURL      string
	CalDAVUsername string
	CalDAVPassword string
	IMAPURL        string
	IMAPUsername   string
	IMAPPassword   string
	IMAPPoll       time.Duration
	// WebhookAllowPrivate lets webhook endpoints be on loopback and
	// private addresses.
	WebhookAllowPrivate bool
	// ViewsFlush is how often the article views counted in memory are
	// added to the database.
	ViewsFlush time.Duration
	// Where calls happen, the booking form's questions, and the weekly
	// cap on bookings per address.
	Meeting                 mailer.Meeting
	BookingQuestions        []handlers.Question
	MaxBookingsPerEmailWeek int

	// onStore, when set, is handed the opened store before the server
	// starts: a test hook, not configuration.
	onStore func(*leads.Store)
}

// setting is one configuration variable: an environment variable, the
// flag of the same name, and for secrets a NAME_FILE variable too.
type setting struct {
	env    string
	def    string
	help   string
	secret bool
	parse  func(c *config, v string) error
}

func (s setting) flagName() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.env, "LEADBOOK_")), "_", "-")
}

var settings = []setting{
	{env: "LEADBOOK_ADDR", def: ":8080", help: "address to listen on", parse: func(c *config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return errors.New("want host:port, like :8080 or 127.0.0.1:8080")
		}
		c.Addr = v
		return nil
	}},
	{env: "LEADBOOK_DB", def: "data/leadbook.db", help: "SQLite database file, or a postgres:// URL (it may hold a password: then use LEADBOOK_DB_FILE)", secret: true, parse: func(c *config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		if err := leads.CheckDB(v); err != nil {
			return err
		}
		c.DB = v
		return nil
	}},
	{env: "LEADBOOK_BASE_URL", def: "http://localhost:8080", help: "public URL of the site, for links in emails", parse: func(c *config, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return errors.New("want an absolute http(s) URL without a path, like https://example.com")
		}
		c.BaseURL = strings.TrimSuffix(v, "/")
		return nil
	}},
	{env: "LEADBOOK_SITE_NAME", def: "Northwind Consulting", help: "the firm's name, shown on pages and in emails", parse: func(c *config, v string) error {
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
			return errors.New("must be one non-empty line")
		}
		c.SiteName = v
		return nil
	}},
	{env: "LEADBOOK_SMTP_HOST", def: "", help: "SMTP server; empty: write mail to LEADBOOK_MAIL_DIR", parse: func(c *config, v string) error {
		c.SMTPHost = v
		return nil
	}},
	{env: "LEADBOOK_SMTP_PORT", def: "", help: "SMTP port; empty: 25, 587 or 465 by LEADBOOK_SMTP_TLS", parse: func(c *config, v string) error {
		if v == "" {
			return nil
		}
		return intIn(&c.SMTPPort, v, 1, 65535)
	}},
	{env: "LEADBOOK_SMTP_USERNAME", def: "", help: "SMTP user; AUTH only when set", parse: func(c *config, v string) error {
		c.SMTPUsername = v
		return nil
	}},
	{env: "LEADBOOK_SMTP_PASSWORD", def: "", help: "SMTP password", secret: true, parse: func(c *config, v string) error {
		c.SMTPPassword = v
		return nil
	}},
	{env: "LEADBOOK_SMTP_TLS", def: "starttls", help: "none, starttls or tls", parse: func(c *config, v string) error {
		switch v {
		case "none", "starttls", "tls":
			c.SMTPTLS = v
			return nil
		}
		return errors.New("want none, starttls or tls")
	}},
	{env: "LEADBOOK_MAIL_DIR", def: "data/mail", help: "pickup folder, one .eml per message, when no SMTP host is set", parse: func(c *config, v string) error {
		c.MailDir = v
		return nil
	}},
	{env: "LEADBOOK_MAIL_FROM", def: "Bookings <bookings@localhost>", help: "sender of every email, and the invitations' ORGANIZER", parse: func(c *config, v string) error {
		a, err := mail.ParseAddress(v)
		if err != nil {
			return errors.New("want an address like Bookings <bookings@example.com>")
		}
		c.MailFrom = *a
		return nil
	}},
	{env: "LEADBOOK_STAFF_EMAIL", def: "", help: "where lead notifications and fallbacks go; empty: LEADBOOK_MAIL_FROM", parse: func(c *config, v string) error {
		if v == "" {
			return nil
		}
		a, err := mail.ParseAddress(v)
		if err != nil {
			return errors.New("want an address like staff@example.com")
		}
		c.StaffEmail = *a
		return nil
	}},
	{env: "LEADBOOK_CEO_NAME", def: "our CEO", help: "the CEO's name, shown on the booking page and in invitations, in running text (\"call with our CEO\")", parse: func(c *config, v string) error {
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
			return errors.New("must be one non-empty line")
		}
		c.CEOName = v
		return nil
	}},
	{env: "LEADBOOK_CEO_EMAIL", def: "ceo@localhost", help: "the CEO's address, an attendee of every call", parse: func(c *config, v string) error {
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" {
			return errors.New("want a plain address like ceo@example.com")
		}
		c.CEOEmail = a.Address
		return nil
	}},
	{env: "LEADBOOK_TIMEZONE", def: "UTC", help: "the CEO's IANA time zone, like Europe/Berlin", parse: func(c *config, v string) error {
		if v == "" || v == "Local" {
			return errors.New("want an IANA zone name like Europe/Berlin")
		}
		loc, err := time.LoadLocation(v)
		if err != nil {
			return fmt.Errorf("unknown time zone %q", v)
		}
		c.Timezone = loc
		return nil
	}},
	{env: "LEADBOOK_HOURS", def: "mon-fri 09:00-17:00", help: "weekly hours for calls; rules joined by ';', ranges by ','", parse: func(c *config, v string) error {
		w, err := calendar.ParseHours(v)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "calendar: "))
		}
		c.Hours = w
		return nil
	}},
	{env: "LEADBOOK_SLOT_MINUTES", def: "30", help: "length of a call", parse: func(c *config, v string) error {
		return intIn(&c.SlotMinutes, v, 5, 480)
	}},
	{env: "LEADBOOK_BUFFER_MINUTES", def: "0", help: "free minutes kept between calls", parse: func(c *config, v string) error {
		return intIn(&c.BufferMinutes, v, 0, 240)
	}},
	{env: "LEADBOOK_MIN_NOTICE", def: "12h", help: "earliest a call can be booked ahead", parse: func(c *config, v string) error {
		return durationIn(&c.MinNotice, v, 0, 90*24*time.Hour)
	}},
	{env: "LEADBOOK_HORIZON_DAYS", def: "30", help: "how many days ahead calls can be booked", parse: func(c *config, v string) error {
		return intIn(&c.HorizonDays, v, 1, 366)
	}},
	{env: "LEADBOOK_DAILY_CAP", def: "0", help: "most calls a day; 0: no cap", parse: func(c *config, v string) error {
		return intIn(&c.DailyCap, v, 0, 1000)
	}},
	{env: "LEADBOOK_CLOSED", def: "", help: "dates with no calls, like 2026-12-24,2026-12-31..2027-01-02", parse: func(c *config, v string) error {
		closed, err := calendar.ParseClosed(v)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "calendar: "))
		}
		c.Closed = closed
		return nil
	}},
	{env: "LEADBOOK_BUSY_ICS", def: "", help: "ICS feeds (URLs or files, comma-separated) of the CEO's busy times", parse: func(c *config, v string) error {
		c.BusyICS = nil
		for _, src := range strings.Split(v, ",") {
			src = strings.TrimSpace(src)
			if src == "" {
				continue
			}
			if strings.Contains(src, "://") {
				u, err := url.Parse(src)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "webcal") || u.Host == "" {
					return errors.New("want http(s) URLs or file paths, comma-separated")
				}
			}
			c.BusyICS = append(c.BusyICS, src)
		}
		return nil
	}},
	{env: "LEADBOOK_BUSY_MAX_STALE", def: "6h", help: "how long a failing feed's last good copy is trusted", parse: func(c *config, v string) error {
		return durationIn(&c.BusyMaxStale, v, time.Minute, 30*24*time.Hour)
	}},
	{env: "LEADBOOK_REMINDER", def: "24h", help: "reminder email this long before a call; 0: none", parse: func(c *config, v string) error {
		return durationIn(&c.Reminder, v, 0, 30*24*time.Hour)
	}},
	{env: "LEADBOOK_FEED_SECRET", def: "", help: "secret of the CEO's feed URL /calendar/{secret}.ics; empty: no feed", secret: true, parse: func(c *config, v string) error {
		if v != "" && len(v) < 16 {
			return errors.New("must be at least 16 characters")
		}
		if strings.ContainsAny(v, "/?#% ") {
			return errors.New("must not contain / ? # % or spaces")
		}
		c.FeedSecret = v
		return nil
	}},
	{env: "LEADBOOK_RATE_LIMIT", def: "20", help: "POSTs per minute per client address; 0: off", parse: func(c *config, v string) error {
		return intIn(&c.RateLimit, v, 0, 1_000_000)
	}},
	{env: "LEADBOOK_MAX_CONNS_PER_ADDRESS", def: "256", help: "open connections per client address (IPv6: per /64); peers in LEADBOOK_TRUSTED_PROXIES have no cap; 0: off", parse: func(c *config, v string) error {
		return intIn(&c.MaxConns, v, 0, 1_000_000)
	}},
	{env: "LEADBOOK_MIN_FILL_SECONDS", def: "3", help: "least seconds between showing a form and its submission; 0: off", parse: func(c *config, v string) error {
		var n int
		if err := intIn(&n, v, 0, 3600); err != nil {
			return err
		}
		c.MinFill = time.Duration(n) * time.Second
		return nil
	}},
	{env: "LEADBOOK_FORM_MAX_AGE", def: "24h", help: "how long a served form may be sent back; an older one is shown again with what was typed", parse: func(c *config, v string) error {
		return durationIn(&c.FormMaxAge, v, time.Minute, 30*24*time.Hour)
	}},
	{env: "LEADBOOK_MAX_UPCOMING_PER_EMAIL", def: "1", help: "calls still to come that one email address may have; 0: no limit", parse: func(c *config, v string) error {
		return intIn(&c.MaxUpcomingPerEmail, v, 0, 1000)
	}},
	{env: "LEADBOOK_BOOKINGS_PER_ADDRESS_DAY", def: "3", help: "bookings one client address may make in 24 hours; 0: no limit", parse: func(c *config, v string) error {
		return intIn(&c.BookingsPerAddressDay, v, 0, 1_000_000)
	}},
	{env: "LEADBOOK_BOOKING_CONFIRM", def: "", help: "empty, or email: a booking holds its time until the visitor confirms it by the link mailed to them", parse: func(c *config, v string) error {
		if v != "" && v != "email" {
			return errors.New("want email, or leave it empty")
		}
		c.BookingConfirm = v
		return nil
	}},
	{env: "LEADBOOK_BOOKING_HOLD", def: "30m", help: "how long an unconfirmed booking holds its time (with LEADBOOK_BOOKING_CONFIRM=email)", parse: func(c *config, v string) error {
		return durationIn(&c.BookingHold, v, time.Minute, 7*24*time.Hour)
	}},
	{env: "LEADBOOK_MEETING_URL", def: "", help: "where calls happen: a link with {room} (each call's own room, like https://meet.jit.si/northwind-{room}), a fixed link, or phone (the CEO calls the visitor, whose phone is then required); empty: not said", parse: func(c *config, v string) error {
		m, err := mailer.ParseMeeting(v)
		c.Meeting = m
		return err
	}},
	{env: "LEADBOOK_BOOKING_QUESTIONS", def: "", help: `questions on the booking form, as JSON: [{"id":"goal","label":"What should we talk about?","kind":"text|long|choice","choices":["..."],"required":true}]`, parse: func(c *config, v string) error {
		qs, err := handlers.ParseQuestions(v)
		c.BookingQuestions = qs
		return err
	}},
	{env: "LEADBOOK_MAX_BOOKINGS_PER_EMAIL_WEEK", def: "3", help: "bookings one email address may make in 7 days, whatever became of them; 0: no limit", parse: func(c *config, v string) error {
		return intIn(&c.MaxBookingsPerEmailWeek, v, 0, 1000)
	}},
	{env: "LEADBOOK_TRUSTED_PROXIES", def: "", help: "CIDRs whose X-Forwarded-For is believed; empty: none", parse: func(c *config, v string) error {
		c.Trusted = nil
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !strings.Contains(part, "/") {
				if ip := net.ParseIP(part); ip != nil && ip.To4() != nil {
					part += "/32"
				} else {
					part += "/128"
				}
			}
			_, n, err := net.ParseCIDR(part)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR like 10.0.0.0/8", part)
			}
			c.Trusted = append(c.Trusted, n)
		}
		return nil
	}},
	{env: "LEADBOOK_RETENTION_DAYS", def: "0", help: "delete leads older than this; 0: keep until erased", parse: func(c *config, v string) error {
		return intIn(&c.RetentionDays, v, 0, 100*366)
	}},
	{env: "LEADBOOK_DRAIN_DELAY", def: "0s", help: "on shutdown, how long /readyz answers 503 before the listener closes", parse: func(c *config, v string) error {
		return durationIn(&c.DrainDelay, v, 0, time.Minute)
	}},
	{env: "LEADBOOK_MAIL_RETRY_BASE", def: "30s", help: "first retry delay of the outbox after a temporary failure; doubles each time", parse: func(c *config, v string) error {
		return durationIn(&c.MailRetryBase, v, 10*time.Millisecond, time.Hour)
	}},
	{env: "LEADBOOK_MAIL_RETRY_MAX", def: "1h", help: "longest delay between outbox retries", parse: func(c *config, v string) error {
		return durationIn(&c.MailRetryMax, v, 10*time.Millisecond, 24*time.Hour)
	}},
	{env: "LEADBOOK_MAIL_LEASE", def: "2m", help: "how long the outbox worker holds a message it is sending; after a crash, held messages wait this long", parse: func(c *config, v string) error {
		return durationIn(&c.MailLease, v, time.Second, time.Hour)
	}},
	{env: "LEADBOOK_SIGNIN_PER_ACCOUNT_ADDRESS", def: "5", help: "failed sign-ins allowed in 15 minutes at one account from one client address", parse: func(c *config, v string) error {
		return intIn(&c.SignIn.AccountAddress, v, 1, 10_000)
	}},
	{env: "LEADBOOK_SIGNIN_PER_ADDRESS", def: "20", help: "failed sign-ins allowed in 15 minutes from one client address (IPv6: one /64), all accounts together", parse: func(c *config, v string) error {
		return intIn(&c.SignIn.Address, v, 1, 10_000)
	}},
	{env: "LEADBOOK_SIGNIN_PER_ACCOUNT", def: "100", help: "failed sign-ins allowed in 15 minutes at one account from all addresses together", parse: func(c *config, v string) error {
		return intIn(&c.SignIn.Account, v, 1, 100_000)
	}},
	{env: "LEADBOOK_HASH_CONCURRENCY", def: "", help: "password hashes (19 MiB each) computed at once; empty: the core count, at most 2", parse: func(c *config, v string) error {
		if v == "" {
			c.Hashes = leads.DefaultHashes()
			return nil
		}
		return intIn(&c.Hashes, v, 1, 256)
	}},
	{env: "LEADBOOK_LOG_FORMAT", def: "text", help: "text or json", parse: func(c *config, v string) error {
		if v != "text" && v != "json" {
			return errors.New("want text or json")
		}
		c.LogFormat = v
		return nil
	}},
	{env: "LEADBOOK_PRIVACY_FILE", def: "", help: "a Markdown file with the privacy notice shown at /privacy; empty: a built-in notice", parse: func(c *config, v string) error {
		if v == "" {
			return nil
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("cannot read it: %v", err)
		}
		if !utf8.Valid(b) || len(bytes.TrimSpace(b)) == 0 {
			return errors.New("want a non-empty UTF-8 Markdown file")
		}
		c.Privacy = b
		return nil
	}},
	{env: "LEADBOOK_CONTACT_EMAIL", def: "", help: "the firm's email address, shown on the contact page", parse: func(c *config, v string) error {
		if v == "" {
			return nil
		}
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" {
			return errors.New("want a plain address like hello@example.com")
		}
		c.Contact.Email = a.Address
		return nil
	}},
	{env: "LEADBOOK_CONTACT_PHONE", def: "", help: "the firm's phone number, shown on the contact page, like +44 20 7946 0000", parse: func(c *config, v string) error {
		if v != "" && !phoneRE.MatchString(v) {
			return errors.New("want digits, spaces, dashes and brackets with an optional leading +, like +44 20 7946 0000")
		}
		c.Contact.Phone = v
		return nil
	}},
	{env: "LEADBOOK_CONTACT_ADDRESS", def: "", help: "the firm's postal address, shown on the contact page; commas start new lines", parse: func(c *config, v string) error {
		if strings.ContainsAny(v, "\r\n") || len(v) > 300 {
			return errors.New("want one line of at most 300 characters, parts separated by commas")
		}
		c.Contact.Address = strings.TrimSpace(v)
		return nil
	}},
	{env: "LEADBOOK_CALDAV_URL", def: "", help: "the CEO's calendar collection on a CalDAV server: bookings are written there and its events are busy time; empty: none", parse: func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
				return errors.New("want an http(s) URL of a calendar collection, without credentials (use LEADBOOK_CALDAV_USERNAME and _PASSWORD)")
			}
		}
		c.CalDAVURL = v
		return nil
	}},
	{env: "LEADBOOK_CALDAV_USERNAME", def: "", help: "CalDAV user name", parse: func(c *config, v string) error {
		c.CalDAVUsername = v
		return nil
	}},
	{env: "LEADBOOK_CALDAV_PASSWORD", def: "", help: "CalDAV password", secret: true, parse: func(c *config, v string) error {
		c.CalDAVPassword = v
		return nil
	}},
	{env: "LEADBOOK_IMAP_URL", def: "", help: "the organizer's mailbox (imaps://host[:port] or imap://host[:port] with STARTTLS), where replies to invitations are read; empty: invitations ask for none", parse: func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "imap" && u.Scheme != "imaps") || u.Hostname() == "" || u.User != nil || u.RawQuery != "" ||
				(u.Path != "" && u.Path != "/") {
				return errors.New("want imaps://host[:port] or imap://host[:port], without credentials (use LEADBOOK_IMAP_USERNAME and _PASSWORD)")
			}
		}
		c.IMAPURL = v
		return nil
	}},
	{env: "LEADBOOK_IMAP_USERNAME", def: "", help: "IMAP user name", parse: func(c *config, v string) error {
		c.IMAPUsername = v
		return nil
	}},
	{env: "LEADBOOK_IMAP_PASSWORD", def: "", help: "IMAP password", secret: true, parse: func(c *config, v string) error {
		c.IMAPPassword = v
		return nil
	}},
	{env: "LEADBOOK_IMAP_POLL", def: "1m", help: "how often the mailbox is read for replies", parse: func(c *config, v string) error {
		return durationIn(&c.IMAPPoll, v, 10*time.Second, 24*time.Hour)
	}},
	{env: "LEADBOOK_WEBHOOK_ALLOW_PRIVATE", def: "false", help: "true: webhook endpoints may be on loopback, private and link-local addresses (refused otherwise, when added and when connecting)", parse: func(c *config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return errors.New("want true or false")
		}
		c.WebhookAllowPrivate = b
		return nil
	}},
	{env: "LEADBOOK_VIEWS_FLUSH", def: "1m", help: "how often the article views counted in memory are added to the database (and once at shutdown)", parse: func(c *config, v string) error {
		return durationIn(&c.ViewsFlush, v, time.Second, time.Hour)
	}},
}

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{3,30}$`)

func intIn(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	if n < lo || n > hi {
		return fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
	}
	*dst = n
	return nil
}

func durationIn(dst *time.Duration, v string, lo, hi time.Duration) error {
	if v == "0" {
		v = "0s"
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 12h or 30m", v)
	}
	if d < lo || d > hi {
		return fmt.Errorf("%s is out of range %s..%s", d, lo, hi)
	}
	*dst = d
	return nil
}

// rules are the availability rules the configuration describes.
func (c *config) rules() calendar.Rules {
	return calendar.Rules{
		Location:    c.Timezone,
		Hours:       c.Hours,
		Slot:        time.Duration(c.SlotMinutes) * time.Minute,
		Buffer:      time.Duration(c.BufferMinutes) * time.Minute,
		MinNotice:   c.MinNotice,
		HorizonDays: c.HorizonDays,
		DailyCap:    c.DailyCap,
		Closed:      c.Closed,
	}
}

// errHelp is returned when --help was asked for and printed.
var errHelp = errors.New("help requested")

// configError names the variable whose value is bad.
type configError struct {
	name string
	err  error
}

func (e *configError) Error() string { return e.name + ": " + e.err.Error() }

// parseConfig reads flags (which win), then environment variables, then
// NAME_FILE for secrets, then defaults, and validates everything. It returns
// the remaining arguments (the subcommand's).
func parseConfig(name string, args []string, getenv func(string) string, stdout io.Writer) (*config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := make([]*string, len(settings))
	for i, s := range settings {
		vals[i] = fs.String(s.flagName(), "", s.help)
		if s.secret {
			fs.String(s.flagName()+"-file", "", "file holding "+s.flagName())
		}
	}
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout)
			return nil, nil, errHelp
		}
		return nil, nil, err
	}
	if *showVersion {
		// Before the configuration is checked: a broken setting must not
		// hide which binary this is.
		return nil, nil, errVersion
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c := &config{}
	for i, s := range settings {
		v, err := lookup(s, fs, set, *vals[i], getenv)
		if err != nil {
			return nil, nil, &configError{s.env, err}
		}
		if err := s.parse(c, v); err != nil {
			return nil, nil, &configError{s.env, err}
		}
	}
	if c.StaffEmail.Address == "" {
		c.StaffEmail = c.MailFrom
	}
	if c.SMTPHost == "" && c.MailDir == "" {
		return nil, nil, &configError{"LEADBOOK_MAIL_DIR", errors.New("must be set when LEADBOOK_SMTP_HOST is empty")}
	}
	if c.SMTPPassword != "" && c.SMTPUsername == "" {
		return nil, nil, &configError{"LEADBOOK_SMTP_USERNAME", errors.New("must be set when a password is")}
	}
	if c.CalDAVPassword != "" && c.CalDAVUsername == "" {
		return nil, nil, &configError{"LEADBOOK_CALDAV_USERNAME", errors.New("must be set when a password is")}
	}
	if c.IMAPURL != "" && (c.IMAPUsername == "" || c.IMAPPassword == "") {
		return nil, nil, &configError{"LEADBOOK_IMAP_USERNAME", errors.New("and LEADBOOK_IMAP_PASSWORD must be set with LEADBOOK_IMAP_URL")}
	}
	if c.MailRetryMax < c.MailRetryBase {
		return nil, nil, &configError{"LEADBOOK_MAIL_RETRY_MAX", errors.New("must not be less than LEADBOOK_MAIL_RETRY_BASE")}
	}
	if err := c.rules().Validate(); err != nil {
		return nil, nil, &configError{"LEADBOOK_HOURS", errors.New(strings.TrimPrefix(err.Error(), "calendar: "))}
	}
	if !leads.ValidEmail(c.MailFrom.Address) && !strings.HasSuffix(c.MailFrom.Address, "@localhost") {
		return nil, nil, &configError{"LEADBOOK_MAIL_FROM", fmt.Errorf("%q is not a deliverable address", c.MailFrom.Address)}
	}
	return c, fs.Args(), nil
}

func lookup(s setting, fs *flag.FlagSet, set map[string]bool, flagVal string, getenv func(string) string) (string, error) {
	if set[s.flagName()] {
		return flagVal, nil
	}
	if s.secret && set[s.flagName()+"-file"] {
		return readSecret(fs.Lookup(s.flagName() + "-file").Value.String())
	}
	if v, ok := envLookup(getenv, s.env); ok {
		return v, nil
	}
	if s.secret {
		if path, ok := envLookup(getenv, s.env+"_FILE"); ok {
			return readSecret(path)
		}
	}
	return s.def, nil
}

// envLookup treats an empty variable as unset, as shells and container
// runtimes make "unset" hard to express.
func envLookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", errors.Unwrap(err))
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `leadbook: the consultancy's site, lead capture and CEO booking in one binary.

Usage:
  leadbook [flags] [serve]              serve the site (the default)
  leadbook [flags] migrate              apply database migrations and exit
  leadbook [flags] staff add EMAIL --password-stdin [--role admin|staff]
                                        create an account (password on stdin); the
                                        first is an admin, later ones staff by default
  leadbook [flags] staff role EMAIL admin|staff
                                        change an account's role (one admin stays)
  leadbook [flags] staff passwd EMAIL --password-stdin
                                        set a new password; ends the account's sessions
  leadbook [flags] staff list           list staff accounts
  leadbook [flags] staff remove EMAIL   delete an account and its sessions
  leadbook [flags] token create NAME [--scope read|write]
                                        make an API token for scripts (read by default); prints it once
  leadbook [flags] token list           list API tokens (never the tokens themselves)
  leadbook [flags] token revoke NAME|ID revoke an API token
  leadbook [flags] booking list [upcoming|past|cancelled]
                                        list calls (number, start, status, name, email)
  leadbook [flags] booking cancel ID [--message TEXT] [--rebook]
                                        cancel a call on our side; the visitor and the CEO
                                        get a cancellation with the message (--rebook: and
                                        the visitor a link to book again, details kept)
  leadbook [flags] booking move ID START
                                        move a call to an open slot (RFC 3339); both get
                                        an updated invitation
  leadbook [flags] booking mark ID completed|no_show
                                        record what became of a call after it
  leadbook [flags] webhook add URL --events a,b
                                        post signed events (lead.created, lead.updated, booking.created,
                                        booking.rescheduled, booking.cancelled) to URL; prints its secret once
  leadbook [flags] webhook list         list webhook endpoints (never their secrets)
  leadbook [flags] webhook remove ID    delete an endpoint and its deliveries
  leadbook [flags] export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--bom]
                                        write leads as CSV to stdout (to is included)
  leadbook [flags] audit verify         check the audit log's hash chain
  leadbook [flags] backup FILE          copy the database, online, to FILE and check the copy
                                        (on PostgreSQL: prints the pg_dump command to use)
  leadbook [flags] copy --to postgres://...
                                        copy the SQLite database into an empty PostgreSQL one
  leadbook [flags] check                check the configuration, database, mail and busy feeds
  leadbook --version                    print the version, commit and Go of this binary
  leadbook --help                       this text

Staff sign in at /staff/login; scripts send "Authorization: Bearer TOKEN" to
GET /staff/leads.csv?from=YYYY-MM-DD&to=YYYY-MM-DD (add bom=1 for Excel).

Configuration: each environment variable has a flag of the same name
(LEADBOOK_SMTP_HOST is --smtp-host); a flag wins over the variable. Secrets
can also be read from a file named by NAME_FILE (or --name-file).

`)
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		extra := ""
		if s.secret {
			extra = " (also " + s.env + "_FILE)"
		}
		fmt.Fprintf(w, "  %-26s --%-20s default %s\n      %s%s\n", s.env, s.flagName(), def, s.help, extra)
	}
}
