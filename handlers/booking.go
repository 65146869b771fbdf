package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/calendar"
	"leadbook/handlers/booking"
	"leadbook/leads"
)

// BookingStore is what booking needs from the system of record.
type BookingStore = booking.Store

// BusySource gives the CEO's busy times from his calendars.
type BusySource = booking.BusySource

// BookingComposer writes invitations, cancellations and reminders.
type BookingComposer = booking.Composer

// Booking configures the booking side; without it the booking routes are
// not registered.
type Booking struct {
	// Rules are the availability rules configured at start-up (the
	// environment's). Settings, when set, overrides them from the
	// database (the admin settings page). Read the rules in force with
	// Server.bookingRules, never from here (Location alone is the
	// environment's only).
	Rules      calendar.Rules
	Settings   SettingsStore
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

	// MaxBookingsPerEmailWeek is how many bookings one email address may
	// make in 7 days; 0 is no limit. Questions are the booking form's
	// own questions (see Server.bookingQuestions).
	MaxBookingsPerEmailWeek int
	Questions               []Question
}

// Service is the booking use case these settings configure, on the site
// at baseURL with the clock now: what the routes and the command line
// drive.
func (b *Booking) Service(baseURL string, now func() time.Time) *booking.Service {
	env := b.Rules
	rules := func(context.Context) (calendar.Rules, error) { return env, nil }
	if settings := b.Settings; settings != nil {
		// Outside a server (the command line): the stored rules, read
		// for each call. A server replaces this with its cached copy.
		rules = func(ctx context.Context) (calendar.Rules, error) {
			stored, _, err := settings.BookingSettings(ctx)
			if err != nil {
				return calendar.Rules{}, err
			}
			r, _ := ResolveRules(env, stored)
			return r, nil
		}
	}
	return &booking.Service{
		Rules: rules, CEO: b.CEO, BaseURL: baseURL, Reminder: b.Reminder,
		Store: b.Store, Busy: b.Busy, Composer: b.Composer,
		ConfirmByEmail: b.ConfirmByEmail, Hold: b.Hold, Now: now,
		Limits: leads.BookingLimits{UpcomingPerEmail: b.MaxUpcomingPerEmail, PerClientDay: b.BookingsPerAddressDay,
			PerEmailWeek: b.MaxBookingsPerEmailWeek},
	}
}

// DefaultBookingHold is how long an unconfirmed hold keeps its slot when
// Booking.Hold is zero.
const DefaultBookingHold = booking.DefaultHold

// manageTokenLen is the length of a manage token: 32 random bytes,
// base64url without padding.
const manageTokenLen = booking.TokenLen

func newManageToken() (token, hash string) { return booking.NewToken() }

func hashToken(token string) string { return booking.HashToken(token) }

// validManageToken checks a token's shape before any lookup.
func validManageToken(token string) bool { return booking.ValidToken(token) }

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
	loc, err := calendar.LoadZone(tz)
	if err != nil {
		return s.booking.Rules.Location, false
	}
	return loc, true
}

// openSlots computes the open slots with a start in [from, to).
func (s *Server) openSlots(ctx context.Context, from, to time.Time) ([]calendar.Slot, error) {
	o, err := s.svc.OpenSlots(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return o.Slots, nil
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

func (s *Server) manageURL(token string) string { return s.svc.ManageURL(token) }

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
		m := s.svc.Mail(ctx, &bs[i], nil, "", "")
		m.StaffURL = ""
		inv := s.booking.Composer.CEOInvitation(m)
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
