package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
)

// optional is a request field that may be left out: Set says whether the
// request had it. A form posts every field; a JSON body names only what
// it changes (null, like "", clears).
type optional struct {
	Value string
	Set   bool
}

// UnmarshalParam implements echo.BindUnmarshaler.
func (o *optional) UnmarshalParam(s string) error {
	o.Value, o.Set = s, true
	return nil
}

// UnmarshalJSON accepts a string, a number (an owner's id) or null.
func (o *optional) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		o.Value = v
	case float64:
		o.Value = strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		o.Value = ""
	default:
		return errors.New("a field must be a string, a number or null")
	}
	o.Set = true
	return nil
}

// pipelineRequest is the lead page's pipeline form: status (with the
// reason when lost), owner (a staff account's id, "" for nobody) and the
// next step's day (YYYY-MM-DD, "" for none).
type pipelineRequest struct {
	Status     optional `form:"status" json:"status"`
	LostReason string   `form:"lost_reason" json:"lost_reason"`
	Owner      optional `form:"owner" json:"owner"`
	NextStepAt optional `form:"next_step_at" json:"next_step_at"`
}

type noteRequest struct {
	Note string `form:"note" json:"note"`
}

// pipelineForm is what the lead page's forms show: the values (as typed,
// after a refusal) and the message per field.
type pipelineForm struct {
	Status, LostReason, Owner, NextStepAt, Note string
	Errors                                      map[string]string
}

func formOf(l *leads.Lead) pipelineForm {
	f := pipelineForm{Status: l.Status, LostReason: l.LostReason, NextStepAt: l.NextStepAt}
	if l.OwnerID != 0 {
		f.Owner = strconv.FormatInt(l.OwnerID, 10)
	}
	return f
}

// leadPipelineJSON is a lead's pipeline as the JSON answers give it.
type leadPipelineJSON struct {
	ID         int64             `json:"id"`
	Status     string            `json:"status"`
	LostReason string            `json:"lost_reason,omitempty"`
	OwnerID    *int64            `json:"owner_id"`
	Owner      *string           `json:"owner"`
	NextStepAt *string           `json:"next_step_at"`
	UpdatedAt  string            `json:"updated_at"`
	Events     []leads.LeadEvent `json:"events"`
}

func pipelineJSON(up *leads.LeadUpdate) leadPipelineJSON {
	l := up.Lead
	j := leadPipelineJSON{ID: l.ID, Status: l.Status, LostReason: l.LostReason, UpdatedAt: l.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		Events: up.Events}
	if l.OwnerID != 0 {
		j.OwnerID, j.Owner = &l.OwnerID, &l.OwnerEmail
	}
	if l.NextStepAt != "" {
		j.NextStepAt = &l.NextStepAt
	}
	if j.Events == nil {
		j.Events = []leads.LeadEvent{}
	}
	return j
}

// handleLeadPipeline changes a lead's status, owner or next step. A form
// gets 303 back to the lead page; JSON the lead's pipeline and the
// timeline events written. Bad input is 422 with the field's message: the
// page again with what was typed, or JSON fields.
func (s *Server) handleLeadPipeline(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req pipelineRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	var ch leads.PipelineChange
	if req.Status.Set {
		st := strings.TrimSpace(req.Status.Value)
		ch.Status = &st
	}
	ch.LostReason = req.LostReason
	var ownerErr string
	if req.Owner.Set {
		var owner int64
		if v := strings.TrimSpace(req.Owner.Value); v != "" {
			if owner, err = strconv.ParseInt(v, 10, 64); err != nil || owner <= 0 {
				ownerErr = "Please choose an owner from the list."
			}
		}
		ch.OwnerID = &owner
	}
	if req.NextStepAt.Set {
		day := strings.TrimSpace(req.NextStepAt.Value)
		ch.NextStepAt = &day
	}
	typed := pipelineForm{Status: req.Status.Value, LostReason: req.LostReason, Owner: req.Owner.Value, NextStepAt: req.NextStepAt.Value}
	var up *leads.LeadUpdate
	if ownerErr != "" {
		err = &leads.Error{Code: leads.EINVALID, Message: msgInvalid, Fields: map[string]string{"owner": ownerErr}}
	} else {
		up, err = s.staff.Store.UpdateLeadPipeline(c.Request().Context(), id, ch, authOf(c).actor)
	}
	return s.answerPipeline(c, id, up, err, func(f *pipelineForm, l *leads.Lead) {
		if !req.Status.Set {
			typed.Status = l.Status
		}
		if !req.Owner.Set {
			typed.Owner = formOf(l).Owner
		}
		if !req.NextStepAt.Set {
			typed.NextStepAt = l.NextStepAt
		}
		typed.Errors = f.Errors
		*f = typed
	})
}

// handleLeadNote adds a note to a lead's timeline, answered as
// handleLeadPipeline answers.
func (s *Server) handleLeadNote(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req noteRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	up, err := s.staff.Store.UpdateLeadPipeline(c.Request().Context(), id, leads.PipelineChange{Note: req.Note}, authOf(c).actor)
	return s.answerPipeline(c, id, up, err, func(f *pipelineForm, l *leads.Lead) {
		// The pipeline form shows the lead as it is; the note form what was typed.
		errs := f.Errors
		*f = formOf(l)
		f.Note, f.Errors = req.Note, errs
	})
}

// answerPipeline answers a pipeline or note request: 303 (or JSON) after
// a change, 422 with the fields' messages after a refusal (keep fills the
// form in from the request), any other error as the error handler does.
func (s *Server) answerPipeline(c echo.Context, id int64, up *leads.LeadUpdate, err error, keep func(f *pipelineForm, l *leads.Lead)) error {
	if leads.ErrorCode(err) == leads.EINVALID {
		fields := fieldErrors(err)
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": fields})
		}
		l, ferr := s.staff.Store.FindLead(c.Request().Context(), id)
		if ferr != nil {
			return ferr
		}
		f := pipelineForm{Errors: fields}
		keep(&f, l)
		return s.renderLead(c, http.StatusUnprocessableEntity, l, f)
	}
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, pipelineJSON(up))
	}
	notice := "updated"
	if len(up.Events) == 0 {
		notice = "unchanged"
	}
	return c.Redirect(http.StatusSeeOther, "/staff/leads/"+strconv.FormatInt(id, 10)+"?notice="+notice)
}

// ownerFilter reads the leads list's owner filter: "me", "none" or an
// account's id; "" for anyone.
func ownerFilter(c echo.Context, f *leads.LeadFilter) error {
	switch v := c.QueryParam("owner"); v {
	case "":
	case "me":
		if a := authOf(c); a != nil && a.staff != nil {
			f.OwnerID = a.staff.ID
		}
	case "none":
		f.Unowned = true
	default:
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return echo.NewHTTPError(http.StatusBadRequest, "Owner is me, none or an account's number.")
		}
		f.OwnerID = id
	}
	return nil
}

// staffEmails maps the accounts' ids to their addresses, for the owner
// columns and choices.
func staffEmails(list []leads.Staff) map[int64]string {
	m := make(map[int64]string, len(list))
	for _, st := range list {
		m[st.ID] = st.Email
	}
	return m
}
