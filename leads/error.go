// Package leads is leadbook's system of record: it opens the SQLite
// database, applies the embedded migrations and owns every table (leads,
// bookings, the mail outbox, spam quarantine, staff, sessions, tokens, audit).
package leads

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Handlers map them to HTTP statuses; nothing in this package
// knows about HTTP.
const (
	EINVALID  = "invalid"
	ECONFLICT = "conflict"
	ENOTFOUND = "not_found"
	EINTERNAL = "internal"
	// ETOOMANY: a limit was reached; Error.Retry says when it lifts.
	ETOOMANY = "too_many"
	// EUNAVAILABLE: too busy just now; Error.Retry says when to try again.
	EUNAVAILABLE = "unavailable"
)

// Error is a domain error with a machine-readable code, a message safe to
// show to a user, and, for EINVALID, a message per field.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	// Retry, for ETOOMANY and EUNAVAILABLE, is how long until a new try
	// can succeed.
	Retry time.Duration
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("leads: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("leads: %s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the message of an
// *Error, and a generic text for anything else, so internal details never
// reach a visitor.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
