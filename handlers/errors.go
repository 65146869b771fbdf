package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
)

// statusOf maps an error to an HTTP status: echo's own errors keep theirs,
// domain errors map by code, anything else is a 500.
func statusOf(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	switch leads.ErrorCode(err) {
	case leads.EINVALID:
		return http.StatusUnprocessableEntity
	case leads.ECONFLICT:
		return http.StatusConflict
	case leads.ENOTFOUND:
		return http.StatusNotFound
	case leads.ETOOMANY:
		return http.StatusTooManyRequests
	case leads.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// httpMessage is the text a user may see for err.
func httpMessage(err error) string {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if m, ok := he.Message.(string); ok {
			return m
		}
		return http.StatusText(he.Code)
	}
	var le *leads.Error
	if errors.As(err, &le) && le.Code != leads.EINTERNAL {
		return le.Message
	}
	return "Something went wrong on our side. Please try again in a moment."
}

var errorHeadings = map[int]string{
	http.StatusBadRequest:            "That request could not be read",
	http.StatusForbidden:             "That request was refused",
	http.StatusNotFound:              "Page not found",
	http.StatusMethodNotAllowed:      "That is not allowed here",
	http.StatusConflict:              "That changed in the meantime",
	http.StatusRequestEntityTooLarge: "That submission is too large",
	http.StatusUnsupportedMediaType:  "That format is not supported",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusServiceUnavailable:    "Busy just now",
}

// handleError is the one error handler: it skips answers already begun,
// logs only internal errors, and answers in JSON or HTML as asked.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := statusOf(err)
	msg := httpMessage(err)
	ctx := c.Request().Context()
	var le *leads.Error
	if asLeadsError(err, &le) && le.Retry > 0 {
		c.Response().Header().Set("Retry-After", retryAfter(le.Retry))
	}
	if status >= 500 && leads.ErrorCode(err) != leads.EUNAVAILABLE {
		s.log.ErrorContext(ctx, "internal error", "route", s.routeLabel(c), "err", err)
		if c.Request().Method == http.MethodPost {
			msg = msgOops
		}
	}
	if status == http.StatusNotFound && msg == http.StatusText(http.StatusNotFound) {
		msg = "There is no page at this address. It may have moved, or the link may be mistyped."
	}
	var werr error
	if wantsJSON(c.Request()) {
		werr = c.JSON(status, map[string]string{"error": msg})
	} else {
		heading, ok := errorHeadings[status]
		if !ok {
			heading = "Something went wrong"
		}
		p := s.page(heading, "", "", map[string]any{"Status": status, "Heading": heading, "Message": msg})
		p.NoIndex = true
		werr = s.renderHTML(c, status, "error", p)
	}
	if werr != nil {
		s.log.ErrorContext(ctx, "write error answer", "err", werr)
	}
}

func asLeadsError(err error, target **leads.Error) bool { return errors.As(err, target) }

func itoa(n int) string { return strconv.Itoa(n) }
