package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"leadbook/calendar"
	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
)

// staffRoutes registers the dashboard: sign-in, the pages (GET, behind
// requireStaff) and the actions (POST, same-origin, behind requireStaff).
// Pages and actions need a signed-in person; only the routes registered
// with read (the CSV export) are open to API tokens. adminRoutes adds the
// ones only admins reach.
func (s *Server) staffRoutes(e *echo.Echo) {
	if s.staff == nil {
		return
	}
	limit := middleware.BodyLimit(s.cfg.BodyLimit)
	e.Match(getHead, "/staff/login", s.handleStaffLoginShow)
	e.POST("/staff/login", s.handleStaffLogin, s.crossOrigin, limit)

	get := func(path string, h echo.HandlerFunc) { e.Match(getHead, path, h, s.requireStaff) }
	read := func(path string, h echo.HandlerFunc) {
		e.Match(getHead, path, h, tokenScope(scopeRead), s.requireStaff)
	}
	post := func(path string, h echo.HandlerFunc) { e.POST(path, h, s.crossOrigin, limit, s.requireStaff) }
	get("/staff", s.handleStaffHome)
	get("/staff/leads", s.handleStaffLeads)
	read("/staff/leads.csv", s.handleLeadsExport)
	get("/staff/leads/:id", s.handleStaffLead)
	get("/staff/bookings", s.handleStaffBookings)
	get("/staff/outbox", s.handleStaffOutbox)
	get("/staff/spam", s.handleStaffSpam)
	get("/staff/feeds", s.handleStaffFeeds)
	get("/staff/privacy", s.handleStaffPrivacy)
	get("/staff/privacy/export", s.handlePersonExport)
	get("/staff/audit", s.handleStaffAudit)
	get("/staff/analytics", s.handleStaffAnalytics)
	post("/staff/logout", s.handleStaffLogout)
	post("/staff/outbox/:id/retry", s.handleMailRetry)
	post("/staff/spam/:id/release", s.handleSpamRelease)
	if s.svc != nil {
		get("/staff/bookings/:id", s.handleStaffBooking)
		post("/staff/bookings/:id/cancel", s.handleHostCancel)
		post("/staff/bookings/:id/move", s.handleHostMove)
		post("/staff/bookings/:id/outcome", s.handleHostOutcome)
	}
	post("/staff/leads/:id/pipeline", s.handleLeadPipeline)
	post("/staff/leads/:id/notes", s.handleLeadNote)
	s.adminRoutes(e)
}

func (s *Server) renderStaff(c echo.Context, status int, name, title, nav string, data any) error {
	p := s.page(title, "", nav, data)
	p.NoIndex = true
	if a := authOf(c); a != nil {
		p.Staff = a.staff
	}
	return s.renderHTML(c, status, name, p)
}

func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, echo.ErrNotFound
	}
	return id, nil
}

// chart is the weekly leads-and-bookings bar chart, laid out here so the
// template only places shapes.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Max           int
	Ticks         []chartTick
}

type chartBar struct {
	X, LeadY, LeadH, BookY, BookH, W int
	LabelX                           int
	Label, Title                     string
}

type chartTick struct {
	Y     int
	Label string
}

func newChart(weeks []leads.WeekCount) chart {
	const w, h, top, bottom, left = 640, 220, 10, 30, 36
	ch := chart{Width: w, Height: h}
	for _, wk := range weeks {
		ch.Max = max(ch.Max, wk.Leads, wk.Bookings)
	}
	step, scale := chartScale(ch.Max)
	plot := h - top - bottom
	slot := (w - left) / max(len(weeks), 1)
	bw := max(slot/3, 2)
	for i, wk := range weeks {
		x := left + i*slot + slot/6
		lh := wk.Leads * plot / scale
		bh := wk.Bookings * plot / scale
		ch.Bars = append(ch.Bars, chartBar{
			X: x, W: bw, LeadH: lh, LeadY: top + plot - lh, BookH: bh, BookY: top + plot - bh,
			LabelX: x + bw, Label: wk.Week.Format("2 Jan"),
			Title: fmt.Sprintf("Week of %s: %d leads, %d bookings", wk.Week.Format("2 January 2006"), wk.Leads, wk.Bookings),
		})
	}
	for v := 0; v <= scale; v += step {
		ch.Ticks = append(ch.Ticks, chartTick{Y: top + plot - v*plot/scale, Label: strconv.Itoa(v)})
	}
	return ch
}

