package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// settingView is one rule on the settings page: the value shown in its
// input (the one in force, or what the admin typed), and where it is from.
type settingView struct {
	RuleValue
	Input string
	Field string // the error beside the input
}

func (s *Server) renderSettings(c echo.Context, status int, f *rulesInForce, input, fields map[string]string) error {
	return s.renderSettingsPage(c, status, f, input, fields, nil, nil)
}

// renderSettingsPage renders the settings page: the rules (with input and
// fields, what was typed and the errors, when given) and the questions
// (with typed rows and their qfields when given).
func (s *Server) renderSettingsPage(c echo.Context, status int, f *rulesInForce, input, fields map[string]string, typed []questionRow, qfields map[string]string) error {
	views := make([]settingView, len(f.values))
	for i, v := range f.values {
		views[i] = settingView{RuleValue: v, Input: v.Value, Field: fields[v.Name]}
		if in, ok := input[v.Name]; ok {
			views[i].Input = in
		}
	}
	questions := questionsPage(f.questions, typed, qfields)
	questions.Version = f.version
	noStore(c)
	return s.renderStaff(c, status, "staff_settings", "Booking settings", "settings", map[string]any{
		"Rules": views, "Notice": c.QueryParam("notice"), "Error": fields[""],
		"Questions": questions, "QuestionsEnv": QuestionsEnv,
	})
}

// settingsJSON is the rules in force for a JSON client.
func settingsJSON(f *rulesInForce) map[string]any {
	out := make([]map[string]any, len(f.values))
	for i, v := range f.values {
		source := "environment"
		if v.FromDatabase() {
			source = "database"
		}
		m := map[string]any{"name": v.Name, "env": v.Env, "value": v.Value, "environment": v.Environment, "source": source}
		if v.Error != "" {
			m["error"] = v.Error
		}
		out[i] = m
	}
	return map[string]any{"rules": out, "questions": questionsJSON(f.questions), "version": f.version}
}

func (s *Server) handleSettings(c echo.Context) error {
	f, err := s.rulesNow(c.Request().Context())
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		noStore(c)
		return c.JSON(http.StatusOK, settingsJSON(f))
	}
	return s.renderSettings(c, http.StatusOK, f, nil, nil)
}

// settingsInput reads the submitted rules, by name: a form's fields or a
// JSON object of strings. Names that are no rule are ignored.
func settingsInput(c echo.Context) (map[string]string, error) {
	in := map[string]string{}
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		var body map[string]string
		if err := bind(c, &body); err != nil {
			return nil, err
		}
		for _, f := range RuleFields {
			if v, ok := body[f.Name]; ok {
				in[f.Name] = v
			}
		}
		return in, nil
	}
	form, err := c.FormParams()
	if err != nil {
		return nil, echo.NewHTTPError(http.StatusBadRequest, "The submission could not be read.").SetInternal(err)
	}
	for _, f := range RuleFields {
		if vs, ok := form[f.Name]; ok && len(vs) > 0 {
			in[f.Name] = vs[0]
		}
	}
	return in, nil
}

// handleSettingsSave checks the submitted rules with the environment
// variables' parsers and, together, with the rules' own checks; then
// stores those that differ from what is in force. A value equal to the
// environment's where nothing was stored stores nothing. Each change is
// audited by the store.
func (s *Server) handleSettingsSave(c echo.Context) error {
	ctx := c.Request().Context()
	in, err := settingsInput(c)
	if err != nil {
		return err
	}
	f, err := s.rulesNow(ctx)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	next := f.rules
	set := map[string]string{}
	for _, v := range f.values {
		text, ok := in[v.Name]
		if !ok {
			continue
		}
		if len(text) > 4000 {
			fields[v.Name] = "Too long."
			continue
		}
		if err := v.parse(&next, text); err != nil {
			fields[v.Name] = err.Error()
			continue
		}
		canon := v.show(next)
		switch {
		case v.Stored != nil && v.Stored.Value == canon && v.Error == "":
		case v.Stored == nil && canon == v.Environment:
		default:
			set[v.Name] = canon
		}
	}
	if len(fields) == 0 {
		if err := next.Validate(); err != nil {
			fields[""] = strings.TrimPrefix(err.Error(), "calendar: ")
		}
	}
	if len(fields) > 0 {
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": fields})
		}
		return s.renderSettings(c, http.StatusUnprocessableEntity, f, in, fields)
	}
	if len(set) > 0 {
		if err := s.booking.Settings.SetBookingSettings(ctx, set, nil, authOf(c).actor); err != nil {
			return err
		}
		s.log.InfoContext(ctx, "booking settings changed", "rules", len(set))
	}
	return s.settingsDone(c, "saved")
}

type settingsResetRequest struct {
	Name string `form:"name" json:"name"`
}

// handleSettingsReset puts one rule, or the questions, back to the
// environment's value.
func (s *Server) handleSettingsReset(c echo.Context) error {
	var req settingsResetRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if _, ok := ruleField(req.Name); !ok && req.Name != QuestionsSetting {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "There is no setting of that name.")
	}
	if err := s.booking.Settings.SetBookingSettings(c.Request().Context(), nil, []string{req.Name}, authOf(c).actor); err != nil {
		return err
	}
	return s.settingsDone(c, "reset")
}

func (s *Server) settingsDone(c echo.Context, notice string) error {
	if wantsJSON(c.Request()) {
		f, err := s.rulesNow(c.Request().Context())
		if err != nil {
			return err
		}
		noStore(c)
		return c.JSON(http.StatusOK, settingsJSON(f))
	}
	return c.Redirect(http.StatusSeeOther, "/staff/settings?notice="+notice)
}
