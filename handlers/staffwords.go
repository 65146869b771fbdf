package handlers

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// staffWords are the staff pages' words for the codes the store keeps:
// outbox kinds, audit actions, actors and subjects.
var staffWords = map[string]string{
	"lead_confirmation": "Confirmation to the visitor",
	"lead_notification": "New lead to staff",
	"invitation":        "Invitation to the visitor",
	"invitation_ceo":    "Invitation to the CEO",
	"reminder":          "Reminder to the visitor",
	"booking_hold":      "Confirm-your-call mail",
	"sign_in":           "Signed in",
	"sign_in_failed":    "Failed sign-in",
	"sign_out":          "Signed out",
	"export":            "Exported leads",
	"person_export":     "Exported a person's data",
	"erasure":           "Asked for an erasure",
	"erasure_done":      "Erasure done",
	"retention_purge":   "Old data purged",
	"mail_retry":        "Sent a mail again",
	"not_spam":          "Marked as not spam",
	"token_create":      "Created an API token",
	"token_revoke":      "Revoked an API token",
	"staff_add":         "Added a staff member",
	"staff_remove":      "Removed a staff member",
	"staff_password":    "Changed a password",
	"system":            "The system",
	"cli":               "The command line",
	"unknown":           "Unknown",
	"visitor":           "The visitor",
	"booking_cancel":    "Cancelled the call",
	"booking_move":      "Moved the call",
	"booking_rebook":    "Asked the visitor to rebook",
	"booking_outcome":   "Marked how the call went",
	"booking_setting":   "Changed a booking setting",
	"lead_update":       "Changed the lead",
	"caldav_delete":     "Deletion from the CEO's calendar",
}

// staffPrefixes name the kinds of "kind:id" actors and subjects.
var staffPrefixes = map[string]string{
	"staff":   "Staff member",
	"token":   "API token",
	"lead":    "Lead",
	"booking": "Booking",
	"outbox":  "Mail",
	"mail":    "Mail",
	"erasure": "Erasure",
}

// words shows a stored code to staff as words: a known code by its name
// ("invitation_ceo": "Invitation to the CEO"), "staff:1" as "Staff member
// #1", and any other snake_case code with spaces ("rate_limited": "Rate
// limited"). Anything else is shown as it is.
func words(code string) string {
	if w, ok := staffWords[code]; ok {
		return w
	}
	if kind, id, ok := strings.Cut(code, ":"); ok && id != "" && strings.Trim(id, "0123456789") == "" {
		if name, ok := staffPrefixes[kind]; ok {
			return name + " #" + id
		}
	}
	if code == "" || strings.Trim(code, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return code
	}
	s := strings.ReplaceAll(code, "_", " ")
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