// chartScale is the chart's axis for counts up to maxCount: a step of 1,
// 2 or 5 times a power of ten giving at most five steps, and the top of
// the axis, the first multiple of the step at or above maxCount (at
// least one step), so every tick is a round number.
func chartScale(maxCount int) (step, top int) {
	step = 1
	for pow := 1; ; pow *= 10 {
		found := false
		for _, m := range []int{1, 2, 5} {
			if maxCount <= 5*m*pow {
				step, found = m*pow, true
				break
			}
		}
		if found {
			break
		}
	}
	top = max((maxCount+step-1)/step*step, step)
	return step, top
}

func (s *Server) handleStaffHome(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := s.staff.Store.Overview(ctx)
	if err != nil {
		return err
	}
	weeks, err := s.staff.Store.WeeklyCounts(ctx, 12)
	if err != nil {
		return err
	}
	upcoming, err := s.staff.Store.ListBookings(ctx, leads.BookingsUpcoming, 5)
	if err != nil {
		return err
	}
	// Failed sign-ins at the signed-in person's own account, with the
	// address masked: enough to tell their own typing from someone else's.
	var failures leads.SignInFailures
	if a := authOf(c); a.staff != nil {
		if failures, err = s.staff.Store.SignInFailures(ctx, a.staff.ID, a.since); err != nil {
			return err
		}
	}
	return s.renderStaff(c, http.StatusOK, "staff_home", "Dashboard", "home", map[string]any{
		"Overview": o, "Weeks": weeks, "Chart": newChart(weeks), "Upcoming": s.staffBookingViews(upcoming), "Failures": failures,
	})
}

