package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"leadbook/leads"
)

// AccountStore is what the admin pages need to manage accounts and API
// tokens.
type AccountStore interface {
	ListStaff(ctx context.Context) ([]leads.Staff, error)
	FindStaff(ctx context.Context, id int64) (*leads.Staff, error)
	AddStaffRole(ctx context.Context, email, password, role string, by leads.Actor) (*leads.Staff, error)
	SetStaffRole(ctx context.Context, email, role string, by leads.Actor) error
	SetStaffPassword(ctx context.Context, email, password string, by leads.Actor) error
	RemoveStaff(ctx context.Context, email string, by leads.Actor) error
	ListTokens(ctx context.Context) ([]leads.APIToken, error)
	CreateToken(ctx context.Context, name string, by leads.Actor) (string, *leads.APIToken, error)
	RevokeToken(ctx context.Context, nameOrID string, by leads.Actor) error
}

var errNotAdmin = echo.NewHTTPError(http.StatusForbidden, "Only an admin can do this.")

// requireAdmin lets through only a signed-in admin; it runs after
// requireStaff. Staff accounts and API tokens (which are no account) get
// 403.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a := authOf(c); a == nil || !a.staff.IsAdmin() {
			return errNotAdmin
		}
		return next(c)
	}
}

// adminRoutes registers the pages and actions only admins reach (and
// lists them for AdminRoutes). Register new admin pages here.
func (s *Server) adminRoutes(e *echo.Echo) {
	limit := middleware.BodyLimit(s.cfg.BodyLimit)
	get := func(path string, h echo.HandlerFunc) {
		e.Match(getHead, path, h, s.requireStaff, s.requireAdmin)
		s.adminPaths = append(s.adminPaths, Route{http.MethodGet, path}, Route{http.MethodHead, path})
	}
	post := func(path string, h echo.HandlerFunc) {
		e.POST(path, h, s.crossOrigin, limit, s.requireStaff, s.requireAdmin)
		s.adminPaths = append(s.adminPaths, Route{http.MethodPost, path})
	}
	post("/staff/privacy/erase", s.handleErase)
	if s.staff.Accounts != nil {
		get("/staff/accounts", s.handleAccounts)
		post("/staff/accounts", s.handleAccountAdd)
		post("/staff/accounts/:id/role", s.handleAccountRole)
		post("/staff/accounts/:id/password", s.handleAccountPassword)
		post("/staff/accounts/:id/remove", s.handleAccountRemove)
		get("/staff/tokens", s.handleTokens)
		post("/staff/tokens", s.handleTokenCreate)
		post("/staff/tokens/:id/revoke", s.handleTokenRevoke)
	}
	if s.staff.Webhooks != nil {
		// A webhook receives every new lead: admins only.
		get("/staff/webhooks", s.handleWebhooksShow)
		post("/staff/webhooks", s.handleWebhookAdd)
		post("/staff/webhooks/:id/disable", s.handleWebhookDisable)
		post("/staff/webhooks/:id/enable", s.handleWebhookEnable)
		post("/staff/webhooks/:id/remove", s.handleWebhookRemove)
		post("/staff/webhooks/:id/test", s.handleWebhookTest)
		post("/staff/webhooks/deliveries/:id/retry", s.handleWebhookRetry)
	}
	if s.booking != nil && s.booking.Settings != nil {
		get("/staff/settings", s.handleSettings)
		post("/staff/settings", s.handleSettingsSave)
		post("/staff/settings/reset", s.handleSettingsReset)
		post("/staff/settings/questions", s.handleQuestionsSave)
		post("/staff/settings/questions/move", s.handleQuestionsMove)
	}
}

// AdminRoutes lists the routes only admins reach, so that tests can try
// each one as staff and with a token.
func (s *Server) AdminRoutes() []Route { return slices.Clone(s.adminPaths) }

// oneTimePassword is a password for an account an admin made or reset,
// shown to the admin once, to pass on.
func oneTimePassword() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// accountForm is the add-account form: what was typed and its errors.
type accountForm struct {
	Email, Role string
	Errors      map[string]string
}

func (s *Server) renderAccounts(c echo.Context, status int, form accountForm, secret map[string]string) error {
	list, err := s.staff.Accounts.ListStaff(c.Request().Context())
	if err != nil {
		return err
	}
	if form.Role == "" {
		form.Role = leads.RoleStaff
	}
	noStore(c)
	return s.renderStaff(c, status, "staff_accounts", "Accounts", "accounts", map[string]any{
		"Accounts": list, "Form": form, "Notice": c.QueryParam("notice"), "Secret": secret, "Me": authOf(c).staff.ID,
	})
}

func (s *Server) handleAccounts(c echo.Context) error {
	if wantsJSON(c.Request()) {
		list, err := s.staff.Accounts.ListStaff(c.Request().Context())
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(list))
		for i, st := range list {
			out[i] = map[string]any{"id": st.ID, "email": st.Email, "role": st.Role, "created_at": st.CreatedAt}
		}
		return c.JSON(http.StatusOK, map[string]any{"data": out})
	}
	return s.renderAccounts(c, http.StatusOK, accountForm{}, nil)
}

type accountRequest struct {
	Email string `form:"email" json:"email"`
	Role  string `form:"role" json:"role"`
}

// accountInvalid answers a refused account form: 422 with the field
// errors, as JSON or as the page with the input kept.
func (s *Server) accountInvalid(c echo.Context, form accountForm) error {
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": form.Errors})
	}
	return s.renderAccounts(c, http.StatusUnprocessableEntity, form, nil)
}

