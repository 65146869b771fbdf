// Package booking is the booking use case: open slots, booking a call,
// confirming a hold, moving and cancelling it (by the visitor or by the
// host), and the host's actions after it. The visitor's routes, the staff
// routes and the command line all drive one Service; it imports no web
// framework. Every write goes to the store in one transaction, under the
// calendar's lock, with its mail queued in the same transaction.
package booking

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
	"leadbook/mailer"
)

// Store is what booking needs from the system of record.
type Store interface {
	LiveBookings(ctx context.Context, from, to time.Time) ([]leads.Booking, error)
	BookingsVersion() uint64
	CreateBooking(ctx context.Context, nb *leads.NewBooking, check leads.BookingCheck, compose leads.BookingCompose) (*leads.Booking, bool, error)
	FindBookingByToken(ctx context.Context, hash string) (*leads.Booking, error)
	CancelBooking(ctx context.Context, hash string, compose leads.BookingCompose) (*leads.Booking, error)
	ConfirmBooking(ctx context.Context, hash string, compose leads.BookingCompose) (*leads.Booking, error)
	RescheduleBooking(ctx context.Context, r leads.Reschedule, check leads.BookingCheck, compose leads.BookingCompose) (*leads.Booking, error)
	UpcomingBookings(ctx context.Context, from time.Time, limit int) ([]leads.Booking, error)
	FindBooking(ctx context.Context, id int64) (*leads.Booking, error)
	HostCancelBooking(ctx context.Context, hc leads.HostCancel, compose leads.BookingCompose) (*leads.Booking, error)
	HostMoveBooking(ctx context.Context, hm leads.HostMove, check leads.BookingCheck, compose leads.BookingCompose) (*leads.Booking, error)
	SetBookingOutcome(ctx context.Context, id int64, outcome string, by leads.Actor) (*leads.Booking, error)
	FindBookingByRebook(ctx context.Context, hash string) (*leads.Booking, *leads.Lead, error)
}

// BusySource gives the CEO's busy times from his calendars.
type BusySource interface {
	Busy(from, to time.Time) []calendar.Interval
	Version() uint64
}

// Composer writes invitations, cancellations and reminders.
type Composer interface {
	BookingMessages(m mailer.BookingMail) ([]leads.OutboxMessage, error)
	HoldMessages(m mailer.BookingMail) ([]leads.OutboxMessage, error)
	// Invitation is the visitor's copy of a booking's event,
	// CEOInvitation the CEO's, with what the visitor wrote.
	Invitation(m mailer.BookingMail) calendar.Invitation
	CEOInvitation(m mailer.BookingMail) calendar.Invitation
	// AddToCalendar is a call's "add to calendar" links, MeetingPlace
	// where calls happen (LEADBOOK_MEETING_URL).
	AddToCalendar(m mailer.BookingMail) mailer.CalendarLinks
	MeetingPlace() mailer.Meeting
}

// DefaultHold is how long an unconfirmed hold keeps its slot when
// Service.Hold is zero.
const DefaultHold = 30 * time.Minute

// MaxHostMessage caps the host's message to the visitor, in characters.
const MaxHostMessage = 2000

// Service is the booking use case.
type Service struct {
	// Rules returns the availability rules in force. It is called for
	// every operation, never kept: the rules may change while the server
	// runs (stored in the database, for every instance).
	Rules    func(ctx context.Context) (calendar.Rules, error)
	CEO      calendar.Person
	BaseURL  string        // the site's public address, for the links in mail
	Reminder time.Duration // before a call; 0: none
	Store    Store
	Busy     BusySource
	Composer Composer
	// ConfirmByEmail makes a new booking a hold the visitor confirms by
	// the emailed link; an unconfirmed hold frees its slot after Hold
	// (DefaultHold when zero).
	ConfirmByEmail bool
	Hold           time.Duration
	// Limits cap new bookings (checked in the booking's transaction).
	Limits leads.BookingLimits
	Now    func() time.Time // time.Now when nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) hold() time.Duration {
	if s.Hold <= 0 {
		return DefaultHold
	}
	return s.Hold
}

// CurrentRules returns the rules in force, with their defaults filled in
// (UTC, DefaultSlot).
func (s *Service) CurrentRules(ctx context.Context) (calendar.Rules, error) {
	r, err := s.Rules(ctx)
	if err != nil {
		return r, fmt.Errorf("booking: rules: %w", err)
	}
	if r.Location == nil {
		r.Location = time.UTC
	}
	if r.Slot == 0 {
		r.Slot = calendar.DefaultSlot
	}
	return r, nil
}

