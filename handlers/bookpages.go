package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/calendar"
	"leadbook/handlers/booking"
	"leadbook/leads"
	"leadbook/mailer"
)

// pickerDays is how many days the slot picker shows at once.
const pickerDays = 7

// bookingRequest is the booking form as posted, by a browser or as JSON.
type bookingRequest struct {
	Visitor
	Start string `form:"start" json:"start"`
	TZ    string `form:"tz" json:"tz"`
	// Rebook is the token of an "ask to rebook" link: the visitor's
	// details come from the call the host cancelled.
	Rebook string `form:"rebook" json:"rebook"`
	// Answers are a JSON body's answers to the questions, by id; a form
	// posts them as fields q_<id> (see answersIn).
	Answers answersJSON `json:"answers"`

	questions []Question
	given     map[string]string // the answers as typed, by question id
}

func (r *bookingRequest) values() map[string]string {
	v := r.Visitor.values()
	v["start"] = r.Start
	if r.Rebook != "" {
		v["rebook"] = r.Rebook
	}
	for _, q := range r.questions {
		v[q.Field()] = r.given[q.ID]
	}
	return v
}

// keep fills the details the visitor did not send from the lead of the
// call the host cancelled, whose rebook link this is.
func (r *bookingRequest) keep(l *leads.Lead) {
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&r.Name, l.Name}, {&r.Email, l.Email}, {&r.Company, l.Company}, {&r.Phone, l.Phone}, {&r.Message, l.Message},
	} {
		if strings.TrimSpace(*f.dst) == "" {
			*f.dst = f.src
		}
	}
	if l.ConsentVersion != "" {
		r.Consent = true
	}
}

// msgRebookGone answers a rebook link that is not valid or was used.
const msgRebookGone = "This link to book again is not valid, or a call was booked with it already. Please book a new call."

// handleRebookShow opens the slot picker with the details of the visitor
// whose call the host cancelled, from the link in the cancellation.
func (s *Server) handleRebookShow(c echo.Context) error {
	token := c.Param("token")
	_, l, err := s.svc.Rebook(c.Request().Context(), token)
	if err != nil {
		if leads.ErrorCode(err) == leads.ENOTFOUND {
			return echo.NewHTTPError(http.StatusNotFound, msgRebookGone)
		}
		return err
	}
	req := bookingRequest{Rebook: token}
	req.keep(l)
	noStore(c)
	form := &formView{Prefix: "book", Values: req.values(), Errors: map[string]string{}, Status: "success",
		Message: "Your details are kept: please pick a new time for the call."}
	loc, _ := s.visitorZone(c.QueryParam("tz"))
	return s.renderBook(c, http.StatusOK, loc, c.QueryParam("tz") != "", pickerStart(c), form)
}

func (r *bookingRequest) fields() [][2]string {
	f := append([][2]string{{"Start", r.Start}, {"Time zone", r.TZ}}, r.Visitor.fields()...)
	for _, q := range r.questions {
		f = append(f, [2]string{q.Label, r.given[q.ID]})
	}
	return f
}

// slotView is one cell of the picker: a radio button, or with Gap an
// empty cell where that time of day is taken or outside the hours on this
// day, or with Current the call's own time on the move picker. Label is
// the whole span ("09:00–09:30", what a screen reader says); Start is the
// start alone, what the button shows, since the page says how long a call
// is. Tall marks the cells of the row that holds the current time, which
// needs room for its words: the row stays one height across the days.
type slotView struct {
	ID, Value, Label, Start string
	Checked                 bool
	Gap, Current, Tall      bool
}

// dayView is one day of the picker; Weekday and Date are Label abridged
// for a narrow column. Its Slots hold one cell for every time of day that
// any day shown offers, in order, so that the days' rows line up.
type dayView struct {
	Label, Weekday, Date string
	Slots                []slotView
}

// pickerView is the slot picker: days of slots in the visitor's zone.
type pickerView struct {
	Zone        string
	ZoneChosen  bool
	ZoneLabel   string // the zone's friendly name
	Zones       []calendar.ZoneGroup
	Path        string            // the page the zone form reloads
	Keep        map[string]string // query parameters the zone form keeps
	Days        []dayView
	Prev, Next  string
	Action      string
	Empty       bool
	CEOName     string
	CEOZone     string
	SlotMinutes int
}

