package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
)

// QuestionsSetting is the name under which the booking form's questions
// set on the settings page are stored (booking_settings), as JSON in the
// syntax of LEADBOOK_BOOKING_QUESTIONS.
const QuestionsSetting = "questions"

// QuestionsEnv is the environment variable whose questions the settings
// page overrides.
const QuestionsEnv = "LEADBOOK_BOOKING_QUESTIONS"

// QuestionsValue is the booking form's questions in force and where they
// come from.
type QuestionsValue struct {
	Questions   []Question // in force
	Environment []Question // LEADBOOK_BOOKING_QUESTIONS's
	Stored      *leads.BookingSetting
	// Error says why stored questions are not in force (they no longer
	// read); the environment's are.
	Error string
}

// FromDatabase reports whether the questions in force are the stored ones.
func (v QuestionsValue) FromDatabase() bool { return v.Stored != nil && v.Error == "" }

// ResolveQuestions is env, the environment's questions, unless stored
// holds questions set on the settings page that read (ParseQuestions):
// then those, even none. A stored value that does not read is left out,
// and said so, so a bad row never takes the booking form down.
func ResolveQuestions(env []Question, stored []leads.BookingSetting) QuestionsValue {
	v := QuestionsValue{Questions: env, Environment: env}
	for i := range stored {
		if stored[i].Name != QuestionsSetting {
			continue
		}
		v.Stored = &stored[i]
		qs, err := ParseQuestions(stored[i].Value)
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Questions = qs
		}
	}
	return v
}

// questionsText is qs in the syntax of LEADBOOK_BOOKING_QUESTIONS, as
// stored ("[]" for none).
func questionsText(qs []Question) string {
	if len(qs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(qs)
	return string(b)
}

// questionRow is one question as the settings form submits it; Choices
// are one a line.
type questionRow struct {
	ID, Label, Kind, Choices string
	Required, Remove         bool
	JSON                     bool // from a JSON list, where no row is a blank one to fill in
}

func (r questionRow) blank() bool {
	return r.ID == "" && strings.TrimSpace(r.Label) == "" && strings.TrimSpace(r.Choices) == ""
}

// questionName is the prefix of row i's form fields, and of their errors'
// keys: question_<i>_label and so on.
func questionName(i int) string { return "question_" + strconv.Itoa(i) }

// questionRowsIn reads the submitted questions: a form's rows
// question_<i>_*, or a JSON object {"questions": [...]} of questions.
func questionRowsIn(c echo.Context) ([]questionRow, int64, error) {
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		var body struct {
			Questions []Question `json:"questions"`
			Version   *uint64    `json:"version"`
		}
		if err := bind(c, &body); err != nil {
			return nil, 0, err
		}
		rows := make([]questionRow, len(body.Questions))
		for i, q := range body.Questions {
			rows[i] = questionRow{ID: q.ID, Label: q.Label, Kind: q.Kind, Choices: strings.Join(q.Choices, "\n"), Required: q.Required, JSON: true}
		}
		from := int64(-1)
		if body.Version != nil {
			from = int64(*body.Version)
		}
		return rows, from, nil
	}
	form, err := c.FormParams()
	if err != nil {
		return nil, 0, echo.NewHTTPError(http.StatusBadRequest, "The submission could not be read.").SetInternal(err)
	}
	from, err := settingsVersionIn(form.Get("version"))
	if err != nil {
		return nil, 0, err
	}
	var rows []questionRow
	for i := 0; i <= MaxQuestions+1; i++ {
		n := questionName(i)
		if _, ok := form[n+"_label"]; !ok {
			if _, ok := form[n+"_id"]; !ok {
				break
			}
		}
		rows = append(rows, questionRow{ID: form.Get(n + "_id"), Label: form.Get(n + "_label"), Kind: form.Get(n + "_kind"),
			Choices: form.Get(n + "_choices"), Required: form.Get(n+"_required") != "", Remove: form.Get(n+"_remove") != ""})
	}
	return rows, from, nil
}

// settingsVersionIn reads the version of the settings that a form was
// made from (its hidden field "version"): -1, any, when there is none.
func settingsVersionIn(v string) (int64, error) {
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, echo.NewHTTPError(http.StatusBadRequest, "The submission could not be read: its version is not a number.")
	}
	return n, nil
}

// msgQuestionsChanged answers an edit of the questions made from a list
// that a change elsewhere (another page, another instance) has replaced.
const msgQuestionsChanged = "The questions were changed meanwhile, on another page or by someone else. "