// CEOZone is the zone of the rules in force (UTC when they cannot be read).
func (s *Service) CEOZone(ctx context.Context) *time.Location {
	r, err := s.CurrentRules(ctx)
	if err != nil {
		return time.UTC
	}
	return r.Location
}

func intervals(bs []leads.Booking) []calendar.Interval {
	out := make([]calendar.Interval, len(bs))
	for i, b := range bs {
		out[i] = calendar.Interval{Start: b.Start, End: b.End}
	}
	return out
}

// Open is an answer of OpenSlots.
type Open struct {
	Slots []calendar.Slot
	// HoldEnds is the earliest moment a hold among the bookings
	// considered runs out and frees its slot (zero: none), when the
	// answer changes without a booking being written.
	HoldEnds time.Time
	// ValidUntil is when the answer may change by the clock alone.
	ValidUntil time.Time
	Rules      calendar.Rules // the rules it was computed with
}

// OpenSlots computes the open slots with a start in [from, to).
func (s *Service) OpenSlots(ctx context.Context, from, to time.Time) (*Open, error) {
	r, err := s.CurrentRules(ctx)
	if err != nil {
		return nil, err
	}
	wf, wt := r.Window(from, to)
	live, err := s.Store.LiveBookings(ctx, wf, wt)
	if err != nil {
		return nil, err
	}
	o := &Open{Rules: r}
	for _, b := range live {
		if b.Held() && (o.HoldEnds.IsZero() || b.HoldUntil.Before(o.HoldEnds)) {
			o.HoldEnds = b.HoldUntil
		}
	}
	now := s.now()
	o.Slots = r.Slots(now, from, to, s.Busy.Busy(wf, wt), intervals(live))
	o.ValidUntil = r.ValidUntil(now, o.Slots)
	return o, nil
}

// check is the rule check that runs inside a booking's transaction.
func (s *Service) check(r calendar.Rules, start time.Time) leads.BookingCheck {
	return func(live []leads.Booking) error {
		wf, wt := r.Window(start, start)
		if _, err := r.Check(s.now(), start, s.Busy.Busy(wf, wt), intervals(live)); err != nil {
			if errors.Is(err, calendar.ErrNotOffered) {
				return leads.ErrSlotTaken
			}
			return err
		}
		return nil
	}
}

// ManageURL is the visitor's link to a booking.
func (s *Service) ManageURL(token string) string { return s.BaseURL + "/bookings/" + token }

// RebookURL is the visitor's link to book again after the host cancelled.
func (s *Service) RebookURL(token string) string { return s.BaseURL + "/bookings/" + token + "/rebook" }

// StaffURL is a booking's page on the dashboard.
func (s *Service) StaffURL(id int64) string {
	return s.BaseURL + "/staff/bookings/" + strconv.FormatInt(id, 10)
}

// Mail is everything a booking email needs, for the booking b of lead l
// (nil: the booking's own fields), the change, and the visitor's manage
// token ("" for none).
func (s *Service) Mail(ctx context.Context, b *leads.Booking, l *leads.Lead, change, token string) mailer.BookingMail {
	m := mailer.BookingMail{
		Booking: b, Lead: l, Change: change,
		CEO: s.CEO, CEOZone: s.CEOZone(ctx), Reminder: s.Reminder, Now: s.now(),
	}
	if token != "" {
		m.ManageURL, m.ICSURL = s.ManageURL(token), s.ManageURL(token)+"/invite.ics"
	}
	if b.ID != 0 {
		m.StaffURL = s.StaffURL(b.ID)
	}
	return m
}

func (s *Service) compose(ctx context.Context, change, token string, edit func(*mailer.BookingMail)) leads.BookingCompose {
	return func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		m := s.Mail(ctx, b, l, change, token)
		if edit != nil {
			edit(&m)
		}
		return s.Composer.BookingMessages(m)
	}
}

// CancelCompose is the cancellation mail of a booking cancelled by some
// other way (an erasure): no manage link.
func (s *Service) CancelCompose(ctx context.Context) leads.BookingCompose {
	return s.compose(ctx, mailer.ChangeCancelled, "", nil)
}

// Request is a visitor's booking.
type Request struct {
	Lead  *leads.Lead
	Start time.Time
	Zone  *time.Location // the visitor's
	// Token is the manage link's token; only its hash is stored.
	Token     string
	IdemKey   string
	ClientKey string
	// Rebook is the token of an "ask to rebook" link: the booking keeps
	// the details of the visitor it was sent to where Lead leaves them
	// empty, and spends the link.
	Rebook string
	// Answers are the visitor's answers to the booking form's questions,
	// checked already (the store bounds them again).
	Answers []leads.Answer
}