// parseDay reads a YYYY-MM-DD date (UTC); to is the day after, so a range
// includes its last day.
func parseDay(v string, after bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		return time.Time{}, echo.NewHTTPError(http.StatusBadRequest, "Dates are YYYY-MM-DD.")
	}
	if after {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

func rangeOf(c echo.Context) (leads.ExportFilter, error) {
	from, err := parseDay(c.QueryParam("from"), false)
	if err != nil {
		return leads.ExportFilter{}, err
	}
	to, err := parseDay(c.QueryParam("to"), true)
	if err != nil {
		return leads.ExportFilter{}, err
	}
	return leads.ExportFilter{From: from, To: to}, nil
}

func (s *Server) handleStaffLeads(c echo.Context) error {
	r, err := rangeOf(c)
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	if len(q) > 200 {
		q = q[:200]
	}
	f := leads.LeadFilter{Query: q, From: r.From, To: r.To, Before: c.QueryParam("before"), Status: c.QueryParam("status")}
	if f.Status != "" && !leads.ValidStatus(f.Status) {
		return echo.NewHTTPError(http.StatusBadRequest, "Status is one of new, contacted, qualified, won, lost.")
	}
	if err := ownerFilter(c, &f); err != nil {
		return err
	}
	sort := c.QueryParam("sort")
	if sort == leads.SortNextStep {
		f.Sort = leads.SortNextStep
	} else {
		sort = ""
	}
	ctx := c.Request().Context()
	page, err := s.staff.Store.ListLeads(ctx, f)
	if err != nil {
		return err
	}
	staff, err := s.staff.Store.ListStaff(ctx)
	if err != nil {
		return err
	}
	filter := map[string]string{"q": q, "from": c.QueryParam("from"), "to": c.QueryParam("to"),
		"status": f.Status, "owner": c.QueryParam("owner"), "sort": sort}
	next := ""
	if page.Next != "" {
		v := urlValues(filter)
		v.Set("before", page.Next)
		next = "/staff/leads?" + v.Encode()
	}
	first := urlValues(filter).Encode()
	csvValues := urlValues(map[string]string{"from": filter["from"], "to": filter["to"]})
	csvURL := "/staff/leads.csv"
	if q := csvValues.Encode(); q != "" {
		csvURL += "?" + q
	}
	csvValues.Set("bom", "1")
	return s.renderStaff(c, http.StatusOK, "staff_leads", "Leads", "leads", map[string]any{
		"Leads": page.Leads, "Filter": filter, "Next": next, "CSV": csvURL, "CSVExcel": "/staff/leads.csv?" + csvValues.Encode(),
		"First": c.QueryParam("before") == "", "FirstPage": "/staff/leads?" + first,
		"Statuses": leads.Statuses, "Staff": staff, "Owners": staffEmails(staff),
	})
}

func (s *Server) handleStaffLead(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	l, err := s.staff.Store.FindLead(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.renderLead(c, http.StatusOK, l, formOf(l))
}

// renderLead renders the lead page with its pipeline and note forms
// filled in from f.
func (s *Server) renderLead(c echo.Context, status int, l *leads.Lead, f pipelineForm) error {
	ctx := c.Request().Context()
	bookings, err := s.staff.Store.LeadBookings(ctx, l.ID)
	if err != nil {
		return err
	}
	mail, err := s.staff.Store.ListMail(ctx, leads.MailFilter{LeadID: l.ID, Limit: 200})
	if err != nil {
		return err
	}
	timeline, err := s.staff.Store.LeadTimeline(ctx, l.ID)
	if err != nil {
		return err
	}
	staff, err := s.staff.Store.ListStaff(ctx)
	if err != nil {
		return err
	}
	replies, err := s.bookingReplies(ctx, bookings)
	if err != nil {
		return err
	}
	return s.renderStaff(c, status, "staff_lead", "Lead "+strconv.FormatInt(l.ID, 10), "leads", map[string]any{
		"Lead": l, "Bookings": s.staffBookingViews(bookings), "Mail": mail, "Timeline": timeline, "Form": f, "Staff": staff, "Replies": replies,
		"Statuses": leads.Statuses, "Notice": c.QueryParam("notice"),
	})
}

func (s *Server) handleStaffBookings(c echo.Context) error {
	ctx := c.Request().Context()
	data := map[string]any{}
	for _, which := range []string{leads.BookingsUpcoming, leads.BookingsPast, leads.BookingsCancelled} {
		bs, err := s.staff.Store.ListBookings(ctx, which, 100)
		if err != nil {
			return err
		}
		data[which] = s.staffBookingViews(bs)
	}
	return s.renderStaff(c, http.StatusOK, "staff_bookings", "Bookings", "bookings", data)
}

func (s *Server) handleStaffOutbox(c echo.Context) error {
	status := c.QueryParam("status")
	switch status {
	case leads.OutboxQueued, leads.OutboxSent, leads.OutboxDead, leads.OutboxCancelled:
	default:
		status = leads.OutboxDead
	}
	ctx := c.Request().Context()
	msgs, err := s.staff.Store.ListMail(ctx, leads.MailFilter{Status: status, Limit: 200})
	if err != nil {
		return err
	}
	o, err := s.staff.Store.Overview(ctx)
	if err != nil {
		return err
	}
	return s.renderStaff(c, http.StatusOK, "staff_outbox", "Outbox", "outbox", map[string]any{
		"Status": status, "Mail": msgs, "Stats": o.Mail, "Notice": c.QueryParam("notice"),
		"Tabs": []string{leads.OutboxDead, leads.OutboxQueued, leads.OutboxSent, leads.OutboxCancelled},
	})
}

func (s *Server) handleMailRetry(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.staff.Store.RetryDeadMail(c.Request().Context(), id, authOf(c).actor); err != nil {
		return err
	}
	s.deps.Outbox.Wake()
	return c.Redirect(http.StatusSeeOther, "/staff/outbox?status=dead&notice=retried")
}

// spamView is a held submission with its fields read for display.
type spamView struct {
	leads.Spam
	Fields contactRequest
}

func (s *Server) handleStaffSpam(c echo.Context) error {
	held, err := s.staff.Store.ListSpam(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	views := make([]spamView, len(held))
	for i, sp := range held {
		views[i].Spam = sp
		_ = json.Unmarshal(sp.Payload, &views[i].Fields)
	}
	lead, _ := strconv.ParseInt(c.QueryParam("lead"), 10, 64)
	return s.renderStaff(c, http.StatusOK, "staff_spam", "Spam quarantine", "spam", map[string]any{
		"Held": views, "Notice": c.QueryParam("notice"), "Lead": lead,
	})
}

// handleSpamRelease stores a held submission as a lead ("not spam") and
// queues its confirmation and notification, as if it had come in now.
func (s *Server) handleSpamRelease(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sp, err := s.staff.Store.FindSpam(ctx, id)
	if err != nil {
		return err
	}
	if sp.Form == "booking" && s.booking != nil {
		return s.releaseSpamBooking(c, sp)
	}
	var req contactRequest
	if err := json.Unmarshal(sp.Payload, &req); err != nil {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "This submission cannot be read as a lead.").SetInternal(err)
	}
	source := leads.SourceContact
	if sp.Form == "booking" {
		source = leads.SourceBooking
	}
	l := req.lead(source)
	if req.Consent {
		l.ConsentAt = sp.CreatedAt
	}
	if err := s.staff.Store.ReleaseSpam(ctx, id, l, s.deps.Composer.LeadMessages, authOf(c).actor); err != nil {
		if leads.ErrorCode(err) == leads.EINVALID {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "This submission is not a valid lead (a field is missing or consent was not given).")
		}
		return err
	}
	s.deps.Outbox.Wake()
	return c.Redirect(http.StatusSeeOther, "/staff/spam?notice=released")
}

// releaseSpamBooking releases a held booking request: the call is booked
// (or held for the visitor's confirmation, when bookings are confirmed by
// email) if its time is still free, and the lead is kept either way; the
// spam page then says which.
func (s *Server) releaseSpamBooking(c echo.Context, sp *leads.Spam) error {
	var req bookingRequest
	if err := json.Unmarshal(sp.Payload, &req); err != nil {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "This submission cannot be read as a booking.").SetInternal(err)
	}
	l := req.lead(leads.SourceBooking)
	loc, _ := s.visitorZone(req.TZ)
	start, perr := parseStart(req.Start)
	if perr != nil {
		start = s.now() // any valid span: the check below refuses it
	}
	token, _ := newManageToken()
	ctx := c.Request().Context()
	// The answers as given; checked again against today's questions, a
	// bad one is left out rather than refuse the whole booking.
	answers := checkAnswers(s.bookingQuestions(ctx), req.Answers, map[string]string{})
	nb, check, compose, err := s.svc.Prepare(ctx, booking.Request{Lead: l, Start: start, Zone: loc, Token: token, Answers: answers})
	if err != nil {
		if leads.ErrorCode(err) == leads.EINVALID {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "This submission cannot be booked: "+leads.ErrorMessage(err))
		}
		return err
	}
	nb.Limits = leads.BookingLimits{} // staff release it: no visitor limits
	if perr != nil {
		check = func([]leads.Booking) error { return leads.ErrSlotTaken }
	}
	r, err := s.staff.Store.ReleaseSpamBooking(ctx, sp.ID, nb, check, compose, s.deps.Composer.LeadMessages, authOf(c).actor)
	if err != nil {
		if leads.ErrorCode(err) == leads.EINVALID {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "This submission is not a valid lead (a field is missing or consent was not given).")
		}
		return err
	}
	s.deps.Outbox.Wake()
	notice := "booked"
	if r.Booking == nil {
		notice = "gone"
	} else {
		s.count(EventBookingCreated)
	}
	return c.Redirect(http.StatusSeeOther, "/staff/spam?notice="+notice+"&lead="+strconv.FormatInt(r.Lead.ID, 10))
}