// picker builds the slot picker for the week starting on from (a date in
// loc), with selected checked. A non-zero current is the call being moved:
// it keeps its place in the grid, marked and not to be chosen.
func (s *Server) picker(ctx context.Context, loc *time.Location, from calendar.Date, selected, basePath string, zoneChosen bool, tokenQuery string, current calendar.Slot) (*pickerView, error) {
	now := s.now()
	today := calendar.DateOf(now.In(loc))
	if from.Before(today) {
		from = today
	}
	winStart, winEnd := from.In(loc), from.AddDays(pickerDays).In(loc)
	open, err := s.svc.OpenSlots(ctx, winStart, winEnd)
	if err != nil {
		return nil, err
	}
	slots, rules := open.Slots, open.Rules
	pv := &pickerView{Zone: loc.String(), ZoneChosen: zoneChosen, Zones: zoneChoices(loc.String(), now),
		ZoneLabel: calendar.ZoneName(loc.String()), Path: basePath, Keep: map[string]string{},
		CEOName: s.booking.CEO.Name, CEOZone: rules.Location.String(),
		SlotMinutes: int(rules.Slot / time.Minute), Empty: len(slots) == 0}
	hasCurrent := !current.Start.IsZero() && !current.Start.Before(winStart) && current.Start.Before(winEnd)
	if hasCurrent {
		i := sort.Search(len(slots), func(i int) bool { return !slots[i].Start.Before(current.Start) })
		if i < len(slots) && slots[i].Start.Equal(current.Start) {
			hasCurrent = false // open again (the call moved meanwhile): the button stays
		} else {
			slots = append(slots[:i:i], append([]calendar.Slot{current}, slots[i:]...)...)
		}
	}
	pv.Days = pickerGrid(slots, loc, selected, current, hasCurrent)
	q := func(d calendar.Date) string {
		v := url.Values{"from": {d.String()}}
		if zoneChosen {
			v.Set("tz", loc.String())
		}
		return basePath + "?" + v.Encode() + tokenQuery
	}
	if today.Before(from) {
		pv.Prev = q(from.AddDays(-pickerDays))
	}
	if next := from.AddDays(pickerDays); next.In(rules.Location).Before(rules.HorizonEnd(now)) {
		pv.Next = q(next)
	}
	return pv, nil
}

