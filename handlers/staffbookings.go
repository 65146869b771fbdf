package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
)

// staffMoveDays is how many days of open slots the host's move picker
// offers.
const staffMoveDays = 14

// hostForm is what the booking page's forms hold: what was typed, and the
// errors to show beside it.
type hostForm struct {
	Message string
	Rebook  bool
	Start   string
	Outcome string
	Errors  map[string]string
	// Form names the form a refusal is about: "cancel", "move" or
	// "outcome".
	Form  string
	Error string // a refusal of the whole form (409)
}

type hostCancelRequest struct {
	Message string   `form:"message" json:"message"`
	Rebook  checkbox `form:"rebook" json:"rebook"`
}

type hostMoveRequest struct {
	Start string `form:"start" json:"start"`
}

type hostOutcomeRequest struct {
	Outcome string `form:"outcome" json:"outcome"`
}

// staffBookingJSON is a booking in the staff routes' JSON answers: no
// manage link.
type staffBookingJSON struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Sequence int    `json:"sequence"`
	LeadID   int64  `json:"lead_id"`
}

func toStaffJSON(b *leads.Booking) staffBookingJSON {
	return staffBookingJSON{ID: b.ID, Status: b.State(), Start: b.Start.UTC().Format(time.RFC3339),
		End: b.End.UTC().Format(time.RFC3339), Sequence: b.Sequence, LeadID: b.LeadID}
}

// moveChoice is one open slot of the host's move picker.
type moveChoice struct {
	Value, Label      string
	Selected, Current bool // Current: the call's own time, shown in its place, not to be picked
}

func (s *Server) staffBooking(c echo.Context) (*leads.Booking, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	b, err := s.staff.Store.FindBooking(c.Request().Context(), id)
	if err != nil {
		if leads.ErrorCode(err) == leads.ENOTFOUND {
			return nil, echo.NewHTTPError(http.StatusNotFound, "There is no booking with this number.")
		}
		return nil, err
	}
	return b, nil
}

func (s *Server) handleStaffBooking(c echo.Context) error {
	b, err := s.staffBooking(c)
	if err != nil {
		return err
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, toStaffJSON(b))
	}
	return s.renderStaffBooking(c, http.StatusOK, b, hostForm{})
}

// renderStaffBooking shows a call, its actions, its mail (without manage
// links: the mail table shows none of a payload) and its history.
func (s *Server) renderStaffBooking(c echo.Context, status int, b *leads.Booking, f hostForm) error {
	ctx := c.Request().Context()
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	mail, err := s.staff.Store.ListMail(ctx, leads.MailFilter{BookingID: b.ID, Limit: 200})
	if err != nil {
		return err
	}
	history, err := s.staff.Store.BookingHistory(ctx, b.ID)
	if err != nil {
		return err
	}
	now := s.now()
	ceoZone := s.svc.CEOZone(ctx)
	visitorZone, _ := s.visitorZone(b.Timezone)
	live := b.Live() && !b.HoldExpired(now)
	ended := !b.End.After(now)
	data := map[string]any{
		"Booking": b, "State": b.State(), "Form": f, "Notice": c.QueryParam("notice"),
		"CEOTime": mailer.FormatSpan(b.Start, b.End, ceoZone), "VisitorTime": mailer.FormatSpan(b.Start, b.End, visitorZone),
		"UTCTime": mailer.FormatSpan(b.Start, b.End, time.UTC), "Mail": mail, "History": history,
		"CanCancel": live && !ended, "CanMove": live && !b.Held() && !ended, "CanMark": live && !b.Held() && ended,
		"Held": b.Held() && live, "MaxMessage": booking.MaxHostMessage,
		"Where": s.staffBookingViews([]leads.Booking{*b})[0].Where,
	}
	if data["CanMove"] == true {
		open, err := s.svc.OpenSlots(ctx, now, now.Add(staffMoveDays*24*time.Hour))
		if err != nil {
			return err
		}
		choices := make([]moveChoice, 0, len(open.Slots)+1)
		label := func(t time.Time) string {
			return t.In(ceoZone).Format("Mon 2 Jan 15:04") + " (" + ceoZone.String() + ")"
		}
		current := b.Start.After(now)
		for _, sl := range open.Slots {
			if current && !sl.Start.Before(b.Start) {
				current = false
				if !sl.Start.Equal(b.Start) {
					choices = append(choices, moveChoice{Label: label(b.Start), Current: true})
				}
			}
			v := sl.Start.UTC().Format(time.RFC3339)
			choices = append(choices, moveChoice{Value: v, Label: label(sl.Start), Selected: v == f.Start})
		}
		if current && b.Start.Before(now.Add(staffMoveDays*24*time.Hour)) {
			choices = append(choices, moveChoice{Label: label(b.Start), Current: true})
		}
		data["Slots"] = choices
	}
	return s.renderStaff(c, status, "staff_booking", "Booking "+strconv.FormatInt(b.ID, 10), "bookings", data)
}