func (s *Server) handleStaffFeeds(c echo.Context) error {
	var feeds []calendar.FeedStatus
	if s.staff.Feeds != nil {
		feeds = s.staff.Feeds.Status()
	}
	return s.renderStaff(c, http.StatusOK, "staff_feeds", "Busy feeds", "feeds", map[string]any{"Feeds": feeds, "Now": s.now()})
}

// privacyForm is what one of the privacy page's forms holds: what was
// typed, and the errors to show beside it.
type privacyForm struct {
	Email, Error, ConfirmError string
}

func (s *Server) handleStaffPrivacy(c echo.Context) error {
	return s.renderPrivacy(c, http.StatusOK, privacyForm{}, privacyForm{})
}

func (s *Server) renderPrivacy(c echo.Context, status int, export, erase privacyForm) error {
	er, err := s.staff.Store.ListErasures(c.Request().Context(), 50)
	if err != nil {
		return err
	}
	return s.renderStaff(c, status, "staff_privacy", "Privacy", "privacy", map[string]any{
		"Erasures": er, "Notice": c.QueryParam("notice"), "Export": export, "Erase": erase,
	})
}

// privacyInvalid answers a privacy request with bad fields: 422, as JSON
// with the field errors, or the privacy page again with the input kept and
// the errors beside it.
func (s *Server) privacyInvalid(c echo.Context, form string, f privacyForm) error {
	if wantsJSON(c.Request()) {
		fields := map[string]string{}
		if f.Error != "" {
			fields["email"] = f.Error
		}
		if f.ConfirmError != "" {
			fields["confirm"] = f.ConfirmError
		}
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": fields})
	}
	if form == "export" {
		return s.renderPrivacy(c, http.StatusUnprocessableEntity, f, privacyForm{})
	}
	return s.renderPrivacy(c, http.StatusUnprocessableEntity, privacyForm{}, f)
}

