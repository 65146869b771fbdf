package handlers

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/calendar"
	"leadbook/leads"
)

// StaffStore is what the staff dashboard needs from the system of record.
type StaffStore interface {
	Authenticate(ctx context.Context, email, password, address string) (*leads.Staff, error)
	SignInFailures(ctx context.Context, staffID int64, since time.Time) (leads.SignInFailures, error)
	CreateSession(ctx context.Context, staffID int64, p leads.SessionPolicy) (string, error)
	FindSession(ctx context.Context, token string, p leads.SessionPolicy) (*leads.Session, error)
	DeleteSession(ctx context.Context, token string) error
	FindToken(ctx context.Context, token string) (*leads.APIToken, error)
	Audit(ctx context.Context, actor leads.Actor, action, subject, detail string) error
	ListAudit(ctx context.Context, limit int) ([]leads.AuditEntry, error)

	Overview(ctx context.Context) (leads.Overview, error)
	WeeklyCounts(ctx context.Context, n int) ([]leads.WeekCount, error)
	ListLeads(ctx context.Context, f leads.LeadFilter) (leads.LeadPage, error)
	FindLead(ctx context.Context, id int64) (*leads.Lead, error)
	LeadBookings(ctx context.Context, leadID int64) ([]leads.Booking, error)
	ListBookings(ctx context.Context, which string, limit int) ([]leads.Booking, error)
	ListMail(ctx context.Context, f leads.MailFilter) ([]leads.OutboxMessage, error)
	RetryDeadMail(ctx context.Context, id int64, by leads.Actor) error
	ListSpam(ctx context.Context, limit int) ([]leads.Spam, error)
	FindSpam(ctx context.Context, id int64) (*leads.Spam, error)
	ReleaseSpam(ctx context.Context, id int64, l *leads.Lead, compose leads.Compose, by leads.Actor) error
	ReleaseSpamBooking(ctx context.Context, id int64, nb *leads.NewBooking, check leads.BookingCheck,
		compose leads.BookingCompose, leadCompose leads.Compose, by leads.Actor) (*leads.SpamBookingRelease, error)
	ExportCSV(ctx context.Context, w io.Writer, f leads.ExportFilter, bom bool) (int, error)
	EraseEmail(ctx context.Context, email string, by leads.Actor, compose leads.BookingCompose) (*leads.Erasure, error)
	FinishErasures(ctx context.Context) (int, error)
	ListErasures(ctx context.Context, limit int) ([]leads.Erasure, error)
	FindPerson(ctx context.Context, email string) (*leads.PersonData, error)
	FindBooking(ctx context.Context, id int64) (*leads.Booking, error)
	BookingHistory(ctx context.Context, id int64) ([]leads.AuditEntry, error)

	ListStaff(ctx context.Context) ([]leads.Staff, error)
	UpdateLeadPipeline(ctx context.Context, leadID int64, ch leads.PipelineChange, by leads.Actor) (*leads.LeadUpdate, error)
	LeadTimeline(ctx context.Context, leadID int64) ([]leads.LeadEvent, error)
	BookingReplies(ctx context.Context, bookingID int64) ([]leads.BookingReply, error)
	ArticleStats(ctx context.Context, from, to time.Time) (*leads.Stats, error)
}

// FeedStatuser reports the state of the CEO's busy-time feeds.
type FeedStatuser interface {
	Status() []calendar.FeedStatus
}

// Staff configures the dashboard; without it the staff routes are not
// registered.
type Staff struct {
	Store StaffStore
	// Feeds, when set, is shown on /staff/feeds.
	Feeds FeedStatuser
	// Accounts, when set, enables the admin pages of accounts and API
	// tokens.
	Accounts AccountStore
	// Session bounds sessions; 2h idle and 12h absolute when zero.
	Session leads.SessionPolicy
	// API, when set, serves /api/v1/.
	API APIStore
	// Webhooks, when set, serves /staff/webhooks.
	Webhooks WebhookAdmin
	// AllowPrivateWebhooks lets endpoints on loopback and private
	// addresses be added (LEADBOOK_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivateWebhooks bool
}

// staffAuth is what a request is signed in as.
type staffAuth struct {
	actor leads.Actor
	staff *leads.Staff // nil for an API token
	token string       // the session token, for sign-out
	since time.Time    // the sign-in before this session's
}

const staffAuthKey = "staff_auth"

func authOf(c echo.Context) *staffAuth {
	a, _ := c.Get(staffAuthKey).(*staffAuth)
	return a
}

func (s *Server) sessionCookieName() string {
	if s.https() {
		// __Host-: the browser accepts it only with Secure, Path=/ and no
		// Domain, so a sibling subdomain cannot plant or shadow it.
		return "__Host-leadbook_staff"
	}
	return "leadbook_staff"
}

func (s *Server) https() bool {
	return s.cfg.HTTPS || strings.HasPrefix(s.cfg.BaseURL, "https://")
}

func (s *Server) sessionCookie(token string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: s.sessionCookieName(), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.https(), SameSite: http.SameSiteLaxMode,
	}
}

var errSignIn = echo.NewHTTPError(http.StatusUnauthorized, "Sign in first.")