// checkQuestionRows turns the submitted rows into questions: removed and
// blank rows are left out, new ones get an id from their label. Each
// field that does not do gets its message, by its row's field name.
func checkQuestionRows(rows []questionRow) ([]Question, map[string]string) {
	fields := map[string]string{}
	taken := map[string]bool{}
	for _, r := range rows {
		if !r.Remove && r.ID != "" {
			taken[r.ID] = true
		}
	}
	var qs []Question
	ids := map[string]bool{}
	for i, r := range rows {
		if r.Remove || (!r.JSON && r.blank()) {
			continue
		}
		n := questionName(i)
		q := Question{ID: r.ID, Label: strings.TrimSpace(r.Label), Kind: r.Kind, Required: r.Required}
		switch {
		case q.ID == "":
			q.ID = newQuestionID(q.Label, taken)
			taken[q.ID] = true
		case !questionID.MatchString(q.ID) || ids[q.ID]:
			fields[""] = "Each question needs its own id (a lower-case letter, then a-z, 0-9, - and _): please load the page again."
		}
		ids[q.ID] = true
		switch {
		case q.Label == "":
			fields[n+"_label"] = "Please give the question a label."
		case utf8.RuneCountInString(q.Label) > MaxQuestionLabel:
			fields[n+"_label"] = fmt.Sprintf("Please keep the label under %d characters.", MaxQuestionLabel)
		case !oneLine(q.Label):
			fields[n+"_label"] = "Please keep the label to one line."
		}
		var choices []string
		for _, c := range strings.Split(r.Choices, "\n") {
			if c = strings.TrimSpace(c); c != "" {
				choices = append(choices, c)
			}
		}
		switch q.Kind {
		case QuestionText, QuestionLong:
			if len(choices) > 0 {
				fields[n+"_choices"] = "Choices are for the kind “One of a few choices” only: clear them or change the kind."
			}
		case QuestionChoice:
			if len(choices) < 2 || len(choices) > MaxChoices {
				fields[n+"_choices"] = fmt.Sprintf("Please give 2 to %d choices, one a line.", MaxChoices)
				break
			}
			have := map[string]bool{}
			for _, c := range choices {
				if utf8.RuneCountInString(c) > MaxChoiceLen || !oneLine(c) || have[c] {
					fields[n+"_choices"] = fmt.Sprintf("Please give each choice once, at most %d characters.", MaxChoiceLen)
				}
				have[c] = true
			}
			q.Choices = choices
		default:
			fields[n+"_kind"] = "Please pick a kind."
		}
		qs = append(qs, q)
	}
	if len(qs) > MaxQuestions {
		fields[""] = fmt.Sprintf("The booking form asks at most %d questions: please remove one.", MaxQuestions)
	}
	if len(fields) == 0 {
		// What the environment variable would take, stored takes.
		if _, err := ParseQuestions(questionsText(qs)); err != nil {
			fields[""] = err.Error()
		}
	}
	return qs, fields
}