// emailError is the message for the email field of a refused privacy
// request, or "" when err is something else.
func emailError(err error) string {
	if leads.ErrorCode(err) != leads.EINVALID {
		return ""
	}
	if m := fieldErrors(err)["email"]; m != "" {
		return m
	}
	return httpMessage(err)
}

// handlePersonExport answers a subject access request: everything held on
// one exact address, as a JSON download. The mail is shown as
// mailer.Readable makes it, without manage links.
func (s *Server) handlePersonExport(c echo.Context) error {
	email := c.QueryParam("email")
	ctx := c.Request().Context()
	p, err := s.staff.Store.FindPerson(ctx, email)
	if msg := emailError(err); msg != "" {
		return s.privacyInvalid(c, "export", privacyForm{Email: email, Error: msg})
	}
	if err != nil {
		return err
	}
	for i := range p.Mail {
		p.Mail[i].Message = string(mailer.Readable([]byte(p.Mail[i].Message)))
	}
	detail := fmt.Sprintf(`{"leads":%d,"bookings":%d,"mail":%d}`, len(p.Leads), len(p.Bookings), len(p.Mail))
	if err := s.staff.Store.Audit(ctx, authOf(c).actor, leads.AuditPersonExport, "", detail); err != nil {
		return err
	}
	body, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="person-`+s.now().UTC().Format(time.DateOnly)+`.json"`)
	return c.Blob(http.StatusOK, "application/json; charset=utf-8", body)
}

type eraseRequest struct {
	Email   string   `form:"email" json:"email"`
	Confirm checkbox `form:"confirm" json:"confirm"`
}

// handleErase erases one person. Their future calls are cancelled first,
// with METHOD:CANCEL to them and to the CEO (see leads.Store.EraseEmail for
// the order); the erasure completes once those are sent.
func (s *Server) handleErase(c echo.Context) error {
	var req eraseRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if _, err := leads.SubjectEmail(req.Email); err != nil || !req.Confirm {
		f := privacyForm{Email: req.Email, Error: emailError(err)}
		if !req.Confirm {
			f.ConfirmError = "Tick the box to confirm the erasure."
		}
		return s.privacyInvalid(c, "erase", f)
	}
	var compose leads.BookingCompose
	if s.booking != nil {
		compose = s.svc.CancelCompose(c.Request().Context())
	}
	ctx := c.Request().Context()
	er, err := s.staff.Store.EraseEmail(ctx, req.Email, authOf(c).actor, compose)
	if msg := emailError(err); msg != "" {
		return s.privacyInvalid(c, "erase", privacyForm{Email: req.Email, Error: msg})
	}
	if err != nil {
		return err
	}
	if er.Counts.Cancellations > 0 || er.Counts.CalendarDeletes > 0 {
		s.deps.Outbox.Wake()
	}
	s.log.InfoContext(ctx, "erasure", "erasure_id", er.ID, "leads", er.Counts.Leads)
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, map[string]any{"id": er.ID, "status": er.Status, "counts": er.Counts})
	}
	return c.Redirect(http.StatusSeeOther, "/staff/privacy?notice=erased")
}

func (s *Server) handleStaffAudit(c echo.Context) error {
	entries, err := s.staff.Store.ListAudit(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	return s.renderStaff(c, http.StatusOK, "staff_audit", "Audit log", "audit", map[string]any{"Entries": entries})
}

// handleLeadsExport streams the leads as CSV straight from the database:
// rows go out as they are read, so memory stays flat however many there
// are. The export is recorded in the audit log before the first byte.
func (s *Server) handleLeadsExport(c echo.Context) error {
	r, err := rangeOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	detail, _ := json.Marshal(map[string]string{"from": c.QueryParam("from"), "to": c.QueryParam("to")})
	if err := s.staff.Store.Audit(ctx, authOf(c).actor, leads.AuditExport, "leads.csv", string(detail)); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="leads-`+s.now().UTC().Format(time.DateOnly)+`.csv"`)
	c.Response().WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	// ?guard=0 is for scripts with an API token; a signed-in person's
	// download always keeps the spreadsheet guard.
	r.Unguarded = c.QueryParam("guard") == "0" && authOf(c).staff == nil
	n, err := s.staff.Store.ExportCSV(ctx, &deadlineWriter{w: c.Response(), rc: http.NewResponseController(c.Response().Writer)},
		r, c.QueryParam("bom") == "1")
	if err != nil {
		s.log.ErrorContext(ctx, "export", "rows", n, "err", err)
		// The status is sent: break the connection so the client sees a
		// truncated download rather than a short file that looks whole.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func urlValues(m map[string]string) url.Values {
	v := url.Values{}
	for k, val := range m {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// deadlineWriter moves the connection's write deadline forward at every
// flush, so a long export is not cut off by the server's WriteTimeout while
// a client that stops reading still times out.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) { return d.w.Write(p) }

func (d *deadlineWriter) Flush() {
	_ = d.rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	_ = d.rc.Flush()
}

// exportWriteTimeout is how long one flushed batch of an export may take
// to reach the client.
const exportWriteTimeout = time.Minute

// bookingReply is one answer to a booking's invitation, for the staff
// lead page.
type bookingReply struct {
	Booking leads.Booking
	leads.BookingReply
}

// bookingReplies returns the answers to the bookings' invitations read
// from the organizer's mailbox (LEADBOOK_IMAP_URL).
func (s *Server) bookingReplies(ctx context.Context, bookings []leads.Booking) ([]bookingReply, error) {
	var out []bookingReply
	for _, b := range bookings {
		got, err := s.staff.Store.BookingReplies(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			out = append(out, bookingReply{Booking: b, BookingReply: r})
		}
	}
	return out, nil
}

// staffBookingView is a booking as the staff pages show it: with where
// the call happens, as the CEO sees it (the number to call, by phone).
type staffBookingView struct {
	leads.Booking
	Where string
}

func (s *Server) staffBookingViews(bs []leads.Booking) []staffBookingView {
	var meeting mailer.Meeting
	if s.booking != nil {
		meeting = s.booking.Composer.MeetingPlace()
	}
	out := make([]staffBookingView, len(bs))
	for i := range bs {
		out[i] = staffBookingView{Booking: bs[i], Where: meeting.CEOWhere(&bs[i])}
		if out[i].Where == "" && bs[i].Phone != "" {
			out[i].Where = "Phone: " + bs[i].Phone
		}
	}
	return out
}
