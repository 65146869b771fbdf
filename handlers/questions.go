package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"leadbook/leads"
)

// Question kinds of the booking form.
const (
	QuestionText   = "text"   // one line
	QuestionLong   = "long"   // a few paragraphs
	QuestionChoice = "choice" // one of Choices
)

// Caps on the booking form's questions (LEADBOOK_BOOKING_QUESTIONS) and
// on the answers to them, in characters.
const (
	MaxQuestions      = 10
	MaxQuestionLabel  = 200
	MaxChoices        = 12
	MaxChoiceLen      = 100
	MaxAnswerText     = 200
	MaxAnswerLong     = 2000
	questionFieldName = "q_"
)

// Question is one question of the booking form, asked beside the
// visitor's details; answers are stored with the booking, with Label as
// it was asked.
type Question struct {
	ID       string   `json:"id"`
	Label    string   `json:"label"`
	Kind     string   `json:"kind"`
	Choices  []string `json:"choices,omitempty"`
	Required bool     `json:"required"`
}

// Field is the form field (and the key of its error in a 422 answer) of
// the question: "q_" and its ID.
func (q Question) Field() string { return questionFieldName + q.ID }

// maxLen is the longest answer q takes.
func (q Question) maxLen() int {
	switch q.Kind {
	case QuestionLong:
		return MaxAnswerLong
	case QuestionChoice:
		return MaxChoiceLen
	}
	return MaxAnswerText
}

var questionID = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ParseQuestions reads LEADBOOK_BOOKING_QUESTIONS: a JSON array of
// questions, "" or "[]" for none. IDs are unique slugs (a lower-case
// letter, then up to 31 of a-z, 0-9, - and _); labels one line of at most
// MaxQuestionLabel characters; kind text, long or choice; choices (2 to
// MaxChoices, unique, each one line of at most MaxChoiceLen characters)
// only for choice; at most MaxQuestions.
func ParseQuestions(v string) ([]Question, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var qs []Question
	if err := dec.Decode(&qs); err != nil {
		return nil, fmt.Errorf(`want a JSON array like [{"id":"goal","label":"What should we talk about?","kind":"long","required":true}]: %w`, err)
	}
	if dec.More() {
		return nil, errors.New("want one JSON array")
	}
	if len(qs) > MaxQuestions {
		return nil, fmt.Errorf("%d questions, at most %d", len(qs), MaxQuestions)
	}
	seen := map[string]bool{}
	oneLine := func(s string, max int) bool {
		return strings.TrimSpace(s) != "" && utf8.RuneCountInString(s) <= max && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
	}
	for i := range qs {
		q := &qs[i]
		q.Label = strings.TrimSpace(q.Label)
		switch {
		case !questionID.MatchString(q.ID):
			return nil, fmt.Errorf("question %d: id %q: want a lower-case letter, then up to 31 of a-z, 0-9, - and _", i+1, q.ID)
		case seen[q.ID]:
			return nil, fmt.Errorf("question %d: id %q is used twice", i+1, q.ID)
		case !oneLine(q.Label, MaxQuestionLabel):
			return nil, fmt.Errorf("question %q: want a label of one line, at most %d characters", q.ID, MaxQuestionLabel)
		}
		seen[q.ID] = true
		switch q.Kind {
		case QuestionText, QuestionLong:
			if len(q.Choices) > 0 {
				return nil, fmt.Errorf("question %q: choices are for kind choice only", q.ID)
			}
		case QuestionChoice:
			if len(q.Choices) < 2 || len(q.Choices) > MaxChoices {
				return nil, fmt.Errorf("question %q: want 2 to %d choices", q.ID, MaxChoices)
			}
			have := map[string]bool{}
			for j, c := range q.Choices {
				c = strings.TrimSpace(c)
				if !oneLine(c, MaxChoiceLen) || have[c] {
					return nil, fmt.Errorf("question %q: choice %d: want a unique choice of one line, at most %d characters", q.ID, j+1, MaxChoiceLen)
				}
				have[c], q.Choices[j] = true, c
			}
		default:
			return nil, fmt.Errorf("question %q: kind %q: want text, long or choice", q.ID, q.Kind)
		}
	}
	return qs, nil
}

// bookingQuestions are the questions the booking form asks now: those
// saved on the settings page, or else the configured ones
// (LEADBOOK_BOOKING_QUESTIONS). It is the one place that says so. They
// are cached with the booking rules by the settings' version (rulesNow):
// a change applies on this instance at once and on every other within the
// store's version interval. Where the settings cannot be read, the
// configured ones are asked.
func (s *Server) bookingQuestions(ctx context.Context) []Question {
	f, err := s.rulesNow(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "booking questions: settings not read", "err", err)
		return s.booking.Questions
	}
	return f.questions.Questions
}

// answersIn reads the answers to qs from a booking request: from the
// form fields q_<id>, or from a JSON body's "answers" object by id.
func answersIn(qs []Question, form func(string) string, fromJSON map[string]string) map[string]string {
	out := make(map[string]string, len(qs))
	for _, q := range qs {
		if fromJSON != nil {
			out[q.ID] = fromJSON[q.ID]
		} else {
			out[q.ID] = form(q.Field())
		}
	}
	return out
}

// checkAnswers validates the answers given to qs: the stored answers, and
// field errors by q.Field() for the ones that do not do.
func checkAnswers(qs []Question, given map[string]string, fields map[string]string) []leads.Answer {
	var out []leads.Answer
	for _, q := range qs {
		v := strings.TrimSpace(strings.ToValidUTF8(given[q.ID], ""))
		switch {
		case v == "" && q.Required:
			if q.Kind == QuestionChoice {
				fields[q.Field()] = "Please pick one."
			} else {
				fields[q.Field()] = "Please answer this question."
			}
			continue
		case utf8.RuneCountInString(v) > q.maxLen():
			fields[q.Field()] = fmt.Sprintf("Please keep this under %d characters.", q.maxLen())
			continue
		case q.Kind == QuestionChoice && v != "" && !contains(q.Choices, v):
			fields[q.Field()] = "Please pick one of the choices."
			continue
		case q.Kind != QuestionLong && strings.ContainsAny(v, "\r\n"):
			v = strings.Join(strings.Fields(v), " ")
		}
		out = append(out, leads.Answer{ID: q.ID, Label: q.Label, Value: v})
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// answersJSON is a JSON object of answers by question id, for the JSON
// request: {"answers": {"goal": "..."}}; anything but strings is refused.
type answersJSON map[string]string

// UnmarshalJSON takes an object of strings (null: none).
func (a *answersJSON) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*a = nil
		return nil
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New("answers must be an object of strings by question id")
	}
	*a = m
	return nil
}

// questionView is one question as the booking form shows it.
type questionView struct {
	ID, Name, Label, Kind, Value, Error string
	Required                            bool
	Max                                 int
	Choices                             []choiceView
}

type choiceView struct {
	ID, Value string
	Checked   bool
}

// questionViews are qs as form f shows them, with what was typed.
func questionViews(qs []Question, f *formView) []questionView {
	out := make([]questionView, len(qs))
	for i, q := range qs {
		v := questionView{ID: f.Prefix + "-q-" + q.ID, Name: q.Field(), Label: q.Label, Kind: q.Kind,
			Value: f.Values[q.Field()], Error: f.Errors[q.Field()], Required: q.Required, Max: q.maxLen()}
		for j, c := range q.Choices {
			v.Choices = append(v.Choices, choiceView{ID: fmt.Sprintf("%s-%d", v.ID, j), Value: c, Checked: c == v.Value})
		}
		out[i] = v
	}
	return out
}
