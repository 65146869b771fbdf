// Package handlers is the only package that knows about HTTP: it registers
// the routes, runs the middleware, binds requests, renders pages and
// orchestrates each request over the leads store, the calendar and the
// mailer.
package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
	"leadbook/templates"
)

// ConsentVersion names the consent text the forms show; it is stored with
// every lead. Change it whenever the text changes.
const ConsentVersion = "2026-12-01"

// ConsentText is the consent checkbox's label on the contact form.
const ConsentText = "I agree that my details are stored and used to reply to me about my enquiry."

// BookingConsentText is the consent checkbox's label on the booking form.
const BookingConsentText = "I agree that my details are stored and used to arrange this call and to write to me about it."

// Config is the part of the configuration the web layer needs.
type Config struct {
	SiteName       string
	BaseURL        string
	RateLimit      int           // POSTs per minute per client address; 0 turns it off
	MinFill        time.Duration // minimum time between serving a form and its submission; 0 turns it off
	TrustedProxies []*net.IPNet  // peers whose X-Forwarded-For is believed
	BodyLimit      string        // e.g. "64K"
	PageRefresh    time.Duration // how often cached pages are re-rendered with a fresh form token
	FormMaxAge     time.Duration // how long a form token is accepted; DefaultFormMaxAge when zero
	Now            func() time.Time
	Logger         *slog.Logger
	HTTPS          bool // set from BaseURL
	// Privacy is the privacy notice in Markdown; empty: the built-in one.
	Privacy []byte
	// Contact is the firm's contact details, shown on the contact page.
	Contact Contact
}

// LeadStore is what the handlers need from the system of record.
type LeadStore interface {
	CreateLead(ctx context.Context, l *leads.Lead, compose leads.Compose) (bool, error)
	HoldSpam(ctx context.Context, sp *leads.Spam) error
	Ping(ctx context.Context) error
}

// Composer writes the emails a request queues.
type Composer interface {
	LeadMessages(l *leads.Lead) ([]leads.OutboxMessage, error)
	Fallback(s mailer.Submission) ([]*mailer.Message, error)
}

// DirectSender delivers fallback mail when the database cannot take it.
type DirectSender interface {
	Send(m ...*mailer.Message)
}

// Waker is told when new mail was queued.
type Waker interface{ Wake() }

// noWake is the Waker of a server without a worker (tests, tools).
type noWake struct{}

func (noWake) Wake() {}

// Deps are the collaborators of the handlers.
type Deps struct {
	Store    LeadStore
	Composer Composer
	Direct   DirectSender
	Outbox   Waker
	// FormKey signs form tokens.
	FormKey []byte
	// Observe, when set, is told about every finished request (metrics).
	// Its labels come from closed sets: method is a standard method or
	// MethodOther, route a registered pattern or RouteUnmatched.
	Observe func(method, route string, status int, d time.Duration)
	// Count, when set, is told about each business event, one of the
	// Event constants (metrics).
	Count func(event string)
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// Booking, when set, enables the booking routes.
	Booking *Booking
	// Staff, when set, enables the staff dashboard and export.
	Staff *Staff
	// Hits, when set, counts the POST rate limit in the database, shared
	// by every instance on it; otherwise each process counts in memory.
	Hits HitCounter
	// Views, when set, keeps the article view counts (see FlushViews).
	Views ViewStore
	// AttribKey signs the first touch that pages carry in their links and
	// forms; FormKey does when it is empty.
	AttribKey []byte
}

// Events passed to Deps.Count.
const (
	EventLeadCreated    = "lead_created"    // a new lead was stored (not a retried POST)
	EventBookingCreated = "booking_created" // a new booking was stored
	EventSpamHeld       = "spam_held"       // a submission went to the spam quarantine
)

func (s *Server) count(event string) {
	if s.deps.Count != nil {
		s.deps.Count(event)
	}
}

// Server is the HTTP side of leadbook.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	now      func() time.Time
	echo     *echo.Echo
	pages    *engine
	articles *articleSet
	static   map[string]*asset
	assets   assetPaths
	tokens   tokenSigner
	limiter  limiter
	cop      *http.CrossOriginProtection
	ids      idGen
	observe  func(method, route string, status int, d time.Duration)
	patterns map[string]bool // the paths of the routes, the only route labels
	draining atomic.Bool

	booking   *Booking
	svc       *booking.Service // the booking use case, when booking is set
	slotCache slotCache
	rules     rulesCache

	staff      *Staff
	adminPaths []Route // the routes behind requireAdmin
	site       *siteFiles

	carry    carrySigner
	baseHost string // the host of BaseURL, in lower case
	views    viewCounter
}