// requireStaff lets a request through when it carries a live session
// cookie, or a live API token on a route open to tokens (see tokenScope:
// the CSV export and read APIs, GET and HEAD only); a token anywhere else
// gets 403. A browser without either is sent to the sign-in page; a
// script, a JSON client or a CSV download gets 401. Either way the answer
// holds nothing from the page asked for.
func (s *Server) requireStaff(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		req := c.Request()
		ctx := req.Context()
		if h := req.Header.Get("Authorization"); h != "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="leadbook staff"`)
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				return errSignIn
			}
			t, err := s.staff.Store.FindToken(ctx, strings.TrimSpace(tok))
			if err != nil {
				if leads.ErrorCode(err) == leads.EUNAUTHORIZED {
					return errSignIn
				}
				return err
			}
			if err := tokenMayUse(c, t.Scope); err != nil {
				return err
			}
			c.Set(staffAuthKey, &staffAuth{actor: leads.Actor{Kind: "token", ID: t.ID}})
			return next(c)
		}
		cookie, err := req.Cookie(s.sessionCookieName())
		if err != nil || cookie.Value == "" || len(cookie.Value) > 100 {
			return s.signInFirst(c)
		}
		se, err := s.staff.Store.FindSession(ctx, cookie.Value, s.staff.Session)
		if err != nil {
			if leads.ErrorCode(err) == leads.EUNAUTHORIZED {
				http.SetCookie(c.Response(), s.sessionCookie("", -1))
				return s.signInFirst(c)
			}
			return err
		}
		if req.Method == http.MethodPost && !sameOrigin(req) {
			return echo.NewHTTPError(http.StatusForbidden, "Cross-origin requests are not allowed.")
		}
		c.Set(staffAuthKey, &staffAuth{actor: leads.Actor{Kind: "staff", ID: se.Staff.ID}, staff: &se.Staff, token: cookie.Value, since: se.FailuresSince})
		return next(c)
	}
}

// sameOrigin insists that a cookie-authenticated POST says where it comes
// from. CrossOriginProtection lets requests without Sec-Fetch-Site or
// Origin through (they are not from browsers); a staff session is always a
// browser, and every browser that keeps cookies sends one of them.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (s *Server) signInFirst(c echo.Context) error {
	req := c.Request()
	if wantsJSON(req) || strings.HasSuffix(req.URL.Path, ".csv") || req.Method != http.MethodGet && req.Method != http.MethodHead {
		if req.Method == http.MethodPost && !wantsJSON(req) {
			return c.Redirect(http.StatusSeeOther, "/staff/login")
		}
		return errSignIn
	}
	next := req.URL.Path
	if req.URL.RawQuery != "" {
		next += "?" + req.URL.RawQuery
	}
	return c.Redirect(http.StatusSeeOther, "/staff/login?next="+url.QueryEscape(next))
}

// safeNext keeps a post-sign-in redirect on the dashboard.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/staff") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/staff"
	}
	return next
}

type loginRequest struct {
	Email    string `form:"email"`
	Password string `form:"password"`
	Next     string `form:"next"`
}

const msgBadLogin = "The email or password is not right."

func (s *Server) renderLogin(c echo.Context, status int, next, message string) error {
	p := s.page("Staff sign-in", "", "", map[string]any{"Next": safeNext(next), "Message": message})
	p.NoIndex = true
	noStore(c)
	return s.renderHTML(c, status, "staff_login", p)
}

func (s *Server) handleStaffLoginShow(c echo.Context) error {
	return s.renderLogin(c, http.StatusOK, c.QueryParam("next"), "")
}

// handleStaffLogin signs a member of staff in. The store counts the
// attempt against the sign-in limits before it hashes anything, and hashes
// under a cap: a refusal answers at once, 429 for a limit, 503 when
// hashing is busy, each with Retry-After. A wrong password and an unknown
// account get the same answer after the same work.
func (s *Server) handleStaffLogin(c echo.Context) error {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.staff.Store.Authenticate(ctx, req.Email, req.Password, c.RealIP())
	if err != nil {
		var le *leads.Error
		if !asLeadsError(err, &le) {
			return err
		}
		switch le.Code {
		case leads.EUNAUTHORIZED:
			s.log.InfoContext(ctx, "staff sign-in failed")
			return s.renderLogin(c, http.StatusUnauthorized, req.Next, msgBadLogin)
		case leads.ETOOMANY, leads.EUNAVAILABLE:
			status := http.StatusTooManyRequests
			if le.Code == leads.EUNAVAILABLE {
				status = http.StatusServiceUnavailable
			}
			c.Response().Header().Set("Retry-After", retryAfter(le.Retry))
			return s.renderLogin(c, status, req.Next, le.Message)
		}
		return err
	}
	token, err := s.staff.Store.CreateSession(ctx, st.ID, s.staff.Session)
	if err != nil {
		return err
	}
	http.SetCookie(c.Response(), s.sessionCookie(token, int(s.staff.Session.Absolute.Seconds())))
	s.log.InfoContext(ctx, "staff signed in", "staff_id", st.ID)
	return c.Redirect(http.StatusSeeOther, safeNext(req.Next))
}

// retryAfter is d in whole seconds, rounded up, for a Retry-After header.
func retryAfter(d time.Duration) string {
	return itoa(max(1, int((d+time.Second-1)/time.Second)))
}

func (s *Server) handleStaffLogout(c echo.Context) error {
	a := authOf(c)
	if a.token != "" {
		if err := s.staff.Store.DeleteSession(c.Request().Context(), a.token); err != nil {
			return err
		}
	}
	http.SetCookie(c.Response(), s.sessionCookie("", -1))
	return c.Redirect(http.StatusSeeOther, "/staff/login")
}
