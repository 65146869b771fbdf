package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

type ctxKey int

const requestIDKey ctxKey = 1

// RequestID returns the request ID stored in ctx by the server's middleware.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Header values every answer carries, made once.
var (
	// default-src 'self' also governs scripts, styles and fetches: no
	// inline script or style runs.
	hCSP      = []string{"default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"}
	hNosniff  = []string{"nosniff"}
	hReferrer = []string{"strict-origin-when-cross-origin"}
	hHSTS     = []string{"max-age=31536000"}
)

// WithRequestID returns ctx carrying id as its request ID, for work done on
// behalf of a request outside its handler, and for tests.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// securityHeaders sets the headers every answer carries: the CSP (which
// also forbids framing, so X-Frame-Options would add nothing a current
// browser reads), nosniff and the referrer policy, and HSTS on https. Each
// header costs every response its sorting and writing, so there are no
// others.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["Content-Security-Policy"] = hCSP
		h["X-Content-Type-Options"] = hNosniff
		h["Referrer-Policy"] = hReferrer
		if s.cfg.HTTPS {
			h["Strict-Transport-Security"] = hHSTS
		}
		return next(c)
	}
}

// requestLog gives every request an ID (kept from a trusted proxy's
// X-Request-Id when it is short and plain, made here otherwise), puts it in
// the context so every log line of the request can carry it, and logs one
// line per request with the route pattern, never the raw path, which may
// hold a secret token.
func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !plainID(id) {
			id = s.ids.next()
		}
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			// A good answer to a GET is not logged, so its ID would
			// match nothing: send it with the answers that are.
			c.Response().Before(func() {
				if c.Response().Status >= 400 {
					c.Response().Header()[echo.HeaderXRequestID] = []string{id}
				}
			})
		} else {
			c.Response().Header()[echo.HeaderXRequestID] = []string{id}
		}
		req = req.WithContext(WithRequestID(req.Context(), id))
		c.SetRequest(req)
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route := s.routeLabel(c)
		if s.observe != nil {
			s.observe(MethodLabel(req.Method), route, status, time.Since(start))
		}
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelError
		} else if status >= 400 && status != http.StatusNotFound {
			level = slog.LevelInfo
		}
		if s.log.Enabled(req.Context(), level) {
			s.log.LogAttrs(req.Context(), level, "request",
				slog.String("method", MethodLabel(req.Method)),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
			)
		}
		return nil
	}
}

// RouteUnmatched is the route of a request no route matched, in metrics
// and logs.
const RouteUnmatched = "unmatched"

// MethodOther is the method label of any method but the standard ones.
const MethodOther = "other"

// MethodLabel returns method if it is one of the methods of RFC 9110 or
// PATCH, and MethodOther otherwise: a method is any token the client
// likes, and every distinct label value would be a new metrics series.
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return MethodOther
}

// routeLabel returns the pattern of the route that matched c, never the
// raw path (which may hold a secret token), or RouteUnmatched. For a 404 or
// 405 Echo reports the pattern of the nearest route or of a group's
// catch-all ("/*", which Group.Use registers); only patterns of routes
// registered for a method count, so the catch-alls and anything else
// become RouteUnmatched.
func (s *Server) routeLabel(c echo.Context) string {
	if p := c.Path(); s.patterns[p] {
		return p
	}
	return RouteUnmatched
}

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// idGen makes short, unique, ordered request IDs without a lock.
type idGen struct {
	prefix string
	n      atomic.Uint64
}

func (g *idGen) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}

// crossOrigin refuses cross-origin POSTs with Go's CrossOriginProtection,
// which reads Sec-Fetch-Site and falls back to comparing Origin with Host.
func (s *Server) crossOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.cop.Check(c.Request()); err != nil {
			return echo.NewHTTPError(http.StatusForbidden, "Cross-origin requests are not allowed.").SetInternal(err)
		}
		return next(c)
	}
}

// wantsJSON reports whether the client asked for JSON: an Accept header
// naming application/json, or a JSON body without an Accept that prefers
// HTML.
func wantsJSON(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/v1/") {
		return true
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") {
		return true
	}
	if strings.Contains(accept, "text/html") {
		return false
	}
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}