// pickerGrid lays slots out as days of rows, one row a time of day: a day
// that lacks a time another day offers gets an empty cell there. A time
// of day is its clock reading in loc; on a day when the clock goes back
// the repeated reading carries its offset, so it stays a row of its own.
func pickerGrid(slots []calendar.Slot, loc *time.Location, selected string, current calendar.Slot, hasCurrent bool) []dayView {
	type cell struct {
		key string
		v   slotView
	}
	var days []dayView
	var cells [][]cell
	var curDate calendar.Date
	times := map[string]bool{}
	tall := ""
	for i, sl := range slots {
		st := sl.Start.In(loc)
		if d := calendar.DateOf(st); len(days) == 0 || d != curDate {
			days = append(days, dayView{Label: st.Format("Monday, 2 January"), Weekday: st.Format("Mon"), Date: st.Format("2 Jan")})
			cells = append(cells, nil)
			curDate = d
		}
		key := st.Format("15:04")
		row := cells[len(cells)-1]
		for _, c := range row {
			if c.key == key {
				key = st.Format("15:04 Z07:00")
				break
			}
		}
		v := st.Format(time.RFC3339)
		sv := slotView{
			ID: fmt.Sprintf("slot-%d", i), Value: v, Checked: v == selected, Start: st.Format("15:04"),
			Label: st.Format("15:04") + "–" + sl.End.In(loc).Format("15:04"),
		}
		if hasCurrent && sl.Start.Equal(current.Start) {
			sv.ID, sv.Value, sv.Checked, sv.Current = "", "", false, true
			tall = key
		}
		cells[len(cells)-1] = append(row, cell{key, sv})
		times[key] = true
	}
	keys := make([]string, 0, len(times))
	for k := range times {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for d, row := range cells {
		at := map[string]slotView{}
		for _, c := range row {
			at[c.key] = c.v
		}
		out := make([]slotView, 0, len(keys))
		for _, k := range keys {
			v, ok := at[k]
			if !ok {
				v = slotView{Gap: true, Start: k[:5]}
			}
			v.Tall = k == tall
			out = append(out, v)
		}
		days[d].Slots = out
	}
	return days
}

// zoneChoices is every zone of the picker, by region, with the current
// one first when the list lacks it (a zone such as Etc/GMT+5).
func zoneChoices(current string, now time.Time) []calendar.ZoneGroup {
	groups := calendar.ZoneGroups(now)
	for _, g := range groups {
		for _, z := range g.Zones {
			if z.Name == current {
				return groups
			}
		}
	}
	loc, err := calendar.LoadZone(current)
	if err != nil {
		return groups
	}
	_, off := now.In(loc).Zone()
	cur := calendar.ZoneChoice{Name: current, Label: calendar.FormatOffset(off) + " · " + current, Search: current}
	return append([]calendar.ZoneGroup{{Region: "Current", Zones: []calendar.ZoneChoice{cur}}}, groups...)
}

func pickerStart(c echo.Context) calendar.Date {
	d, err := calendar.ParseDate(c.QueryParam("from"))
	if err != nil {
		return calendar.Date{}
	}
	return d
}

func (s *Server) handleBookShow(c echo.Context) error {
	loc, _ := s.visitorZone(c.QueryParam("tz"))
	return s.renderBook(c, http.StatusOK, loc, c.QueryParam("tz") != "", pickerStart(c), nil)
}

// renderBook shows the booking page; req carries a failed submission to
// show again.
func (s *Server) renderBook(c echo.Context, status int, loc *time.Location, zoneChosen bool, from calendar.Date, form *formView) error {
	if form == nil {
		form = &formView{Prefix: "book", Values: map[string]string{}, Errors: map[string]string{}}
	}
	form.ConsentText = BookingConsentText
	if form.Token == "" {
		form.Token = s.tokens.issue(s.now())
	}
	base := "/book"
	if tok := form.Values["rebook"]; tok != "" {
		base = "/bookings/" + tok + "/rebook" // the week and zone links keep the details
	}
	pv, err := s.picker(c.Request().Context(), loc, from, form.Values["start"], base, zoneChosen, "", calendar.Slot{})
	if err != nil {
		return err
	}
	pv.Action = "/book"
	p := s.page("Free consultation call with our CEO", "Book a free consultation call with our CEO at a time that suits you.", "book",
		map[string]any{"Picker": pv, "Form": form, "Questions": questionViews(s.bookingQuestions(c.Request().Context()), form),
			"PhoneRequired": s.booking.Composer.MeetingPlace().Phone})
	p.Canonical = s.cfg.BaseURL + "/book"
	body, err := s.pages.render("book", p)
	if err != nil {
		return err
	}
	signed := ""
	if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
		_, signed = s.visit(c)
	} else if v := c.FormValue(carryParam); v != "" {
		if _, ok := s.carry.parse(v, s.now()); ok {
			signed = v
		}
	}
	return s.serveCarried(c, status, body, signed)
}

// Messages of the booking and contact forms beyond CONTENT.md's.
const (
	msgExpired = "This form was open for a long time and has expired. Your details are still here: please check them and send the form again."
	msgConfirm = "Please check your booking and confirm it."
	msgHeld    = "We have sent you an email with a link to confirm your call. The time is held for you until then."
)