func oneLine(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// newQuestionID is an id for a new question: its label's first words
// (letters and digits, from the first letter on), joined by '-', up to
// 24 characters, that taken does not hold yet.
func newQuestionID(label string, taken map[string]bool) string {
	words := strings.FieldsFunc(strings.ToLower(label), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
	base := ""
	for _, w := range words {
		if base == "" {
			w = strings.TrimLeft(w, "0123456789")
			if w == "" {
				continue
			}
			base = w[:min(len(w), 24)]
			continue
		}
		if len(base)+1+len(w) > 24 {
			break
		}
		base += "-" + w
	}
	if base == "" {
		base = "question"
	}
	id := base
	for n := 2; taken[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	return id
}

// questionRowView is one row of the questions' form.
type questionRowView struct {
	Name, Prefix             string // field names' and ids' prefixes
	Number                   int    // 1 for the first
	ID, Label, Kind, Choices string
	Required, Remove, New    bool
	Adding                   bool // the blank row to add one in
	MoveUp                   bool // the row has a "Move up" button
	Errors                   map[string]string
}

// questionsView is the questions' section of the settings page.
type questionsView struct {
	QuestionsValue
	Rows  []questionRowView
	Error string // the form's own error, beside the fields'
	// Version is the settings' version the page shows, sent back with
	// an edit so that one made from a replaced list is refused.
	Version uint64
}

// questionsPage shows v's questions as rows, with a blank one to add
// one; or, given rows, those rows as typed with fields' errors.
func questionsPage(v QuestionsValue, typed []questionRow, fields map[string]string) questionsView {
	out := questionsView{QuestionsValue: v, Error: fields[""]}
	rows := typed
	if rows == nil {
		for _, q := range v.Questions {
			rows = append(rows, questionRow{ID: q.ID, Label: q.Label, Kind: q.Kind, Choices: strings.Join(q.Choices, "\n"), Required: q.Required})
		}
	}
	if len(rows) == 0 || !rows[len(rows)-1].blank() {
		rows = append(rows, questionRow{Kind: QuestionText})
	}
	for i, r := range rows {
		n := questionName(i)
		errs := map[string]string{}
		for _, f := range []string{"label", "kind", "choices"} {
			if m := fields[n+"_"+f]; m != "" {
				errs[f] = m
			}
		}
		out.Rows = append(out.Rows, questionRowView{Name: n, Prefix: strings.ReplaceAll(n, "_", "-"), Number: i + 1,
			ID: r.ID, Label: r.Label, Kind: r.Kind, Choices: r.Choices, Required: r.Required, Remove: r.Remove,
			New: r.ID == "", Adding: r.blank(), MoveUp: typed == nil && i > 0 && r.ID != "", Errors: errs})
	}
	return out
}

// handleQuestionsSave stores the booking form's questions as submitted,
// over the environment's. Questions equal to those in force store
// nothing; equal to the environment's, where none were stored, neither.
func (s *Server) handleQuestionsSave(c echo.Context) error {
	ctx := c.Request().Context()
	rows, from, err := questionRowsIn(c)
	if err != nil {
		return err
	}
	f, err := s.rulesNow(ctx)
	if err != nil {
		return err
	}
	qs, fields := checkQuestionRows(rows)
	if len(fields) > 0 {
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": fields})
		}
		return s.renderSettingsPage(c, http.StatusUnprocessableEntity, f, nil, nil, rows, fields)
	}
	err = s.storeQuestions(c, f, qs, from)
	if errors.Is(err, leads.ErrSettingsChanged) {
		// What was typed stays, over the newest version: saved again,
		// it replaces the other change, knowingly.
		return s.questionsChanged(c, rows, msgQuestionsChanged+"What you typed is below; save it again to replace their change, or reload the page to see it.")
	}
	if err != nil {
		return err
	}
	return s.settingsDone(c, "questions-saved")
}

// storeQuestions stores qs as the questions, made from the settings at
// version from (-1: whatever the version), unless they are those in force
// in f. A change stored since from is leads.ErrSettingsChanged.
func (s *Server) storeQuestions(c echo.Context, f *rulesInForce, qs []Question, from int64) error {
	ctx := c.Request().Context()
	text, v := questionsText(qs), f.questions
	switch {
	case v.Stored != nil && v.Stored.Value == text && v.Error == "":
	case v.Stored == nil && text == questionsText(v.Environment):
	default:
		set := map[string]string{QuestionsSetting: text}
		var err error
		if from < 0 {
			err = s.booking.Settings.SetBookingSettings(ctx, set, nil, authOf(c).actor)
		} else {
			err = s.booking.Settings.SetBookingSettingsFrom(ctx, uint64(from), set, nil, authOf(c).actor)
		}
		if err != nil {
			return err
		}
		s.log.InfoContext(ctx, "booking questions changed", "questions", len(qs))
	}
	return nil
}

// questionsChanged answers 409 to an edit refused by
// leads.ErrSettingsChanged, with the newest questions (a JSON client) or
// the settings page at the newest version, showing typed when it is set
// (else the newest questions) and msg, the page's message.
func (s *Server) questionsChanged(c echo.Context, typed []questionRow, msg string) error {
	f, err := s.rulesNow(c.Request().Context())
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusConflict, map[string]any{"error": msgQuestionsChanged + "The questions in force and their version are in this answer.",
			"version": f.version, "questions": questionsJSON(f.questions)})
	}
	return s.renderSettingsPage(c, http.StatusConflict, f, nil, nil, typed, map[string]string{"": msg})
}

type questionMoveRequest struct {
	ID string `form:"id" json:"id"`
	// Version is that of the settings the page was made from (empty:
	// any); a move from a list changed since is refused.
	Version string `form:"version" json:"version"`
}

// handleQuestionsMove moves one question of those in force (by id) one
// place up, and stores the questions so.
func (s *Server) handleQuestionsMove(c echo.Context) error {
	var req questionMoveRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f, err := s.rulesNow(c.Request().Context())
	if err != nil {
		return err
	}
	qs := append([]Question(nil), f.questions.Questions...)
	i := -1
	for j, q := range qs {
		if q.ID == req.ID {
			i = j
		}
	}
	if i < 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "There is no question with that id.")
	}
	if i > 0 {
		qs[i-1], qs[i] = qs[i], qs[i-1]
	}
	from, err := settingsVersionIn(req.Version)
	if err != nil {
		return err
	}
	err = s.storeQuestions(c, f, qs, from)
	if errors.Is(err, leads.ErrSettingsChanged) {
		return s.questionsChanged(c, nil, msgQuestionsChanged+"Here they are as they stand now; move the question again if it still needs to.")
	}
	if err != nil {
		return err
	}
	return s.settingsDone(c, "questions-moved")
}

// questionsJSON is the questions in force for a JSON client.
func questionsJSON(v QuestionsValue) map[string]any {
	qs := v.Questions
	if qs == nil {
		qs = []Question{}
	}
	source := "environment"
	if v.FromDatabase() {
		source = "database"
	}
	m := map[string]any{"questions": qs, "source": source, "env": QuestionsEnv}
	if v.Error != "" {
		m["error"] = v.Error
	}
	return m
}