// ErrPhoneRequired refuses a booking without a phone number when calls
// are by phone (LEADBOOK_MEETING_URL=phone): the CEO calls the visitor.
var ErrPhoneRequired = &leads.Error{Code: leads.EINVALID, Message: "Please give a phone number: the call is by phone.",
	Fields: map[string]string{"phone": "Please give a phone number: the call is by phone, and our CEO will call you on it."}}

// Prepare turns a request into the store's booking and the mail it sends
// when made: a hold with the "confirm your call" mail when bookings are
// confirmed by email, else the call with its invitations. Its check is the
// rule check for the transaction. The booking gets a new room name (the
// {room} of a meeting link) and the request's answers; when calls are by
// phone, a lead without a phone number is refused (ErrPhoneRequired).
func (s *Service) Prepare(ctx context.Context, req Request) (*leads.NewBooking, leads.BookingCheck, leads.BookingCompose, error) {
	if s.Composer.MeetingPlace().Phone && strings.TrimSpace(req.Lead.Phone) == "" {
		return nil, nil, nil, ErrPhoneRequired
	}
	r, err := s.CurrentRules(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	wf, wt := r.Window(req.Start, req.Start)
	zone := req.Zone
	if zone == nil {
		zone = r.Location
	}
	nb := &leads.NewBooking{
		Lead: *req.Lead, Start: req.Start, End: r.End(req.Start), Timezone: zone.String(), Message: req.Lead.Message,
		UID: NewUID(s.BaseURL), TokenHash: HashToken(req.Token), WindowFrom: wf, WindowTo: wt,
		IdemKey: req.IdemKey, ClientKey: req.ClientKey, Limits: s.Limits,
		Room: NewRoom(), Answers: req.Answers,
	}
	if req.Rebook != "" {
		nb.RebookHash = HashToken(req.Rebook)
	}
	if !s.ConfirmByEmail {
		return nb, s.check(r, req.Start), s.compose(ctx, mailer.ChangeCreated, req.Token, nil), nil
	}
	nb.HoldUntil = s.now().Add(s.hold())
	return nb, s.check(r, req.Start), func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return s.Composer.HoldMessages(s.Mail(ctx, b, l, mailer.ChangeCreated, req.Token))
	}, nil
}

// Create books a call. created is false for a repeated idempotency key,
// which returns the first answer. With req.Rebook, the caller has filled
// the visitor's details from Rebook's lead already (a form must show them
// before it validates); the link is spent in the booking's transaction.
func (s *Service) Create(ctx context.Context, req Request) (b *leads.Booking, created bool, err error) {
	nb, check, compose, err := s.Prepare(ctx, req)
	if err != nil {
		return nil, false, err
	}
	return s.Store.CreateBooking(ctx, nb, check, compose)
}

// Rebook returns the booking an "ask to rebook" token was sent for, and
// its visitor's details; ENOTFOUND for a token that is not valid or was
// used.
func (s *Service) Rebook(ctx context.Context, token string) (*leads.Booking, *leads.Lead, error) {
	if !ValidToken(token) {
		return nil, nil, leads.Errorf(leads.ENOTFOUND, "This link is not valid.")
	}
	return s.Store.FindBookingByRebook(ctx, HashToken(token))
}

// Find returns the booking of a manage token.
func (s *Service) Find(ctx context.Context, token string) (*leads.Booking, error) {
	if !ValidToken(token) {
		return nil, leads.Errorf(leads.ENOTFOUND, "Booking not found.")
	}
	return s.Store.FindBookingByToken(ctx, HashToken(token))
}

// Confirm confirms the hold of a manage token: the CEO is invited now.
func (s *Service) Confirm(ctx context.Context, token string) (*leads.Booking, error) {
	return s.Store.ConfirmBooking(ctx, HashToken(token), s.compose(ctx, mailer.ChangeCreated, token, nil))
}

// Cancel cancels the booking of a manage token, on the visitor's side.
func (s *Service) Cancel(ctx context.Context, token string) (*leads.Booking, error) {
	return s.Store.CancelBooking(ctx, HashToken(token), s.compose(ctx, mailer.ChangeCancelled, token, nil))
}

// Reschedule moves the booking of a manage token to start, on the
// visitor's side.
func (s *Service) Reschedule(ctx context.Context, token string, start time.Time) (*leads.Booking, error) {
	r, err := s.CurrentRules(ctx)
	if err != nil {
		return nil, err
	}
	wf, wt := r.Window(start, start)
	return s.Store.RescheduleBooking(ctx, leads.Reschedule{TokenHash: HashToken(token), Start: start, End: r.End(start),
		WindowFrom: wf, WindowTo: wt}, s.check(r, start), s.compose(ctx, mailer.ChangeRescheduled, token, nil))
}