func (s *Server) handleBookingCreate(c echo.Context) error {
	var req bookingRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	req.questions = s.bookingQuestions(ctx)
	given := map[string]string(req.Answers)
	if given == nil && strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) {
		given = map[string]string{}
	}
	req.given = answersIn(req.questions, c.FormValue, given)
	req.Answers = answersJSON(req.given) // held as spam, the answers go with the rest
	loc, _ := s.visitorZone(req.TZ)
	if err := s.allow(c); err != nil {
		return s.bookAnswer(c, &req, loc, http.StatusTooManyRequests, "invalid", httpMessage(err), nil, nil)
	}
	if req.Rebook != "" {
		_, kept, err := s.svc.Rebook(ctx, req.Rebook)
		if err != nil {
			if leads.ErrorCode(err) == leads.ENOTFOUND {
				req.Rebook = ""
				return s.bookAnswer(c, &req, loc, http.StatusConflict, "error", msgRebookGone, nil, nil)
			}
			return err
		}
		req.keep(kept)
	}
	verdict, reason := s.screen(req.Website, req.Token, true)
	switch verdict {
	case screenSpam:
		s.holdSpam(c, "booking", reason, &req)
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusAccepted, map[string]string{"message": msgThanks})
		}
		return c.Redirect(http.StatusSeeOther, "/book/received")
	case screenExpired:
		req.Token = s.tokens.issue(s.now())
		return s.bookAnswer(c, &req, loc, http.StatusUnprocessableEntity, "invalid", msgExpired, nil, nil)
	case screenFast:
		// Faster than a person fills a form, but the honeypot is empty:
		// maybe a person with autofill. Ask once more, with a token that
		// the fill time does not apply to, rather than drop the booking.
		req.Token = s.tokens.issueConfirm(s.now())
	}
	l := req.lead(leads.SourceBooking)
	l.Attribution = s.posted(req.Carry, "")
	fields := map[string]string{}
	if err := l.Validate(); err != nil {
		fields = fieldErrors(err)
	}
	start, err := parseStart(req.Start)
	if err != nil {
		fields["start"] = "Please pick a time for the call."
	}
	if s.booking.Composer.MeetingPlace().Phone && l.Phone == "" && fields["phone"] == "" {
		fields["phone"] = booking.ErrPhoneRequired.Fields["phone"]
	}
	answers := checkAnswers(req.questions, req.given, fields)
	if len(fields) > 0 {
		return s.bookAnswer(c, &req, loc, http.StatusUnprocessableEntity, "invalid", msgInvalid, fields, nil)
	}
	if verdict == screenFast {
		return s.bookAnswer(c, &req, loc, http.StatusOK, "confirm", msgConfirm, nil, nil)
	}
	idem := s.idemKey(c, req.Token, "booking", start.UTC().Format(time.RFC3339), l.Name, l.Email, l.Company, l.Phone, l.Message,
		answersKey(answers))
	token, _ := s.manageTokenFor(idem)
	b, created, err := s.svc.Create(ctx, booking.Request{Lead: l, Start: start, Zone: loc, Token: token,
		IdemKey: idem, ClientKey: s.clientKey(c), Rebook: req.Rebook, Answers: answers})
	if err != nil {
		switch {
		case errors.Is(err, leads.ErrSlotTaken):
			return s.bookConflict(c, &req, loc, start)
		case errors.Is(err, leads.ErrUpcomingLimit), errors.Is(err, leads.ErrWeekLimit):
			return s.bookAnswer(c, &req, loc, http.StatusConflict, "error", leads.ErrorMessage(err), nil, nil)
		case errors.Is(err, leads.ErrClientLimit):
			return s.bookAnswer(c, &req, loc, http.StatusTooManyRequests, "error", leads.ErrorMessage(err), nil, nil)
		}
		switch leads.ErrorCode(err) {
		case leads.ECONFLICT:
			return s.bookConflict(c, &req, loc, start)
		case leads.EINVALID:
			return s.bookAnswer(c, &req, loc, http.StatusUnprocessableEntity, "invalid", msgInvalid, fieldErrors(err), nil)
		}
		s.log.ErrorContext(ctx, "booking: store", "err", err)
		s.fallback(c, "booking", req.Email, req.fields(), "the booking could not be stored")
		return s.bookAnswer(c, &req, loc, http.StatusInternalServerError, "error", msgOops, nil, nil)
	}
	if created {
		s.count(EventBookingCreated)
	}
	s.deps.Outbox.Wake()
	if b.Held() {
		// The answer must not carry the manage link: following it is how
		// the owner of the address confirms.
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusAccepted, map[string]string{"status": "held", "message": msgHeld,
				"hold_until": b.HoldUntil.Format(time.RFC3339)})
		}
		return c.Redirect(http.StatusSeeOther, "/book/held")
	}
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusCreated, s.bookingJSON(b, token))
	}
	return c.Redirect(http.StatusSeeOther, "/bookings/"+token+"?created=1")
}

// manageTokenFor derives the manage token from the idempotency key, so a
// retried POST gets the same link back (only its hash is stored), or makes
// a random one when there is no key.
func (s *Server) manageTokenFor(idem string) (token, hash string) {
	if idem == "" {
		return newManageToken()
	}
	token = base64.RawURLEncoding.EncodeToString(s.tokens.sum([]byte("manage:" + idem)))
	return token, hashToken(token)
}

