package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/calendar"
	"leadbook/leads"
	"leadbook/mailer"
)

// BookingStore is what booking needs from the system of record.
type BookingStore interface {
	LiveBookings(ctx context.Context, from, to time.Time) ([]leads.Booking, error)
	BookingsVersion() uint64
	CreateBooking(ctx context.Context, nb *leads.NewBooking, check leads.BookingCheck, compose leads.BookingCompose) (*leads.Booking, bool, error)
	FindBookingByToken(ctx context.Context, hash string) (*leads.Booking, error)
	CancelBooking(ctx context.Context, hash string, compose leads.BookingCompose) (*leads.Booking, error)
	ConfirmBooking(ctx context.Context, hash string, compose leads.BookingCompose) (*leads.Booking, error)
	RescheduleBooking(ctx context.Context, r leads.Reschedule, check leads.BookingCheck, compose leads.BookingCompose) (*leads.Booking, error)
	UpcomingBookings(ctx context.Context, from time.Time, limit int) ([]leads.Booking, error)
}

// BusySource gives the CEO's busy times from his calendars.
type BusySource interface {
	Busy(from, to time.Time) []calendar.Interval
	Version() uint64
}

// BookingComposer writes invitations, cancellations and reminders.
type BookingComposer interface {
	BookingMessages(m mailer.BookingMail) ([]leads.OutboxMessage, error)
	HoldMessages(m mailer.BookingMail) ([]leads.OutboxMessage, error)
	// Invitation is the visitor's copy of a booking's event,
	// CEOInvitation the CEO's, with what the visitor wrote.
	Invitation(m mailer.BookingMail) calendar.Invitation
	CEOInvitation(m mailer.BookingMail) calendar.Invitation
}

// Booking configures the booking side; without it the booking routes are
// not registered.
type Booking struct {
	Rules      calendar.Rules
	CEO        calendar.Person
	Reminder   time.Duration
	FeedSecret string
	Store      BookingStore
	Busy       BusySource
	Composer   BookingComposer

	// MaxUpcomingPerEmail is how many calls still to come one email
	// address may have, and BookingsPerAddressDay how many bookings one
	// client address may make in 24 hours; 0 is no limit. Both are
	// counted in the database, inside the booking's transaction.
	MaxUpcomingPerEmail   int
	BookingsPerAddressDay int
	// ConfirmByEmail makes a new booking a hold: the slot is taken, the
	// visitor is mailed a link whose page confirms it, and the CEO is
	// invited only then. An unconfirmed hold frees the slot after Hold
	// (DefaultBookingHold when zero).
	ConfirmByEmail bool
	Hold           time.Duration
}

// DefaultBookingHold is how long an unconfirmed hold keeps its slot when
// Booking.Hold is zero.
const DefaultBookingHold = 30 * time.Minute

// manage tokens are 32 random bytes, base64url without padding.
const manageTokenLen = 43

func newManageToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validManageToken checks a token's shape before any lookup.
func validManageToken(token string) bool {
	if len(token) != manageTokenLen {
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

func newUID(baseURL string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(baseURL, "https://"), "http://")
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	return hex.EncodeToString(b[:]) + "@" + host
}

// visitorZone resolves the tz parameter: an IANA name, or the CEO's zone
// when empty or unknown (and ok is false then, for a non-empty value).
func (s *Server) visitorZone(tz string) (*time.Location, bool) {
	tz = strings.TrimSpace(tz)
	if tz == "" {
		return s.booking.Rules.Location, true
	}
	if len(tz) > 64 || tz == "Local" || strings.Contains(tz, "..") || strings.HasPrefix(tz, "/") {
		return s.booking.Rules.Location, false
	}
	// An old name (Asia/Calcutta) is shown as the one in use (Asia/Kolkata).
	if canon, ok := calendar.CanonicalZone(tz); ok {
		tz = canon
	}
	loc, err := s.zones.load(tz)
	if err != nil {
		return s.booking.Rules.Location, false
	}
	return loc, true
}

// zoneCache keeps the zones visitors ask for: time.LoadLocation reads and
// parses the embedded database on every call. Only names that load are
// kept, so its size is bounded by the zone database.
type zoneCache struct {
	mu    sync.RWMutex
	zones map[string]*time.Location
}

func (z *zoneCache) load(name string) (*time.Location, error) {
	z.mu.RLock()
	loc := z.zones[name]
	z.mu.RUnlock()
	if loc != nil {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	if z.zones == nil {
		z.zones = map[string]*time.Location{}
	}
	z.zones[name] = loc
	z.mu.Unlock()
	return loc, nil
}

func intervals(bs []leads.Booking) []calendar.Interval {
	out := make([]calendar.Interval, len(bs))
	for i, b := range bs {
		out[i] = calendar.Interval{Start: b.Start, End: b.End}
	}
	return out
}

// bookingWindow is the span whose bookings decide whether slots starting
// in [from, to) are open: widened by the buffer and a slot for overlaps
// and, when there is a daily cap, to the whole CEO-local days, whose
// bookings all count.
func (s *Server) bookingWindow(from, to time.Time) (time.Time, time.Time) {
	r := s.booking.Rules
	pad := r.Buffer + r.Slot + time.Minute
	wf, wt := from.Add(-pad), to.Add(pad)
	if r.DailyCap > 0 {
		if d := calendar.DateOf(from.In(r.Location)).In(r.Location); d.Before(wf) {
			wf = d
		}
		if d := calendar.DateOf(to.In(r.Location)).AddDays(1).In(r.Location); d.After(wt) {
			wt = d
		}
	}
	return wf, wt
}

// openSlots computes the open slots with a start in [from, to).
func (s *Server) openSlots(ctx context.Context, from, to time.Time) ([]calendar.Slot, error) {
	slots, _, err := s.openSlotsUntil(ctx, from, to)
	return slots, err
}

// openSlotsUntil is openSlots, and also the earliest moment a hold among
// the bookings considered runs out and frees its slot (zero: none), when
// the answer changes without a booking being written.
func (s *Server) openSlotsUntil(ctx context.Context, from, to time.Time) ([]calendar.Slot, time.Time, error) {
	wf, wt := s.bookingWindow(from, to)
	live, err := s.booking.Store.LiveBookings(ctx, wf, wt)
	if err != nil {
		return nil, time.Time{}, err
	}
	var holdEnds time.Time
	for _, b := range live {
		if b.Held() && (holdEnds.IsZero() || b.HoldUntil.Before(holdEnds)) {
			holdEnds = b.HoldUntil
		}
	}
	busy := s.booking.Busy.Busy(wf, wt)
	return s.booking.Rules.Slots(s.now(), from, to, busy, intervals(live)), holdEnds, nil
}

// clientKey identifies the client's network address for the per-address
// booking limit without storing it: a keyed hash of the address, or of
// its /64 network for IPv6, where one client commonly holds a whole /64.
func (s *Server) clientKey(c echo.Context) string {
	addr := c.RealIP()
	if ip := net.ParseIP(addr); ip != nil {
		if ip.To4() == nil {
			ip = ip.Mask(net.CIDRMask(64, 128))
		}
		addr = ip.String()
	}
	return hex.EncodeToString(s.tokens.sum([]byte("client:" + addr))[:16])
}

// checkSlot is the rule check that runs inside the booking transaction.
func (s *Server) checkSlot(start time.Time) leads.BookingCheck {
	return func(live []leads.Booking) error {
		wf, wt := s.bookingWindow(start, start)
		busy := s.booking.Busy.Busy(wf, wt)
		if _, err := s.booking.Rules.Check(s.now(), start, busy, intervals(live)); err != nil {
			if errors.Is(err, calendar.ErrNotOffered) {
				return leads.ErrSlotTaken
			}
			return err
		}
		return nil
	}
}

// horizonEnd is the end of the last bookable day.
func (s *Server) horizonEnd() time.Time {
	r := s.booking.Rules
	today := calendar.DateOf(s.now().In(r.Location))
	return today.AddDays(r.HorizonDays + 1).In(r.Location)
}

func (s *Server) manageURL(token string) string { return s.cfg.BaseURL + "/bookings/" + token }

func (s *Server) bookingMail(b *leads.Booking, l *leads.Lead, change, token string) mailer.BookingMail {
	return mailer.BookingMail{
		Booking: b, Lead: l, Change: change,
		ManageURL: s.manageURL(token), ICSURL: s.manageURL(token) + "/invite.ics",
		CEO: s.booking.CEO, CEOZone: s.booking.Rules.Location, Reminder: s.booking.Reminder, Now: s.now(),
	}
}

func (s *Server) composeBooking(change, token string) leads.BookingCompose {
	return func(b *leads.Booking, l *leads.Lead) ([]leads.OutboxMessage, error) {
		return s.booking.Composer.BookingMessages(s.bookingMail(b, l, change, token))
	}
}

// constantTimeEqual compares secrets without leaking their length match.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func noStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
}

var errBadStart = errors.New("bad start")

func parseStart(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, errBadStart
	}
	return t, nil
}

func (s *Server) handleCalendarFeed(c echo.Context) error {
	secret, ok := strings.CutSuffix(c.Param("file"), ".ics")
	if !ok || s.booking.FeedSecret == "" || !constantTimeEqual(secret, s.booking.FeedSecret) {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	bs, err := s.booking.Store.UpcomingBookings(ctx, s.now().Add(-7*24*time.Hour), 5000)
	if err != nil {
		return err
	}
	events := make([]calendar.Invitation, 0, len(bs))
	for i := range bs {
		inv := s.booking.Composer.CEOInvitation(mailer.BookingMail{Booking: &bs[i], CEO: s.booking.CEO, CEOZone: s.booking.Rules.Location, Now: s.now()})
		inv.Method = ""
		events = append(events, inv)
	}
	body, err := calendar.EncodeFeed(s.cfg.SiteName+" calls", events, s.now())
	if err != nil {
		return err
	}
	noStore(c)
	return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", body)
}