// New builds the server: it renders the articles, loads the static files
// and registers every route.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = slog.New(LogHandler(cfg.Logger.Handler()))
	if cfg.SiteName == "" {
		cfg.SiteName = "Northwind Consulting"
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "64K"
	}
	if cfg.PageRefresh <= 0 {
		cfg.PageRefresh = time.Second
	}
	if cfg.FormMaxAge <= 0 {
		cfg.FormMaxAge = DefaultFormMaxAge
	}
	if len(deps.FormKey) < 16 {
		return nil, errors.New("handlers: form key must be at least 16 bytes")
	}
	if deps.Outbox == nil {
		deps.Outbox = noWake{}
	}
	if deps.Store == nil || deps.Composer == nil || deps.Direct == nil {
		return nil, errors.New("handlers: store, composer and direct sender are required")
	}
	if b := deps.Booking; b != nil {
		if b.Store == nil || b.Busy == nil || b.Composer == nil {
			return nil, errors.New("handlers: booking needs a store, a busy source and a composer")
		}
		if err := b.Rules.Validate(); err != nil {
			return nil, err
		}
		if b.Rules.Location == nil {
			b.Rules.Location = time.UTC
		}
		if b.Rules.Slot == 0 {
			b.Rules.Slot = 30 * time.Minute
		}
		if b.Hold <= 0 {
			b.Hold = DefaultBookingHold
		}
	}
	if st := deps.Staff; st != nil {
		if st.Store == nil {
			return nil, errors.New("handlers: staff needs a store")
		}
		if st.Session.Idle <= 0 {
			st.Session.Idle = 2 * time.Hour
		}
		if st.Session.Absolute <= 0 {
			st.Session.Absolute = 12 * time.Hour
		}
	}
	s := &Server{
		staff:   deps.Staff,
		booking: deps.Booking,
		cfg:     cfg,
		deps:    deps,
		log:     cfg.Logger,
		now:     cfg.Now,
		tokens:  tokenSigner{key: deps.FormKey},
		cop:     http.NewCrossOriginProtection(),
		observe: deps.Observe,
	}
	if b := deps.Booking; b != nil {
		s.svc = b.Service(cfg.BaseURL, cfg.Now)
		// The rules in force, cached by the settings' version.
		s.svc.Rules = s.bookingRules
	}
	s.carry = carrySigner{key: deps.AttribKey}
	if len(deps.AttribKey) == 0 {
		s.carry.key = s.tokens.sum([]byte("attribution"))
	}
	if u, err := url.Parse(cfg.BaseURL); err == nil {
		s.baseHost = strings.ToLower(u.Host)
	}
	var prefix [4]byte
	rand.Read(prefix[:])
	s.ids.prefix = hex.EncodeToString(prefix[:]) + "-"
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		if err := s.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("handlers: trusted origin: %w", err)
		}
	}
	switch {
	case cfg.RateLimit > 0 && deps.Hits != nil:
		s.limiter = &sharedLimiter{hits: deps.Hits, perMinute: cfg.RateLimit, key: deps.FormKey, log: s.log}
	case cfg.RateLimit > 0:
		s.limiter = newRateLimiter(cfg.RateLimit)
	}
	var err error
	if s.pages, err = newEngine(); err != nil {
		return nil, err
	}
	if s.static, s.assets, err = staticFiles(); err != nil {
		return nil, err
	}
	arts, err := templates.LoadArticles()
	if err != nil {
		return nil, err
	}
	if s.articles, err = s.newArticleSet(arts); err != nil {
		return nil, err
	}
	if s.site, err = s.newSiteFiles(); err != nil {
		return nil, err
	}
	s.echo = s.newEcho()
	return s, nil
}

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	if len(s.cfg.TrustedProxies) == 0 {
		// Echo v4's default reads X-Forwarded-For from anyone, which would let
		// a client pick its own rate-limit key.
		e.IPExtractor = echo.ExtractIPDirect()
	} else {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range s.cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	e.Use(s.requestLog)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogLevel: 0,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.ErrorContext(c.Request().Context(), "panic", "err", err, "stack", string(stack))
			return err
		}}))
	e.Use(s.securityHeaders)
	s.routes(e)
	s.patterns = map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method != echo.RouteNotFound {
			s.patterns[r.Path] = true
		}
	}
	return e
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// StartDraining makes /readyz answer 503, so a load balancer stops sending
// new requests before the listener closes.
func (s *Server) StartDraining() { s.draining.Store(true) }

func (s *Server) handleLivez(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

func (s *Server) handleReadyz(c echo.Context) error {
	if s.draining.Load() {
		return c.String(http.StatusServiceUnavailable, "shutting down\n")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: database unreachable", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unreachable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