type bookingAnswer struct {
	ID        int64  `json:"id"`
	Start     string `json:"start"`
	End       string `json:"end"`
	Status    string `json:"status"`
	ManageURL string `json:"manage_url"`
	ICSURL    string `json:"ics_url"`
	Where     string `json:"where,omitempty"`
}

func (s *Server) bookingJSON(b *leads.Booking, token string) bookingAnswer {
	loc, _ := s.visitorZone(b.Timezone)
	a := bookingAnswer{ID: b.ID, Start: b.Start.In(loc).Format(time.RFC3339), End: b.End.In(loc).Format(time.RFC3339),
		Status: b.Status, ManageURL: s.manageURL(token), ICSURL: s.manageURL(token) + "/invite.ics"}
	if b.Live() {
		a.Where = s.booking.Composer.MeetingPlace().VisitorWhere(b, s.booking.CEO.Name)
	}
	return a
}

// answersKey is the answers as one string, for the idempotency key.
func answersKey(as []leads.Answer) string {
	var k strings.Builder
	for _, a := range as {
		k.WriteString(a.ID + "\x00" + a.Value + "\x00")
	}
	return k.String()
}

// bookConflict answers 409 with fresh slots around the asked-for time.
func (s *Server) bookConflict(c echo.Context, req *bookingRequest, loc *time.Location, start time.Time) error {
	msg := "Sorry, that time is no longer available. Please pick another one."
	if wantsJSON(c.Request()) {
		from := start.Add(-24 * time.Hour)
		if now := s.now(); from.Before(now) {
			from = now
		}
		slots, err := s.openSlots(c.Request().Context(), from, from.Add(pickerDays*24*time.Hour))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusConflict, map[string]any{"error": msg, "timezone": loc.String(), "slots": slotList(slots, loc)})
	}
	req.Start = ""
	return s.bookAnswer(c, req, loc, http.StatusConflict, "error", msg, nil, &start)
}

// bookAnswer shows the booking page again with the visitor's input.
func (s *Server) bookAnswer(c echo.Context, req *bookingRequest, loc *time.Location, status int, kind, msg string, fields map[string]string, near *time.Time) error {
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
		}
		return c.JSON(status, body)
	}
	form := &formView{Prefix: "book", Token: req.Token, Values: req.values(), Errors: fields, Status: kind, Message: msg}
	if form.Errors == nil {
		form.Errors = map[string]string{}
	}
	var from calendar.Date
	if near != nil {
		from = calendar.DateOf(near.In(loc))
	} else if t, err := parseStart(req.Start); err == nil {
		from = calendar.DateOf(t.In(loc))
	}
	return s.renderBook(c, status, loc, req.TZ != "", from, form)
}

func (s *Server) handleBookReceived(c echo.Context) error {
	p := s.page("Booking received", "", "book", nil)
	p.NoIndex = true
	p.Canonical = s.cfg.BaseURL + "/book/received"
	return s.renderHTML(c, http.StatusOK, "book_received", p)
}

func (s *Server) handleBookHeld(c echo.Context) error {
	p := s.page("Please confirm your call", "", "book", map[string]any{"Minutes": int(s.booking.Hold / time.Minute)})
	p.NoIndex = true
	return s.renderHTML(c, http.StatusOK, "book_held", p)
}

// findByToken loads the booking of a manage link.
func (s *Server) findByToken(c echo.Context) (*leads.Booking, string, error) {
	token := c.Param("token")
	if !validManageToken(token) {
		return nil, "", echo.ErrNotFound
	}
	b, err := s.svc.Find(c.Request().Context(), token)
	if err != nil {
		if leads.ErrorCode(err) == leads.ENOTFOUND {
			return nil, "", echo.NewHTTPError(http.StatusNotFound, "This booking link is not valid. Please check the link in your confirmation email.")
		}
		return nil, "", err
	}
	return b, token, nil
}

