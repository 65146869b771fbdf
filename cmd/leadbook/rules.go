package main

import (
	"fmt"
	"strings"

	"leadbook/handlers"
	"leadbook/leads"
)

// checkRules describes the booking rules in force, one line each: the
// environment's values overridden by those an admin saved on the
// settings page, and where each comes from.
func checkRules(cfg *config, stored storedSettings) (string, []string, error) {
	if stored.err != nil {
		return "", nil, stored.err
	}
	_, values := handlers.ResolveRules(cfg.rules(), stored.settings)
	fromDB := 0
	var lines []string
	for _, v := range values {
		src := "environment, " + v.Env
		if v.FromDatabase() {
			fromDB++
			src = fmt.Sprintf("database, set by %s at %s; %s gives %q", v.Stored.UpdatedBy,
				v.Stored.UpdatedAt.UTC().Format("2006-01-02 15:04Z"), v.Env, v.Environment)
		}
		if v.Error != "" {
			src += fmt.Sprintf("; the database's %q is not applied: %s", v.Stored.Value, v.Error)
		}
		lines = append(lines, fmt.Sprintf("     rule %-14s %s (%s)", v.Name, orNone(v.Value), src))
	}
	return fmt.Sprintf("booking rules in force, %d of %d from the database", fromDB, len(values)), lines, nil
}

// storedSettings are the booking settings saved on the settings page, as
// check read them: err says why they could not be read.
type storedSettings struct {
	settings []leads.BookingSetting
	err      error
}

// checkQuestions describes the booking form's questions in force, one
// line each, and where they come from: the settings page's, or
// LEADBOOK_BOOKING_QUESTIONS's.
func checkQuestions(cfg *config, stored storedSettings) (string, []string, error) {
	if stored.err != nil {
		return "", nil, stored.err
	}
	v := handlers.ResolveQuestions(cfg.BookingQuestions, stored.settings)
	src := "environment, " + handlers.QuestionsEnv
	if v.FromDatabase() {
		src = fmt.Sprintf("database, set by %s at %s; %s asks %d", v.Stored.UpdatedBy,
			v.Stored.UpdatedAt.UTC().Format("2006-01-02 15:04Z"), handlers.QuestionsEnv, len(v.Environment))
	}
	if v.Error != "" {
		src += "; the database's are not applied: " + v.Error
	}
	var lines []string
	for _, q := range v.Questions {
		kind := q.Kind
		if q.Kind == handlers.QuestionChoice {
			kind += " (" + strings.Join(q.Choices, " | ") + ")"
		}
		if q.Required {
			kind += ", required"
		}
		lines = append(lines, fmt.Sprintf("     question %-14s %q: %s", q.ID, q.Label, kind))
	}
	return fmt.Sprintf("%d booking questions in force (%s)", len(v.Questions), src), lines, nil
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
