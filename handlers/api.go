package handlers

import (
	"context"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"leadbook/leads"
)

// OpenAPI is the OpenAPI 3.1 document of /api/v1/, served at
// /api/v1/openapi.json. Tests validate every API answer against it.
//
//go:embed openapi/openapi.json
var OpenAPI []byte

// APIStore is what the JSON API needs from the system of record.
type APIStore interface {
	LeadsChanged(ctx context.Context, f leads.ChangeFilter) ([]leads.Lead, bool, error)
	BookingsChanged(ctx context.Context, f leads.ChangeFilter) ([]leads.Booking, bool, error)
	FindLead(ctx context.Context, id int64) (*leads.Lead, error)
	FindBooking(ctx context.Context, id int64) (*leads.Booking, error)
	ListStaff(ctx context.Context) ([]leads.Staff, error)
	UpdateLeadPipeline(ctx context.Context, leadID int64, ch leads.PipelineChange, by leads.Actor) (*leads.LeadUpdate, error)
}

// apiRoutes registers /api/v1/: the document for anyone, the data for API
// tokens of scope read (and signed-in staff), the changes for tokens of
// scope write.
func (s *Server) apiRoutes(e *echo.Echo) {
	if s.staff == nil || s.staff.API == nil {
		return
	}
	e.Match(getHead, "/api/v1/openapi.json", s.handleOpenAPI)
	read := func(path string, h echo.HandlerFunc) {
		e.Match(getHead, path, h, tokenScope(scopeRead), s.requireStaff)
	}
	read("/api/v1/leads", s.handleAPILeadsList)
	read("/api/v1/leads/:id", s.handleAPILeadShow)
	read("/api/v1/bookings", s.handleAPIBookingsList)
	read("/api/v1/bookings/:id", s.handleAPIBookingShow)
	e.PATCH("/api/v1/leads/:id", s.handleAPILeadPatch, s.crossOrigin, middleware.BodyLimit(s.cfg.BodyLimit),
		tokenScope(scopeWrite), s.requireStaff)
}

func (s *Server) handleOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/json", OpenAPI)
}

// apiLead and apiBooking are the API's JSON forms (openapi.json's Lead
// and Booking): the webhooks' data, and what the webhooks leave out (the
// visitor's message, consent, lost reason, a hold's and a cancellation's
// times).
type apiLead struct {
	leads.WebhookLead
	Message        string     `json:"message"`
	ConsentVersion string     `json:"consent_version"`
	ConsentAt      *time.Time `json:"consent_at"`
	LostReason     string     `json:"lost_reason"`
}

type apiBooking struct {
	leads.WebhookBooking
	Message     string     `json:"message"`
	HeldUntil   *time.Time `json:"held_until"`
	CancelledAt *time.Time `json:"cancelled_at"`
}

type apiPage[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toAPILead(l *leads.Lead) apiLead {
	return apiLead{WebhookLead: leads.NewWebhookLead(l), Message: l.Message, ConsentVersion: l.ConsentVersion,
		ConsentAt: optTime(l.ConsentAt), LostReason: l.LostReason}
}

func toAPIBooking(b *leads.Booking) apiBooking {
	return apiBooking{WebhookBooking: leads.NewWebhookBooking(b), Message: b.Message, HeldUntil: optTime(b.HoldUntil),
		CancelledAt: optTime(b.CancelledAt)}
}

// encodeCursor makes the opaque cursor of a position: base64url of
// "unix-nanoseconds.id", the same on both engines.
func encodeCursor(p leads.Position) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.UpdatedAt.UnixNano(), 10) + "." + strconv.FormatInt(p.ID, 10)))
	return &s
}

func decodeCursor(s string) (leads.Position, bool) {
	if len(s) > 200 {
		return leads.Position{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return leads.Position{}, false
	}
	ns, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return leads.Position{}, false
	}
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || i < 0 {
		return leads.Position{}, false
	}
	return leads.Position{UpdatedAt: time.Unix(0, n).UTC(), ID: i}, true
}

func apiBadRequest(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }

// changeFilter reads updated_since, cursor and limit.
func changeFilter(c echo.Context) (leads.ChangeFilter, error) {
	var f leads.ChangeFilter
	if v := c.QueryParam("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, apiBadRequest("updated_since must be an RFC 3339 time, such as 2026-03-01T00:00:00Z.")
		}
		f.Since = t
	}
	if v := c.QueryParam("cursor"); v != "" {
		p, ok := decodeCursor(v)
		if !ok {
			return f, apiBadRequest("cursor is not one this API gave; start again without it.")
		}
		f.After = p
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, apiBadRequest("limit must be a whole number from 1 to 500.")
		}
		f.Limit = n
	}
	return f, nil
}

func apiID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, apiBadRequest("The id must be a positive whole number.")
	}
	return id, nil
}

func (s *Server) handleAPILeadsList(c echo.Context) error {
	f, err := changeFilter(c)
	if err != nil {
		return err
	}
	ls, more, err := s.staff.API.LeadsChanged(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := apiPage[apiLead]{Data: make([]apiLead, 0, len(ls))}
	for i := range ls {
		page.Data = append(page.Data, toAPILead(&ls[i]))
	}
	if more {
		last := ls[len(ls)-1]
		page.NextCursor = encodeCursor(leads.Position{UpdatedAt: last.UpdatedAt, ID: last.ID})
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) handleAPILeadShow(c echo.Context) error {
	id, err := apiID(c)
	if err != nil {
		return err
	}
	l, err := s.staff.API.FindLead(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPILead(l))
}

func (s *Server) handleAPIBookingsList(c echo.Context) error {
	f, err := changeFilter(c)
	if err != nil {
		return err
	}
	bs, more, err := s.staff.API.BookingsChanged(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := apiPage[apiBooking]{Data: make([]apiBooking, 0, len(bs))}
	for i := range bs {
		page.Data = append(page.Data, toAPIBooking(&bs[i]))
	}
	if more {
		last := bs[len(bs)-1]
		page.NextCursor = encodeCursor(leads.Position{UpdatedAt: last.UpdatedAt, ID: last.ID})
	}
	return c.JSON(http.StatusOK, page)
}

func (s *Server) handleAPIBookingShow(c echo.Context) error {
	id, err := apiID(c)
	if err != nil {
		return err
	}
	b, err := s.staff.API.FindBooking(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIBooking(b))
}

// apiLeadPatch is the body of PATCH /api/v1/leads/{id}: each field left
// out stays as it is; owner and next_step_at take null to clear.
type apiLeadPatch struct {
	Status     optional `json:"status"`
	LostReason string   `json:"lost_reason"`
	Owner      optional `json:"owner"`
	NextStepAt optional `json:"next_step_at"`
	Note       string   `json:"note"`
}

// handleAPILeadPatch changes a lead's pipeline (status, owner by address,
// next step) and adds a note, as the token; it answers the lead as GET
// does, or 422 with a message per field.
func (s *Server) handleAPILeadPatch(c echo.Context) error {
	id, err := apiID(c)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the changes as application/json.")
	}
	var req apiLeadPatch
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	ch := leads.PipelineChange{LostReason: req.LostReason, Note: req.Note}
	if req.Status.Set {
		st := strings.TrimSpace(req.Status.Value)
		ch.Status = &st
	}
	if req.NextStepAt.Set {
		day := strings.TrimSpace(req.NextStepAt.Value)
		ch.NextStepAt = &day
	}
	if req.Owner.Set {
		var owner int64
		if email := leads.NormalizeEmail(req.Owner.Value); email != "" {
			list, err := s.staff.API.ListStaff(ctx)
			if err != nil {
				return err
			}
			for _, st := range list {
				if strings.EqualFold(st.Email, email) {
					owner = st.ID
				}
			}
			if owner == 0 {
				return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid,
					"fields": map[string]string{"owner": "No staff account has this address."}})
			}
		}
		ch.OwnerID = &owner
	}
	up, err := s.staff.API.UpdateLeadPipeline(ctx, id, ch, authOf(c).actor)
	if leads.ErrorCode(err) == leads.EINVALID {
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": fieldErrors(err)})
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPILead(up.Lead))
}
