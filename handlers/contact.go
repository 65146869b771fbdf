package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
	"leadbook/mailer"
)

// Messages the visitor sees; CONTENT.md fixes their wording.
const (
	msgThanks  = "Thank you for leaving your details"
	msgOops    = "Oops! Something went wrong while submitting the form."
	msgInvalid = "Please correct the highlighted fields."
)

// Visitor is what the contact and booking forms share: the visitor's
// details, consent, the form token and the honeypot. It is exported only
// so that Echo's binder fills it in when embedded.
type Visitor struct {
	Name    string   `form:"name" json:"name"`
	Email   string   `form:"email" json:"email"`
	Company string   `form:"company" json:"company"`
	Phone   string   `form:"phone" json:"phone"`
	Message string   `form:"message" json:"message"`
	Consent checkbox `form:"consent" json:"consent"`
	Token   string   `form:"form_token" json:"form_token"`
	Website string   `form:"website" json:"website"` // the honeypot
	// Carry is the visit's signed first touch (see carryParam).
	Carry string `form:"a" json:"a"`
}

// lead is the visitor as a normalized lead from source.
func (v *Visitor) lead(source string) *leads.Lead {
	l := &leads.Lead{Name: v.Name, Email: v.Email, Company: v.Company, Phone: v.Phone, Message: v.Message, Source: source}
	if v.Consent {
		l.ConsentVersion = ConsentVersion
	}
	l.Normalize()
	return l
}

// visitor lets a request that embeds a Visitor be held as spam.
func (v *Visitor) visitor() *Visitor { return v }

// values are the typed fields, to show the form again.
func (v *Visitor) values() map[string]string {
	m := map[string]string{"name": v.Name, "email": v.Email, "company": v.Company, "phone": v.Phone, "message": v.Message}
	if v.Consent {
		m["consent"] = "on"
	}
	return m
}

// fields are the typed fields, for the fallback email.
func (v *Visitor) fields() [][2]string {
	consent := "no"
	if v.Consent {
		consent = "yes (" + ConsentVersion + ")"
	}
	return [][2]string{{"Name", v.Name}, {"Email", v.Email}, {"Company", v.Company}, {"Phone", v.Phone},
		{"Message", v.Message}, {"Consent", consent}}
}

// contactRequest is the contact form as posted, by a browser or as JSON.
type contactRequest struct {
	Visitor
	Page string `form:"page" json:"page"`
}

func (r *contactRequest) fields() [][2]string {
	return append(r.Visitor.fields(), [2]string{"Page", r.Page})
}

func (s *Server) handleLeadCreate(c echo.Context) error {
	var req contactRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.allow(c); err != nil {
		return s.contactAnswer(c, &req, http.StatusTooManyRequests, "invalid", httpMessage(err), nil)
	}
	verdict, reason := s.screenKind(req.Website, req.Token, tokenConfirmContact)
	switch verdict {
	case screenSpam:
		s.holdSpam(c, "contact", reason, &req)
		return s.contactSuccess(c)
	case screenFast:
		// Faster than a person types, but the honeypot is empty: maybe a
		// person with autofill. Ask once more, with a token the fill time
		// does not apply to, as the booking form does.
		req.Token = s.tokens.issueKind(s.now(), tokenConfirmContact)
	case screenExpired:
		req.Token = s.tokens.issue(s.now())
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusUnprocessableEntity, map[string]string{"error": msgExpired, "form_token": req.Token})
		}
		return s.contactAnswer(c, &req, http.StatusUnprocessableEntity, "invalid", msgExpired, nil)
	}
	l := req.lead(leads.SourceContact)
	l.Attribution = s.posted(req.Carry, req.Page)
	if err := l.Validate(); err != nil {
		return s.contactAnswer(c, &req, http.StatusUnprocessableEntity, "invalid", msgInvalid, fieldErrors(err))
	}
	if verdict == screenFast {
		return s.contactAnswer(c, &req, http.StatusOK, "confirm", msgConfirmContact, nil)
	}
	l.IdemKey = s.idemKey(c, req.Token, "contact", l.Name, l.Email, l.Company, l.Phone, l.Message, l.ConsentVersion)
	created, err := s.deps.Store.CreateLead(ctx, l, s.deps.Composer.LeadMessages)
	if err != nil {
		if leads.ErrorCode(err) == leads.EINVALID {
			return s.contactAnswer(c, &req, http.StatusUnprocessableEntity, "invalid", msgInvalid, fieldErrors(err))
		}
		s.log.ErrorContext(ctx, "contact: store lead", "err", err)
		s.fallback(c, "contact", req.Email, req.fields(), "the lead could not be stored")
		return s.contactAnswer(c, &req, http.StatusInternalServerError, "error", msgOops, nil)
	}
	if created {
		s.count(EventLeadCreated)
	}
	s.deps.Outbox.Wake()
	return s.contactSuccess(c)
}