// manageView is the manage page.
type manageView struct {
	Booking   *leads.Booking
	Token     string
	Visitor   string // the time in the visitor's zone, named as people do
	Live      bool   // a call: confirmed, not cancelled
	Held      bool   // waiting for the visitor's confirmation
	Expired   bool   // a hold that was not confirmed in time
	HoldUntil string
	Past      bool
	Notice    string
	NoticeBad bool
	Picker    *pickerView
	Form      *formView
	ICSURL    string
	// Where the call happens, whether that is a link, and its "add to
	// calendar" links (while it is still to come).
	Where     string
	WhereLink bool
	Calendar  mailer.CalendarLinks
}

func (s *Server) handleBookingShow(c echo.Context) error {
	b, token, err := s.findByToken(c)
	if err != nil {
		return err
	}
	notice := ""
	switch {
	case c.QueryParam("created") != "":
		notice = "Your call is booked. A confirmation with a calendar invitation is on its way to your inbox."
	case c.QueryParam("rescheduled") != "":
		notice = "Your call was moved. An updated invitation is on its way to your inbox."
	case c.QueryParam("cancelled") != "":
		notice = "Your call was cancelled. We have let the CEO know."
	case c.QueryParam("released") != "":
		notice = "The time is released. Nothing was booked."
	}
	return s.renderManage(c, http.StatusOK, b, token, notice, false, "")
}

func (s *Server) renderManage(c echo.Context, status int, b *leads.Booking, token, notice string, bad bool, selected string) error {
	loc, _ := s.visitorZone(b.Timezone)
	zoneChosen := false
	if tz := c.QueryParam("tz"); tz != "" {
		if l, ok := s.visitorZone(tz); ok {
			loc, zoneChosen = l, true
		}
	}
	now := s.now()
	mv := &manageView{
		Booking: b, Token: token, Live: b.Live() && !b.Held(), Held: b.Held() && !b.HoldExpired(now),
		Expired: b.HoldExpired(now) || (!b.Live() && !b.HoldUntil.IsZero() && !b.CancelledAt.Before(b.HoldUntil)),
		Past:    !b.End.After(now), Notice: notice, NoticeBad: bad,
		Visitor: visitorSpan(b.Start, b.End, loc),
		ICSURL:  "/bookings/" + token + "/invite.ics",
		Form:    &formView{Prefix: "move", Values: map[string]string{}, Errors: map[string]string{}},
	}
	if b.Held() {
		mv.HoldUntil = b.HoldUntil.In(loc).Format("15:04 on Monday, 2 January") + " (" + loc.String() + ")"
	}
	if mv.Live {
		meeting := s.booking.Composer.MeetingPlace()
		mv.Where, mv.WhereLink = meeting.VisitorWhere(b, s.booking.CEO.Name), meeting.Link != ""
		if !mv.Past {
			mv.Calendar = s.booking.Composer.AddToCalendar(s.svc.Mail(c.Request().Context(), b, nil, "", token))
		}
	}
	if mv.Live && !mv.Past {
		from := pickerStart(c)
		if from.IsZero() {
			from = calendar.DateOf(s.now().In(loc))
		}
		pv, err := s.picker(c.Request().Context(), loc, from, selected, "/bookings/"+token, zoneChosen, "", calendar.Slot{Start: b.Start, End: b.End})
		if err != nil {
			return err
		}
		pv.Action = "/bookings/" + token + "/reschedule"
		// The notice of what just happened survives a change of zone.
		for _, k := range []string{"created", "confirmed", "rescheduled"} {
			if v := c.QueryParam(k); v != "" {
				pv.Keep[k] = v
			}
		}
		mv.Picker = pv
	}
	p := s.page("Your call with our CEO", "", "book", mv)
	p.NoIndex = true
	noStore(c)
	body, err := s.pages.render("booking", p)
	if err != nil {
		return err
	}
	return c.HTMLBlob(status, body)
}

func (s *Server) handleBookingCancel(c echo.Context) error {
	b, token, err := s.findByToken(c)
	if err != nil {
		return err
	}
	if err := s.allow(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if b.Live() && !b.End.After(s.now()) {
		return echo.NewHTTPError(http.StatusConflict, "This call has already taken place.")
	}
	held := b.Held()
	b, err = s.svc.Cancel(ctx, token)
	if err != nil {
		return err
	}
	s.deps.Outbox.Wake()
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, s.bookingJSON(b, token))
	}
	if held {
		return c.Redirect(http.StatusSeeOther, "/bookings/"+token+"?released=1")
	}
	return c.Redirect(http.StatusSeeOther, "/bookings/"+token+"?cancelled=1")
}

