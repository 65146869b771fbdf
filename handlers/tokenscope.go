package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// scopeRead is the scope of every API token today: it reads the CSV export
// and the read APIs. A route names the scope a token needs to use it
// (tokenScope); a route that names none is for a signed-in person only,
// whatever the token, so a new page is closed to tokens until it says
// otherwise.
const scopeRead = "read"

// scopeWrite is the scope of routes that change data for scripts (PATCH
// /api/v1/leads/{id}); only tokens made with --scope write hold it.
const scopeWrite = "write"

const tokenScopeKey = "token_scope"

// tokenScope opens a route to API tokens that hold scope; requireStaff,
// which must come after it, enforces it.
func tokenScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(tokenScopeKey, scope)
			return next(c)
		}
	}
}

var errTokenScope = echo.NewHTTPError(http.StatusForbidden,
	"API tokens can read the CSV export and the read APIs only; the dashboard and the privacy pages need a signed-in person.")

// tokenMayUse reports whether an API token holding held (scopeRead or
// scopeWrite; every token reads) may use the route of c with the
// request's method.
func tokenMayUse(c echo.Context, held string) error {
	switch scope, _ := c.Get(tokenScopeKey).(string); scope {
	case scopeRead:
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			return echo.NewHTTPError(http.StatusForbidden, "API tokens can only read here; sign in to make changes.")
		}
		return nil
	case scopeWrite:
		if held != scopeWrite {
			return echo.NewHTTPError(http.StatusForbidden, "This token can only read; make one with --scope write to make changes.")
		}
		return nil
	}
	return errTokenScope
}

// Route is one registered route: a method and a path pattern.
type Route struct {
	Method, Path string
}

// Routes lists every route the server answers, so that tests can try each
// one (new routes included) against each kind of client.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.echo.Routes() {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			out = append(out, Route{Method: r.Method, Path: r.Path})
		}
	}
	return out
}