// hostRefused answers a host action the store or the service refused: 422
// with the field errors (the form again, input kept), 409 for a conflict
// (the call was cancelled meanwhile, the slot is taken), 404 for a
// booking that is gone.
func (s *Server) hostRefused(c echo.Context, b *leads.Booking, f hostForm, err error) error {
	var status int
	switch leads.ErrorCode(err) {
	case leads.EINVALID:
		status = http.StatusUnprocessableEntity
		f.Errors = fieldErrors(err)
		if len(f.Errors) == 0 {
			f.Error = leads.ErrorMessage(err)
		}
	case leads.ECONFLICT:
		status = http.StatusConflict
		f.Error = leads.ErrorMessage(err)
	case leads.ENOTFOUND:
		return echo.NewHTTPError(http.StatusNotFound, "There is no booking with this number.")
	default:
		return err
	}
	if wantsJSON(c.Request()) {
		body := map[string]any{"error": leads.ErrorMessage(err)}
		if len(f.Errors) > 0 {
			body["error"], body["fields"] = msgInvalid, f.Errors
		}
		return c.JSON(status, body)
	}
	if fresh, ferr := s.staff.Store.FindBooking(c.Request().Context(), b.ID); ferr == nil {
		b = fresh
	}
	return s.renderStaffBooking(c, status, b, f)
}

func (s *Server) hostDone(c echo.Context, b *leads.Booking, notice string) error {
	s.deps.Outbox.Wake()
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, toStaffJSON(b))
	}
	return c.Redirect(http.StatusSeeOther, "/staff/bookings/"+strconv.FormatInt(b.ID, 10)+"?notice="+notice)
}

func (s *Server) handleHostCancel(c echo.Context) error {
	b, err := s.staffBooking(c)
	if err != nil {
		return err
	}
	var req hostCancelRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f := hostForm{Form: "cancel", Message: req.Message, Rebook: bool(req.Rebook)}
	done, err := s.svc.CancelByHost(c.Request().Context(), booking.HostCancel{ID: b.ID, Message: req.Message,
		Rebook: bool(req.Rebook), By: authOf(c).actor})
	if err != nil {
		return s.hostRefused(c, b, f, err)
	}
	notice := "cancelled"
	if req.Rebook {
		notice = "rebook"
	}
	return s.hostDone(c, done, notice)
}

func (s *Server) handleHostMove(c echo.Context) error {
	b, err := s.staffBooking(c)
	if err != nil {
		return err
	}
	var req hostMoveRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f := hostForm{Form: "move", Start: req.Start}
	start, perr := parseStart(req.Start)
	if perr != nil {
		return s.hostRefused(c, b, f, booking.ErrStartRequired)
	}
	moved, err := s.svc.MoveByHost(c.Request().Context(), b.ID, start, authOf(c).actor)
	if err != nil {
		if errors.Is(err, leads.ErrSlotTaken) {
			err = leads.Errorf(leads.ECONFLICT, "That time is not free (or not offered). Please pick another.")
		}
		return s.hostRefused(c, b, f, err)
	}
	return s.hostDone(c, moved, "moved")
}

func (s *Server) handleHostOutcome(c echo.Context) error {
	b, err := s.staffBooking(c)
	if err != nil {
		return err
	}
	var req hostOutcomeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f := hostForm{Form: "outcome", Outcome: req.Outcome}
	if req.Outcome != leads.OutcomeCompleted && req.Outcome != leads.OutcomeNoShow {
		return s.hostRefused(c, b, f, &leads.Error{Code: leads.EINVALID, Message: "Please choose what became of the call.",
			Fields: map[string]string{"outcome": "Please choose: the call took place, or the visitor did not come."}})
	}
	marked, err := s.svc.MarkOutcome(c.Request().Context(), b.ID, req.Outcome, authOf(c).actor)
	if err != nil {
		return s.hostRefused(c, b, f, err)
	}
	return s.hostDone(c, marked, "marked")
}