// handleAccountAdd makes an account with a one-time password, shown to
// the admin once to pass on; the new member changes it with the CLI or
// asks an admin for a new one.
func (s *Server) handleAccountAdd(c echo.Context) error {
	var req accountRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	form := accountForm{Email: req.Email, Role: req.Role, Errors: map[string]string{}}
	if !leads.ValidEmail(strings.TrimSpace(req.Email)) {
		form.Errors["email"] = "Please enter a valid email address."
	}
	if !leads.ValidRole(req.Role) {
		form.Errors["role"] = "Choose admin or staff."
	}
	if len(form.Errors) > 0 {
		return s.accountInvalid(c, form)
	}
	password := oneTimePassword()
	st, err := s.staff.Accounts.AddStaffRole(c.Request().Context(), req.Email, password, req.Role, authOf(c).actor)
	if err != nil {
		if code := leads.ErrorCode(err); code == leads.ECONFLICT || code == leads.EINVALID {
			form.Errors["email"] = leads.ErrorMessage(err)
			return s.accountInvalid(c, form)
		}
		return err
	}
	s.log.InfoContext(c.Request().Context(), "staff account added", "staff_id", st.ID, "role", st.Role)
	if wantsJSON(c.Request()) {
		noStore(c)
		return c.JSON(http.StatusCreated, map[string]any{"id": st.ID, "email": st.Email, "role": st.Role, "password": password})
	}
	return s.renderAccounts(c, http.StatusCreated, accountForm{}, map[string]string{"Email": st.Email, "Password": password})
}

// accountOf is the account named by the path's id.
func (s *Server) accountOf(c echo.Context) (*leads.Staff, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	return s.staff.Accounts.FindStaff(c.Request().Context(), id)
}

// accountDone answers a change of an account: JSON, or back to the list.
func accountDone(c echo.Context, notice string) error {
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, map[string]string{"status": notice})
	}
	return c.Redirect(http.StatusSeeOther, "/staff/accounts?notice="+notice)
}

func (s *Server) handleAccountRole(c echo.Context) error {
	st, err := s.accountOf(c)
	if err != nil {
		return err
	}
	var req accountRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if !leads.ValidRole(req.Role) {
		return s.accountInvalid(c, accountForm{Errors: map[string]string{"role": "Choose admin or staff."}})
	}
	if err := s.staff.Accounts.SetStaffRole(c.Request().Context(), st.Email, req.Role, authOf(c).actor); err != nil {
		return err
	}
	return accountDone(c, "role")
}

// handleAccountPassword gives an account a new one-time password, shown
// once, and ends its sessions.
func (s *Server) handleAccountPassword(c echo.Context) error {
	st, err := s.accountOf(c)
	if err != nil {
		return err
	}
	password := oneTimePassword()
	if err := s.staff.Accounts.SetStaffPassword(c.Request().Context(), st.Email, password, authOf(c).actor); err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		noStore(c)
		return c.JSON(http.StatusOK, map[string]any{"id": st.ID, "email": st.Email, "password": password})
	}
	return s.renderAccounts(c, http.StatusOK, accountForm{}, map[string]string{"Email": st.Email, "Password": password})
}

func (s *Server) handleAccountRemove(c echo.Context) error {
	st, err := s.accountOf(c)
	if err != nil {
		return err
	}
	if err := s.staff.Accounts.RemoveStaff(c.Request().Context(), st.Email, authOf(c).actor); err != nil {
		return err
	}
	return accountDone(c, "removed")
}

type tokenRequest struct {
	Name string `form:"name" json:"name"`
}

func (s *Server) renderTokens(c echo.Context, status int, name, nameError, created string) error {
	list, err := s.staff.Accounts.ListTokens(c.Request().Context())
	if err != nil {
		return err
	}
	noStore(c)
	return s.renderStaff(c, status, "staff_tokens", "API tokens", "tokens", map[string]any{
		"Tokens": list, "Name": name, "NameError": nameError, "Created": created, "Notice": c.QueryParam("notice"),
	})
}

func (s *Server) handleTokens(c echo.Context) error {
	if wantsJSON(c.Request()) {
		list, err := s.staff.Accounts.ListTokens(c.Request().Context())
		if err != nil {
			return err
		}
		out := make([]map[string]any, len(list))
		for i, t := range list {
			out[i] = map[string]any{"id": t.ID, "name": t.Name, "created_at": t.CreatedAt, "created_by": t.CreatedBy,
				"last_used_at": nullTime(t.LastUsedAt), "revoked_at": nullTime(t.RevokedAt)}
		}
		return c.JSON(http.StatusOK, map[string]any{"data": out})
	}
	return s.renderTokens(c, http.StatusOK, "", "", "")
}

// handleTokenCreate makes an API token and shows it this once; only its
// hash is kept.
func (s *Server) handleTokenCreate(c echo.Context) error {
	var req tokenRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	token, t, err := s.staff.Accounts.CreateToken(c.Request().Context(), req.Name, authOf(c).actor)
	if err != nil {
		if code := leads.ErrorCode(err); code == leads.EINVALID || code == leads.ECONFLICT {
			if wantsJSON(c.Request()) {
				return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": map[string]string{"name": leads.ErrorMessage(err)}})
			}
			return s.renderTokens(c, http.StatusUnprocessableEntity, req.Name, leads.ErrorMessage(err), "")
		}
		return err
	}
	if wantsJSON(c.Request()) {
		noStore(c)
		return c.JSON(http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "token": token})
	}
	return s.renderTokens(c, http.StatusCreated, "", "", token)
}

func (s *Server) handleTokenRevoke(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.staff.Accounts.RevokeToken(c.Request().Context(), itoa(int(id)), authOf(c).actor); err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, map[string]string{"status": "revoked"})
	}
	return c.Redirect(http.StatusSeeOther, "/staff/tokens?notice=revoked")
}

// nullTime is t for JSON, or null when it is zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
