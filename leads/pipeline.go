package leads

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Lead statuses, in pipeline order.
const (
	StatusNew       = "new"
	StatusContacted = "contacted"
	StatusQualified = "qualified"
	StatusWon       = "won"
	StatusLost      = "lost"
)

// Statuses are the lead statuses in pipeline order.
var Statuses = []string{StatusNew, StatusContacted, StatusQualified, StatusWon, StatusLost}

// ValidStatus reports whether s is a lead status.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Caps on what staff type into the pipeline, in characters.
const (
	MaxNote       = 5000
	MaxLostReason = 500
)

// Timeline event kinds.
const (
	EventNote     = "note"
	EventStatus   = "status"
	EventOwner    = "owner"
	EventNextStep = "next_step"
)

// AuditLeadUpdate is the audit action of a pipeline change or note.
const AuditLeadUpdate = "lead_update"

// LeadEvent is one entry of a lead's timeline: a note (Body) or a change
// of status, owner or next step from Old to New (Body holds the reason a
// lead was lost). Actor is who did it (Actor.String); StaffEmail the
// account's address while it exists. An owner change holds the owners'
// addresses as they were then.
type LeadEvent struct {
	ID         int64     `json:"id"`
	LeadID     int64     `json:"lead_id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	StaffEmail string    `json:"staff_email,omitempty"`
	Kind       string    `json:"kind"`
	Old        string    `json:"old,omitempty"`
	New        string    `json:"new,omitempty"`
	Body       string    `json:"body,omitempty"`
}

// Who names who made the event: the account's address, or the actor.
func (e *LeadEvent) Who() string {
	if e.StaffEmail != "" {
		return e.StaffEmail
	}
	return e.Actor
}

// PipelineChange is a change to a lead's place in the pipeline. A nil
// field is left as it is; Note, when not empty, is added to the timeline.
type PipelineChange struct {
	// Status is one of Statuses; StatusLost needs LostReason.
	Status     *string
	LostReason string
	// OwnerID is the staff account that takes the lead; 0 leaves it
	// without an owner.
	OwnerID *int64
	// NextStepAt is the day of the next step, YYYY-MM-DD; "" clears it.
	NextStepAt *string
	Note       string
}

// LeadUpdate is what UpdateLeadPipeline did: the lead as it is now and
// the timeline events it wrote (none when nothing changed).
type LeadUpdate struct {
	Lead   *Lead
	Events []LeadEvent
}

// ParseDay reads a next-step day: YYYY-MM-DD, between the years 2000 and
// 9999. It returns the day as stored.
func ParseDay(s string) (string, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 2000 {
		return "", Errorf(EINVALID, "Please enter a date as YYYY-MM-DD.")
	}
	return t.Format(time.DateOnly), nil
}

// dayOf turns a stored day into YYYY-MM-DD: SQLite holds the text, and a
// PostgreSQL date arrives as a time at midnight UTC (RFC 3339).
func dayOf(s string) string {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// normalize tidies ch and checks it, returning an EINVALID *Error with a
// message per bad field (status, lost_reason, next_step_at, note).
func (ch *PipelineChange) normalize() error {
	fields := map[string]string{}
	ch.Note = multiLine(ch.Note)
	ch.LostReason = SingleLine(ch.LostReason)
	if ch.Status != nil {
		switch {
		case !ValidStatus(*ch.Status):
			fields["status"] = "Please choose a status from the list."
		case *ch.Status == StatusLost && ch.LostReason == "":
			fields["lost_reason"] = "Please say why the lead was lost."
		case utf8.RuneCountInString(ch.LostReason) > MaxLostReason:
			fields["lost_reason"] = fmt.Sprintf("Please keep this under %d characters.", MaxLostReason+1)
		}
		if *ch.Status != StatusLost {
			ch.LostReason = ""
		}
	}
	if ch.NextStepAt != nil && *ch.NextStepAt != "" {
		day, err := ParseDay(*ch.NextStepAt)
		if err != nil {
			fields["next_step_at"] = "Please enter a date as YYYY-MM-DD."
		} else {
			ch.NextStepAt = &day
		}
	}
	if ch.OwnerID != nil && *ch.OwnerID < 0 {
		fields["owner"] = "Please choose an owner from the list."
	}
	if utf8.RuneCountInString(ch.Note) > MaxNote {
		fields["note"] = fmt.Sprintf("Please keep this under %d characters.", MaxNote+1)
	}
	if ch.Status == nil && ch.OwnerID == nil && ch.NextStepAt == nil && ch.Note == "" {
		fields["note"] = "Please write a note."
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: fields}
	}
	return nil
}

// AddLeadNote adds a note to a lead's timeline: UpdateLeadPipeline with
// only a note.
func (s *Store) AddLeadNote(ctx context.Context, leadID int64, note string, by Actor) (*LeadUpdate, error) {
	return s.UpdateLeadPipeline(ctx, leadID, PipelineChange{Note: note}, by)
}

// UpdateLeadPipeline applies ch to the lead: every pipeline change and
// note goes through here. In one transaction it locks the lead's row,
// writes what differs, records each difference (and the note) in the
// timeline, raises updated_at and appends one audit entry naming the
// lead and what changed (never the note's or reason's text). A change
// that changes nothing writes nothing. Bad input is an EINVALID *Error
// per field; an unknown lead ENOTFOUND.
func (s *Store) UpdateLeadPipeline(ctx context.Context, leadID int64, ch PipelineChange, by Actor) (*LeadUpdate, error) {
	if err := ch.normalize(); err != nil {
		return nil, err
	}
	var up *LeadUpdate
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		up = &LeadUpdate{}
		now := s.now()
		// The lock: setting updated_at to itself takes the row (on
		// PostgreSQL, until the end of tx) and hands back the values
		// the change is compared with.
		var (
			cur      PipelineState
			owner    sql.NullInt64
			nextStep sql.NullString
		)
		err := tx.QueryRowContext(ctx, `UPDATE leads SET updated_at = updated_at WHERE id = ?
			RETURNING status, lost_reason, owner_id, next_step_at`, leadID).Scan(&cur.Status, &cur.LostReason, &owner, &nextStep)
		if isNoRows(err) {
			return Errorf(ENOTFOUND, "Lead not found.")
		}
		if err != nil {
			return fmt.Errorf("leads: update pipeline: %w", err)
		}
		cur.OwnerID, cur.NextStepAt = owner.Int64, dayOf(nextStep.String)
		next := cur
		add := func(kind, old, new, body string) {
			up.Events = append(up.Events, LeadEvent{LeadID: leadID, At: now, Actor: by.String(), Kind: kind, Old: old, New: new, Body: body})
		}
		detail := map[string]any{}
		if ch.Status != nil && (*ch.Status != cur.Status || ch.LostReason != cur.LostReason) {
			next.Status, next.LostReason = *ch.Status, ch.LostReason
			add(EventStatus, cur.Status, next.Status, next.LostReason)
			detail["status"] = next.Status
		}
		if ch.OwnerID != nil && *ch.OwnerID != cur.OwnerID {
			next.OwnerID = *ch.OwnerID
			oldEmail, err := staffEmail(ctx, tx, cur.OwnerID)
			if err != nil {
				return err
			}
			newEmail, err := staffEmail(ctx, tx, next.OwnerID)
			if err != nil {
				return err
			}
			if next.OwnerID != 0 && newEmail == "" {
				return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.",
					Fields: map[string]string{"owner": "Please choose an owner from the list."}}
			}
			add(EventOwner, oldEmail, newEmail, "")
			detail["owner"] = Actor{Kind: "staff", ID: next.OwnerID}.String()
			if next.OwnerID == 0 {
				detail["owner"] = ""
			}
		}
		if ch.NextStepAt != nil && *ch.NextStepAt != cur.NextStepAt {
			next.NextStepAt = *ch.NextStepAt
			add(EventNextStep, cur.NextStepAt, next.NextStepAt, "")
			detail["next_step_at"] = next.NextStepAt
		}
		if ch.Note != "" {
			add(EventNote, "", "", ch.Note)
		}
		if len(up.Events) == 0 {
			up.Lead, err = findLead(ctx, tx, leadID)
			return err
		}
		if next != cur {
			if _, err := tx.ExecContext(ctx, `UPDATE leads SET status = ?, lost_reason = ?, owner_id = ?, next_step_at = ?, updated_at = ?
				WHERE id = ?`, next.Status, next.LostReason, nullInt(next.OwnerID), nullString(next.NextStepAt), formatTime(now), leadID); err != nil {
				return fmt.Errorf("leads: update pipeline: %w", err)
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE leads SET updated_at = ? WHERE id = ?`, formatTime(now), leadID); err != nil {
			return fmt.Errorf("leads: update pipeline: %w", err)
		}
		var staffID any
		if by.Kind == "staff" && by.ID != 0 {
			staffID = by.ID
		}
		for i := range up.Events {
			e := &up.Events[i]
			if err := tx.QueryRowContext(ctx, `INSERT INTO lead_events (lead_id, at, actor, staff_id, kind, old_value, new_value, body)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.LeadID, formatTime(e.At), e.Actor, staffID, e.Kind, e.Old, e.New, e.Body).Scan(&e.ID); err != nil {
				return fmt.Errorf("leads: update pipeline: timeline: %w", err)
			}
			if e.Kind == EventNote {
				detail["note"] = e.ID
			}
		}
		d, _ := json.Marshal(detail)
		if err := appendAudit(ctx, tx, now, by, AuditLeadUpdate, "lead:"+strconv.FormatInt(leadID, 10), string(d)); err != nil {
			return err
		}
		if up.Lead, err = findLead(ctx, tx, leadID); err != nil {
			return err
		}
		return leadEvent(ctx, tx, now, EventLeadUpdated, up.Lead)
	})
	if err != nil {
		return nil, err
	}
	return up, nil
}

// PipelineState is a lead's place in the pipeline.
type PipelineState struct {
	Status, LostReason string
	OwnerID            int64
	NextStepAt         string
}

// staffEmail returns the address of account id, "" for 0 or an account
// that does not exist.
func staffEmail(ctx context.Context, tx *sql.Tx, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	var email string
	err := tx.QueryRowContext(ctx, `SELECT email FROM staff WHERE id = ?`, id).Scan(&email)
	if isNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("leads: staff email: %w", err)
	}
	return email, nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// LeadTimeline returns a lead's notes and changes, newest first. A lead
// without any has an empty timeline; an unknown lead is ENOTFOUND.
func (s *Store) LeadTimeline(ctx context.Context, leadID int64) ([]LeadEvent, error) {
	if _, err := findLead(ctx, s.r, leadID); err != nil {
		return nil, err
	}
	return queryEvents(ctx, s.r, `WHERE e.lead_id = ? ORDER BY e.id DESC`, leadID)
}

func queryEvents(ctx context.Context, q rowsQueryer, where string, args ...any) ([]LeadEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.lead_id, e.at, e.actor, COALESCE(s.email, ''), e.kind, e.old_value, e.new_value, e.body
		FROM lead_events e LEFT JOIN staff s ON s.id = e.staff_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("leads: timeline: %w", err)
	}
	defer rows.Close()
	out := []LeadEvent{}
	for rows.Next() {
		var (
			e  LeadEvent
			at string
		)
		if err := rows.Scan(&e.ID, &e.LeadID, &at, &e.Actor, &e.StaffEmail, &e.Kind, &e.Old, &e.New, &e.Body); err != nil {
			return nil, fmt.Errorf("leads: timeline: %w", err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: timeline: %w", err)
	}
	return out, nil
}

// StatusCount is how many leads have one status.
type StatusCount struct {
	Status string
	Leads  int
}

// StatusCounts returns the number of leads per status, every status in
// pipeline order, zeros included.
func (s *Store) StatusCounts(ctx context.Context) ([]StatusCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, COUNT(*) FROM leads GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("leads: status counts: %w", err)
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var (
			st string
			k  int
		)
		if err := rows.Scan(&st, &k); err != nil {
			return nil, fmt.Errorf("leads: status counts: %w", err)
		}
		n[st] = k
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: status counts: %w", err)
	}
	out := make([]StatusCount, len(Statuses))
	for i, st := range Statuses {
		out[i] = StatusCount{Status: st, Leads: n[st]}
	}
	return out, nil
}