func (s *Server) contactSuccess(c echo.Context) error {
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusCreated, map[string]string{"message": msgThanks})
	}
	return c.Redirect(http.StatusSeeOther, "/contact/thanks")
}

// contactAnswer answers a submission that did not go through: JSON with the
// message and field errors, or the page the form was on, shown again with
// what the visitor typed.
func (s *Server) contactAnswer(c echo.Context, req *contactRequest, status int, kind, msg string, fields map[string]string) error {
	if wantsJSON(c.Request()) {
		body := map[string]any{"error": msg}
		if fields != nil {
			body["fields"] = fields
		}
		if kind == "confirm" || msg == msgExpired {
			// Send it again with this token, as the form would.
			body["form_token"] = req.Token
		}
		if kind == "confirm" {
			status = http.StatusUnprocessableEntity
			body["confirm"] = true
		}
		return c.JSON(status, body)
	}
	form := s.newContactForm(req.Page, req.Token)
	form.Values, form.Errors, form.Status, form.Message = req.values(), fields, kind, msg
	if form.Errors == nil {
		form.Errors = map[string]string{}
	}
	if form.Token == "" {
		form.Token = s.tokens.issue(s.now())
	}
	var (
		body []byte
		err  error
	)
	if a, ok := s.articles.bySlug[req.Page]; ok {
		body, err = s.renderArticle(a, form)
	} else {
		form.Page = ""
		body, err = s.renderContact(form)
	}
	if err != nil {
		return err
	}
	if _, ok := s.carry.parse(req.Carry, s.now()); !ok {
		req.Carry = ""
	}
	return s.serveCarried(c, status, body, req.Carry)
}

// holdSpam keeps a bot's submission in the quarantine for staff to review,
// with the address it gave, by which erasure and subject access find it.
// The bot gets the success answer either way.
func (s *Server) holdSpam(c echo.Context, form, reason string, req interface{ visitor() *Visitor }) {
	ctx := c.Request().Context()
	payload, err := json.Marshal(req)
	if err == nil {
		err = s.deps.Store.HoldSpam(ctx, &leads.Spam{Form: form, Reason: reason, Email: req.visitor().Email, Payload: payload})
	}
	if err != nil {
		s.log.ErrorContext(ctx, "spam: hold", "err", err)
		return
	}
	s.count(EventSpamHeld)
	s.log.InfoContext(ctx, "spam held", "form", form, "reason", reason)
}

// idemKey derives the submission's idempotency key: the same form token (or
// Idempotency-Key header) with the same content is the same submission; the
// same token with other content is a new one. Without either there is no
// key, and every POST is new.
func (s *Server) idemKey(c echo.Context, token string, parts ...string) string {
	if _, _, err := s.tokens.parse(token); err != nil {
		token = ""
		if h := c.Request().Header.Get("Idempotency-Key"); h != "" && len(h) <= 200 {
			token = "header:" + h
		}
	}
	if token == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(token))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fallback sends the "something went wrong" mail: the whole submission to
// staff, so the lead is not lost, and an apology to the visitor.
func (s *Server) fallback(c echo.Context, form, email string, fields [][2]string, reason string) {
	ctx := c.Request().Context()
	msgs, err := s.deps.Composer.Fallback(mailer.Submission{Form: form, Fields: fields, Email: strings.TrimSpace(email), Reason: reason, At: s.now()})
	if err != nil {
		s.log.ErrorContext(ctx, "fallback: compose", "err", err)
		return
	}
	s.deps.Direct.Send(msgs...)
}

// allow applies the per-address rate limit to a POST.
func (s *Server) allow(c echo.Context) error {
	if s.limiter == nil {
		return nil
	}
	ok, wait := s.limiter.allow(c.Request().Context(), c.RealIP(), s.now())
	if ok {
		return nil
	}
	secs := int(wait.Seconds()) + 1
	c.Response().Header().Set("Retry-After", itoa(secs))
	return echo.NewHTTPError(http.StatusTooManyRequests,
		"Too many submissions from your address. Please wait "+itoa(secs)+" seconds and try again.")
}

func fieldErrors(err error) map[string]string {
	var e *leads.Error
	if asLeadsError(err, &e) && e.Fields != nil {
		return e.Fields
	}
	return map[string]string{}
}

// msgConfirmContact is the contact form's confirm step, for a form sent
// faster than a person types.
const msgConfirmContact = "Please check your details and confirm that you want to send them."