// HostCancel is the host's cancellation of a call.
type HostCancel struct {
	ID      int64
	Message string // to the visitor (and the CEO's copy); may be empty
	// Rebook asks the visitor to book again: their mail carries a link
	// that opens the slot picker with their details kept.
	Rebook bool
	By     leads.Actor
}

// ErrMessageTooLong refuses a host's message over MaxHostMessage.
var ErrMessageTooLong = &leads.Error{Code: leads.EINVALID, Message: "The message is too long.",
	Fields: map[string]string{"message": fmt.Sprintf("Please keep the message under %d characters.", MaxHostMessage)}}

// CancelByHost cancels a call on the host's side: the visitor and the CEO
// get METHOD:CANCEL with the host's message, and the visitor, when asked
// to rebook, a link to pick another time.
func (s *Service) CancelByHost(ctx context.Context, hc HostCancel) (*leads.Booking, error) {
	msg := strings.TrimSpace(strings.ReplaceAll(hc.Message, "\r\n", "\n"))
	if len([]rune(msg)) > MaxHostMessage {
		return nil, ErrMessageTooLong
	}
	var rebookToken, rebookHash string
	if hc.Rebook {
		rebookToken, rebookHash = NewToken()
	}
	return s.Store.HostCancelBooking(ctx, leads.HostCancel{ID: hc.ID, RebookHash: rebookHash, By: hc.By},
		s.compose(ctx, mailer.ChangeCancelled, "", func(m *mailer.BookingMail) {
			m.ByHost, m.HostMessage = true, msg
			if rebookToken != "" {
				m.RebookURL = s.RebookURL(rebookToken)
			}
		}))
}

// ErrStartRequired refuses a move without a time.
var ErrStartRequired = &leads.Error{Code: leads.EINVALID, Message: "Please pick a new time.",
	Fields: map[string]string{"start": "Please pick a new time."}}

// MoveByHost moves a call to start, a slot the rules offer (the same checks
// as any booking write): the visitor and the CEO get METHOD:REQUEST with a
// higher SEQUENCE, and the visitor a new manage link (the old one stops
// working: only its hash was stored).
func (s *Service) MoveByHost(ctx context.Context, id int64, start time.Time, by leads.Actor) (*leads.Booking, error) {
	if start.IsZero() {
		return nil, ErrStartRequired
	}
	r, err := s.CurrentRules(ctx)
	if err != nil {
		return nil, err
	}
	token, hash := NewToken()
	wf, wt := r.Window(start, start)
	return s.Store.HostMoveBooking(ctx, leads.HostMove{ID: id, Start: start, End: r.End(start), WindowFrom: wf, WindowTo: wt,
		TokenHash: hash, By: by}, s.check(r, start), s.compose(ctx, mailer.ChangeRescheduled, token, func(m *mailer.BookingMail) {
		m.ByHost = true
	}))
}

// MarkOutcome records what became of a call once it ended:
// leads.OutcomeCompleted or leads.OutcomeNoShow.
func (s *Service) MarkOutcome(ctx context.Context, id int64, outcome string, by leads.Actor) (*leads.Booking, error) {
	return s.Store.SetBookingOutcome(ctx, id, outcome, by)
}

// TokenLen is the length of manage and rebook tokens: 32 random bytes,
// base64url without padding.
const TokenLen = 43

// NewToken returns a random manage (or rebook) token and its hash.
func NewToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is what the store keeps of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidToken checks a token's shape before any lookup.
func ValidToken(token string) bool {
	if len(token) != TokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewRoom is a booking's room name for a meeting link: 128 random bits
// in lower-case base 32 (26 letters and digits, fine in any URL).
func NewRoom() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// NewUID is a new iCalendar UID on the site's host.
func NewUID(baseURL string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:]) + "@" + uidHost(baseURL)
}

// OwnUID returns whether a UID is one that NewUID makes for baseURL: the
// bookings' own events, which a busy source that holds them (the CEO's
// CalDAV calendar) must not count again. Bookings block their time
// themselves, and from the moment they change, whereas the calendar's
// copy follows only once the outbox has delivered the change.
func OwnUID(baseURL string) func(uid string) bool {
	suffix := "@" + uidHost(baseURL)
	return func(uid string) bool {
		id, ok := strings.CutSuffix(uid, suffix)
		if !ok || len(id) != 32 {
			return false
		}
		_, err := hex.DecodeString(id)
		return err == nil
	}
}

// uidHost is the host part of the UIDs made for baseURL.
func uidHost(baseURL string) string {
	host := strings.TrimPrefix(strings.TrimPrefix(baseURL, "https://"), "http://")
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	return host
}