// handleBookingConfirm confirms a hold by the link mailed to the visitor:
// only now is the CEO invited. GET on the link only shows the button (mail
// scanners follow links).
func (s *Server) handleBookingConfirm(c echo.Context) error {
	_, token, err := s.findByToken(c)
	if err != nil {
		return err
	}
	if err := s.allow(c); err != nil {
		return err
	}
	b, err := s.svc.Confirm(c.Request().Context(), token)
	if err != nil {
		if leads.ErrorCode(err) != leads.ECONFLICT {
			return err
		}
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusConflict, map[string]string{"error": leads.ErrorMessage(err)})
		}
		b, _, ferr := s.findByToken(c)
		if ferr != nil {
			return ferr
		}
		return s.renderManage(c, http.StatusConflict, b, token, leads.ErrorMessage(err), true, "")
	}
	s.deps.Outbox.Wake()
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, s.bookingJSON(b, token))
	}
	return c.Redirect(http.StatusSeeOther, "/bookings/"+token+"?created=1")
}

type rescheduleRequest struct {
	Start string `form:"start" json:"start"`
}

func (s *Server) handleBookingReschedule(c echo.Context) error {
	b, token, err := s.findByToken(c)
	if err != nil {
		return err
	}
	var req rescheduleRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := s.allow(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	start, err := parseStart(req.Start)
	if err != nil {
		if wantsJSON(c.Request()) {
			return c.JSON(http.StatusUnprocessableEntity, map[string]any{"error": msgInvalid, "fields": map[string]string{"start": "Please pick a new time."}})
		}
		return s.renderManage(c, http.StatusUnprocessableEntity, b, token, "Please pick a new time for the call.", true, "")
	}
	if !b.Live() {
		return echo.NewHTTPError(http.StatusConflict, "This booking was cancelled, so it cannot be moved. Please book a new call.")
	}
	moved, err := s.svc.Reschedule(ctx, token, start)
	if err != nil {
		if leads.ErrorCode(err) != leads.ECONFLICT {
			return err
		}
		if wantsJSON(c.Request()) {
			loc, _ := s.visitorZone(b.Timezone)
			slots, serr := s.openSlots(ctx, s.now(), s.now().Add(pickerDays*24*time.Hour))
			if serr != nil {
				return serr
			}
			return c.JSON(http.StatusConflict, map[string]any{"error": leads.ErrorMessage(err), "timezone": loc.String(), "slots": slotList(slots, loc)})
		}
		return s.renderManage(c, http.StatusConflict, b, token, leads.ErrorMessage(err), true, "")
	}
	s.deps.Outbox.Wake()
	if wantsJSON(c.Request()) {
		return c.JSON(http.StatusOK, s.bookingJSON(moved, token))
	}
	return c.Redirect(http.StatusSeeOther, "/bookings/"+token+"?rescheduled=1")
}

func (s *Server) handleBookingInvite(c echo.Context) error {
	b, token, err := s.findByToken(c)
	if err != nil {
		return err
	}
	if b.Held() {
		return echo.NewHTTPError(http.StatusConflict, "Please confirm the call first; its invitation is ready then.")
	}
	inv := s.booking.Composer.Invitation(s.svc.Mail(c.Request().Context(), b, nil, "", token))
	body, err := inv.Encode()
	if err != nil {
		return err
	}
	noStore(c)
	c.Response().Header().Set("Content-Disposition", `attachment; filename="invite.ics"`)
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8; method="+inv.Method, body)
}

// visitorSpan is a call's time for a visitor's page: in their zone, with
// the zone's friendly name ("Wednesday, 4 March 2026, 09:00–09:30
// (Central European Time, Berlin)"). The CEO's time and UTC are for the
// CEO's mail and the staff pages.
func visitorSpan(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	day := s.Format("Monday, 2 January 2006")
	zone := calendar.ZoneName(loc.String())
	if calendar.DateOf(s) != calendar.DateOf(e.Add(-time.Nanosecond)) {
		return fmt.Sprintf("%s, %s – %s (%s)", day, s.Format("15:04"), e.Format("Monday 15:04"), zone)
	}
	return fmt.Sprintf("%s, %s–%s (%s)", day, s.Format("15:04"), e.Format("15:04"), zone)
}
