package leads

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Booking statuses.
const (
	BookingConfirmed = "confirmed"
	BookingCancelled = "cancelled"
)

// Booking is a call with the CEO.
type Booking struct {
	ID          int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LeadID      int64
	UID         string // the iCalendar UID, one per booking for its whole life
	Sequence    int    // the iCalendar SEQUENCE, raised by every change
	Start, End  time.Time
	Timezone    string // the visitor's zone, for showing times back
	Message     string
	Status      string
	CancelledAt time.Time
	TokenHash   string // hash of the manage link's token; the token itself is never stored
	IdemKey     string
	// HoldUntil is set while the booking waits for the visitor to confirm
	// it by the emailed link: until then the slot counts as taken, after
	// it the slot is free again. Zero once confirmed (or never held).
	HoldUntil time.Time
	// Room is the booking's unguessable room name, made with it and kept
	// when it moves: the {room} of a meeting link template.
	Room string
	// Answers are the visitor's answers to the booking form's questions,
	// with the labels as asked; nil when none were asked.
	Answers []Answer
	// Outcome is what became of the call once it took place, as staff
	// marked it (OutcomeCompleted, OutcomeNoShow); "" until then. The
	// status stays confirmed: the call keeps its time.
	Outcome string

	// From the lead.
	Name, Email, Company string

	// Attribution is where the visit that booked came from.
	Attribution Attribution
	Phone       string
}

// Answer is the visitor's answer to one question of the booking form,
// kept with the question's label as it was asked (the questions may
// change later). The value is the visitor's free text, or the choice
// they picked.
type Answer struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// MaxAnswers and MaxAnswerLen bound what a booking stores of answers,
// whatever the caller passes: a number of answers, and characters in a
// label or a value.
const (
	MaxAnswers   = 20
	MaxAnswerLen = 2000
)

// encodeAnswers is the answers column: a JSON array, or empty for none.
func encodeAnswers(as []Answer) (string, error) {
	if len(as) == 0 {
		return "", nil
	}
	b, err := json.Marshal(as)
	if err != nil {
		return "", fmt.Errorf("leads: encode answers: %w", err)
	}
	return string(b), nil
}

// decodeAnswers reads the answers column.
func decodeAnswers(s string) ([]Answer, error) {
	if s == "" {
		return nil, nil
	}
	var as []Answer
	if err := json.Unmarshal([]byte(s), &as); err != nil {
		return nil, fmt.Errorf("leads: decode answers: %w", err)
	}
	return as, nil
}

// State is the booking's status as people read it: its Outcome once
// marked, else its Status.
func (b *Booking) State() string {
	if b.Outcome != "" {
		return b.Outcome
	}
	return b.Status
}

// Live reports whether the booking holds its slot (or held it: see
// HoldExpired).
func (b *Booking) Live() bool { return b.Status == BookingConfirmed }

// Held reports whether the booking still waits for the visitor's
// confirmation; the CEO has not been invited yet.
func (b *Booking) Held() bool { return b.Live() && !b.HoldUntil.IsZero() }

// HoldExpired reports whether the booking is a hold that was not
// confirmed in time: its slot is free at now, whether or not the release
// has been written yet.
func (b *Booking) HoldExpired(now time.Time) bool { return b.Held() && !b.HoldUntil.After(now) }

// BookingCheck re-checks the availability rules inside the booking's
// transaction, given the live bookings that overlap the window the caller
// asked for, of which it gets the ID, Start, End, Status and HoldUntil
// only. It returns an ECONFLICT error when the slot may not be taken.
type BookingCheck func(live []Booking) error

// BookingCompose returns the mail a booking change sends (invitations,
// cancellations, reminders). It runs inside the transaction, so it must be
// quick and must not touch the network.
type BookingCompose func(b *Booking, l *Lead) ([]OutboxMessage, error)

// NewBooking is a booking request.
type NewBooking struct {
	Lead      Lead // the visitor; upserted by email with source "booking"
	Start     time.Time
	End       time.Time
	Timezone  string
	Message   string
	UID       string
	TokenHash string
	IdemKey   string
	// Window is the span whose live bookings Check needs to see (the day
	// of the call, widened by the buffer, say).
	WindowFrom, WindowTo time.Time
	// HoldUntil, when set, makes the booking a hold that the visitor must
	// confirm (ConfirmBooking) before then.
	HoldUntil time.Time
	// ClientKey identifies the client's network address, keyed so that the
	// address itself is not stored; Limits.PerClientDay counts by it.
	ClientKey string
	// Limits cap new bookings; they are checked in the booking's
	// transaction against what the database holds.
	Limits BookingLimits
	// Room is the booking's room name (see Booking.Room), Answers the
	// visitor's answers to the form's questions.
	Room    string
	Answers []Answer
	// RebookHash, when set, is the hash of the "ask to rebook" link the
	// booking is made with; the link is spent in the same transaction.
	RebookHash string
}

// BookingLimits cap new bookings; a zero field is no cap. Moving a
// booking is not a new one.
type BookingLimits struct {
	// UpcomingPerEmail is how many live calls (confirmed, or held and
	// not expired) still to come one email address may have.
	UpcomingPerEmail int
	// PerClientDay is how many bookings may be made from one ClientKey in
	// 24 hours, whatever became of them.
	PerClientDay int
	// PerEmailWeek is how many bookings one email address may make in 7
	// days, whatever became of them (a moved call is not a new one).
	PerEmailWeek int
}

// slotConstraints are the constraints that keep two live calls apart: the
// unique index on live start times (both engines) and the exclusion of
// overlapping live ranges (PostgreSQL).
var slotConstraints = map[string]bool{"bookings_live_start": true, "bookings_no_overlap": true}

// slotTaken reports whether err is the database refusing a second call in
// a slot, told by the constraint's name. SQLite names no constraint; there
// a booking row's only other unique columns are random (uid, token hash)
// or checked before the insert (the idempotency key), so a unique
// violation is the slot's.
func slotTaken(err error) bool {
	c, ok := violated(err)
	return ok && (c == "" || slotConstraints[c])
}

// ErrSlotTaken is the conflict returned when a slot is no longer free.
var ErrSlotTaken = &Error{Code: ECONFLICT, Message: "That time is no longer available. Please pick another."}

// ErrUpcomingLimit refuses a booking for an address that already has as
// many calls to come as BookingLimits.UpcomingPerEmail allows.
var ErrUpcomingLimit = &Error{Code: ECONFLICT, Message: "This email address already has a call with us coming up. " +
	"To change it, use the link in the email about that call; to book another, cancel that one first."}

// ErrClientLimit refuses a booking from a client that made as many in the
// last 24 hours as BookingLimits.PerClientDay allows.
var ErrClientLimit = &Error{Code: ETOOMANY, Message: "Too many calls were booked from your network address today. " +
	"Please try again tomorrow, or leave your details with the contact form and we will get back to you."}

// ErrWeekLimit refuses a booking for an address that made as many in the
// last 7 days as BookingLimits.PerEmailWeek allows.
var ErrWeekLimit = &Error{Code: ECONFLICT, Message: "This email address has booked as many calls this week as we can offer. " +
	"Please try again next week, or leave your details with the contact form and we will get back to you."}

// ErrHoldExpired is the answer to confirming a hold that ran out.
var ErrHoldExpired = &Error{Code: ECONFLICT, Message: "This time was held for you, but it was not confirmed in time and has been released. Please book again."}

// EmailKey is the form of an address that the per-address limit compares:
// the whole address in lower case.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const bookingColumns = `b.id, b.created_at, b.updated_at, b.lead_id, b.uid, b.sequence, b.start_at, b.end_at, b.timezone,
	b.message, b.status, b.cancelled_at, b.token_hash, b.idem_key, b.hold_until, b.outcome, l.name, l.email, l.company,
	b.article, b.landing_page, b.referrer, b.utm_source, b.utm_medium, b.utm_campaign, b.utm_term, b.utm_content,
	b.room, b.answers, l.phone`

const bookingFrom = ` FROM bookings b JOIN leads l ON l.id = b.lead_id `

func scanBooking(row rowScanner) (*Booking, error) {
	var (
		b                            Booking
		created, updated, start, end string
		cancelledAt, idemKey, hold   sql.NullString
		outcome                      sql.NullString
		answers                      string
	)
	if err := row.Scan(append(append([]any{&b.ID, &created, &updated, &b.LeadID, &b.UID, &b.Sequence, &start, &end, &b.Timezone,
		&b.Message, &b.Status, &cancelledAt, &b.TokenHash, &idemKey, &hold, &outcome, &b.Name, &b.Email, &b.Company}, b.Attribution.dest()...),
		&b.Room, &answers, &b.Phone)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(ENOTFOUND, "Booking not found.")
		}
		return nil, fmt.Errorf("leads: scan booking: %w", err)
	}
	var err error
	for _, p := range []struct {
		dst *time.Time
		src string
	}{{&b.CreatedAt, created}, {&b.UpdatedAt, updated}, {&b.Start, start}, {&b.End, end}, {&b.CancelledAt, cancelledAt.String}, {&b.HoldUntil, hold.String}} {
		if p.src == "" {
			continue
		}
		if *p.dst, err = parseTime(p.src); err != nil {
			return nil, err
		}
	}
	b.IdemKey, b.Outcome = idemKey.String, outcome.String
	if b.Answers, err = decodeAnswers(answers); err != nil {
		return nil, err
	}
	return &b, nil
}

type rowsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryBookings(ctx context.Context, q rowsQueryer, where string, args ...any) ([]Booking, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+bookingColumns+bookingFrom+where, args...)
	if err != nil {
		return nil, fmt.Errorf("leads: list bookings: %w", err)
	}
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		b, err := scanBooking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: list bookings: %w", err)
	}
	return out, nil
}

// MaxBookingLength bounds a booking's length. It lets an overlap query
// bound its index range on both sides: a booking overlapping [from, to)
// starts after from-MaxBookingLength.
const MaxBookingLength = 24 * time.Hour

// liveCond is the condition on a booking row b that it holds its slot at
// the instant given as its one argument: confirmed, or held and not yet
// expired.
const liveCond = `b.status = 'confirmed' AND (b.hold_until IS NULL OR b.hold_until > ?)`

// liveInWindow is the WHERE clause, and liveArgs its arguments, of the
// bookings that hold their slots at now and overlap [from, to), sorted by
// start, except the one with id skip.
const liveInWindow = `WHERE ` + liveCond + ` AND b.start_at > ? AND b.start_at < ? AND b.end_at > ? AND b.id != ?
	ORDER BY b.start_at`

func liveArgs(now, from, to time.Time, skip int64) []any {
	return []any{formatTime(now), formatTime(from.Add(-MaxBookingLength)), formatTime(to), formatTime(from), skip}
}

// liveBookings returns the bookings that hold their slots at now and
// overlap [from, to), sorted by start, except the one with id skip.
func liveBookings(ctx context.Context, q rowsQueryer, now, from, to time.Time, skip int64) ([]Booking, error) {
	return queryBookings(ctx, q, liveInWindow, liveArgs(now, from, to, skip)...)
}

// liveSpans is liveBookings for a BookingCheck, which reads only when
// each booking starts and ends: the rows' ids, times and holds, without
// their leads. It is read under the calendar's lock, for every booking
// of a window (a whole day's), so it reads no more than the rules need.
func liveSpans(ctx context.Context, q rowsQueryer, now, from, to time.Time, skip int64) ([]Booking, error) {
	rows, err := q.QueryContext(ctx, `SELECT b.id, b.start_at, b.end_at, b.hold_until FROM bookings b `+liveInWindow,
		liveArgs(now, from, to, skip)...)
	if err != nil {
		return nil, fmt.Errorf("leads: live bookings: %w", err)
	}
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		var (
			b          = Booking{Status: BookingConfirmed}
			start, end string
			hold       sql.NullString
		)
		if err := rows.Scan(&b.ID, &start, &end, &hold); err != nil {
			return nil, fmt.Errorf("leads: live bookings: %w", err)
		}
		if b.Start, err = parseTime(start); err != nil {
			return nil, err
		}
		if b.End, err = parseTime(end); err != nil {
			return nil, err
		}
		if hold.Valid {
			if b.HoldUntil, err = parseTime(hold.String); err != nil {
				return nil, err
			}
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: live bookings: %w", err)
	}
	return out, nil
}

// LiveBookings returns the bookings overlapping [from, to) that hold
// their slots now (confirmed, or held and not expired), sorted by start.
func (s *Store) LiveBookings(ctx context.Context, from, to time.Time) ([]Booking, error) {
	return liveBookings(ctx, s.r, s.now(), from, to, 0)
}

// lockCalendar takes the calendar's row lock for the rest of tx, raises
// the calendar's version and returns it. Every booking write calls it
// first, before it reads the bookings its rules check: a second writer (on
// any instance) waits here until the first has committed, and then sees
// its booking. On SQLite the one writer orders them anyway; the version is
// kept the same way on both.
func lockCalendar(ctx context.Context, tx *sql.Tx) (uint64, error) {
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE calendar_state SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("leads: lock calendar: %w", err)
	}
	return uint64(v), nil
}

// BookingsVersion changes whenever a booking is created, moved or
// cancelled, by this process or by any other on the same database, so
// callers can cache what they derive from the bookings. (A hold that
// expires frees its slot without changing it: callers that cache keep the
// earliest HoldUntil in mind.) It is the calendar's version in the
// database, read at most once per versionTTL; this process's own writes
// show at once.
func (s *Store) BookingsVersion() uint64 {
	return s.bookingsVersion.get(s.r, `SELECT version FROM calendar_state WHERE id = 1`)
}

// raiseBookingsVersion records a calendar version this process wrote.
func (s *Store) raiseBookingsVersion(v uint64) uint64 { return s.bookingsVersion.raise(v) }

// CreateBooking books a call in one transaction: it returns the first
// answer for a repeated idempotency key, releases expired holds, checks
// nb.Limits, re-checks the rules with check against the live bookings of
// the request's window, upserts the lead, inserts the booking (a unique
// index on live start times makes double booking impossible whatever
// check says), and queues compose's mail.
func (s *Store) CreateBooking(ctx context.Context, nb *NewBooking, check BookingCheck, compose BookingCompose) (b *Booking, created bool, err error) {
	if err := nb.prepare(); err != nil {
		return nil, false, err
	}
	if s.bookingReqs != nil && nb.RebookHash == "" {
		return s.createBookingGathered(ctx, nb, check, compose)
	}
	return s.createBookingAlone(ctx, nb, check, compose)
}

// createBookingAlone writes a prepared booking in a transaction of its
// own.
func (s *Store) createBookingAlone(ctx context.Context, nb *NewBooking, check BookingCheck, compose BookingCompose) (b *Booking, created bool, err error) {
	var version uint64
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		b, created = nil, false
		if nb.IdemKey != "" {
			found, err := queryBookings(ctx, tx, `WHERE b.idem_key = ?`, nb.IdemKey)
			if err != nil {
				return err
			}
			if len(found) == 1 {
				b = &found[0]
				return nil
			}
		}
		now := s.now()
		if _, err := releaseExpiredHolds(ctx, tx, now); err != nil {
			return err
		}
		// The booking is written first and its rules checked last, under
		// the calendar's lock: the lock is then held for the checks and
		// the commit only, not for the writes, so concurrent bookings
		// (other instances' too) wait for each other as briefly as they
		// can. A second writer still waits for the first to commit before
		// it checks, and then sees its booking; the database refuses an
		// overlapping insert outright, waiting for the first's outcome.
		if err := s.lockAddresses(ctx, tx, nb.Lead.Email); err != nil {
			return err
		}
		nbk, err := insertBooking(ctx, tx, nb, now, compose)
		if errors.Is(err, errBookingIdemTaken) {
			// The same request, retried on another instance at once: the
			// first answer stands (the database waited for it).
			found, err := queryBookings(ctx, tx, `WHERE b.idem_key = ?`, nb.IdemKey)
			if err != nil {
				return err
			}
			if len(found) != 1 {
				return fmt.Errorf("leads: create booking: idempotency key taken but not found")
			}
			b = &found[0]
			return nil
		}
		if err != nil {
			return err
		}
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		if err := checkLimits(ctx, tx, nb, now, nbk.ID); err != nil {
			return err
		}
		if err := checkBooking(ctx, tx, nb, now, check, nbk.ID); err != nil {
			return err
		}
		if nb.RebookHash != "" {
			if err := useRebook(ctx, tx, nb.RebookHash); err != nil {
				return err
			}
		}
		// Counted last, so that the article's row is locked for the commit
		// only, not while the booking waits for the calendar.
		if err := addConversion(ctx, tx, now, nbk.Attribution, "bookings"); err != nil {
			return err
		}
		b, created = nbk, true
		return nil
	})
	if errors.Is(err, ErrSlotTaken) && nb.IdemKey != "" {
		// The same request, retried on another instance at the same
		// moment, can find the slot taken by its twin before it finds the
		// key taken: the database waited for the twin's commit, so the
		// twin's booking is there to answer with.
		if found, ferr := queryBookings(ctx, s.r, `WHERE b.idem_key = ?`, nb.IdemKey); ferr == nil && len(found) == 1 {
			return &found[0], false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	if created {
		s.raiseBookingsVersion(version)
	}
	return b, created, nil
}

// prepare normalizes and checks a booking request before its transaction.
func (nb *NewBooking) prepare() error {
	nb.Lead.Source = SourceBooking
	nb.Lead.Normalize()
	if err := nb.Lead.Validate(); err != nil {
		return err
	}
	nb.Message = multiLine(nb.Message)
	if len(nb.Answers) > MaxAnswers {
		return fmt.Errorf("leads: create booking: %d answers, at most %d", len(nb.Answers), MaxAnswers)
	}
	for i := range nb.Answers {
		a := &nb.Answers[i]
		a.Label, a.Value = strings.TrimSpace(a.Label), strings.TrimSpace(multiLine(a.Value))
		if a.ID == "" || len([]rune(a.Label)) > MaxAnswerLen || len([]rune(a.Value)) > MaxAnswerLen {
			return fmt.Errorf("leads: create booking: answer %d: want an id, and a label and a value of at most %d characters", i, MaxAnswerLen)
		}
	}
	if !nb.End.After(nb.Start) || nb.End.Sub(nb.Start) > MaxBookingLength || nb.UID == "" || nb.TokenHash == "" {
		return fmt.Errorf("leads: create booking: start, end (at most %v later), uid and token hash are required", MaxBookingLength)
	}
	return nil
}

// checkLimits refuses a booking over nb.Limits, counting what the
// database holds (so the limits hold across instances).
func checkLimits(ctx context.Context, tx *sql.Tx, nb *NewBooking, now time.Time, self int64) error {
	for _, lim := range bookingLimits {
		n, k := lim.max(nb.Limits), lim.key(nb)
		if n <= 0 || k == "" {
			continue
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings b WHERE b.`+lim.column+` = ? AND b.id != ? AND `+lim.cond,
			append([]any{k, self}, lim.args(now)...)...).Scan(&have); err != nil {
			return fmt.Errorf("leads: count bookings by address: %w", err)
		}
		if have >= n {
			return lim.err
		}
	}
	return nil
}

// bookingLimit is one of BookingLimits' caps: how many (max, none when
// not above zero) bookings with one key (an address's or a network's,
// none when empty), in column, may meet cond (with args) besides the one
// checked, else err. checkLimits counts one booking's, checkBatchLimits a
// batch's grouped by key.
type bookingLimit struct {
	max    func(BookingLimits) int
	key    func(*NewBooking) string
	column string
	cond   string
	args   func(now time.Time) []any
	err    error
}

var bookingLimits = []bookingLimit{
	{max: func(l BookingLimits) int { return l.UpcomingPerEmail }, key: emailKeyOf, column: "email_key",
		cond: `b.end_at > ? AND ` + liveCond, args: func(now time.Time) []any { return []any{formatTime(now), formatTime(now)} },
		err: ErrUpcomingLimit},
	{max: func(l BookingLimits) int { return l.PerClientDay }, key: func(nb *NewBooking) string { return nb.ClientKey }, column: "client_key",
		cond: `b.created_at > ?`, args: func(now time.Time) []any { return []any{formatTime(now.Add(-24 * time.Hour))} },
		err: ErrClientLimit},
	{max: func(l BookingLimits) int { return l.PerEmailWeek }, key: emailKeyOf, column: "email_key",
		cond: `b.created_at > ?`, args: func(now time.Time) []any { return []any{formatTime(now.Add(-7 * 24 * time.Hour))} },
		err: ErrWeekLimit},
}

func emailKeyOf(nb *NewBooking) string { return EmailKey(nb.Lead.Email) }

// checkBooking runs check against the bookings live at now in nb's window,
// but for the booking with id self (the one being checked, once written).
func checkBooking(ctx context.Context, tx *sql.Tx, nb *NewBooking, now time.Time, check BookingCheck, self int64) error {
	if check == nil {
		return nil
	}
	live, err := liveSpans(ctx, tx, now, nb.WindowFrom, nb.WindowTo, self)
	if err != nil {
		return err
	}
	return check(live)
}

// errBookingIdemTaken says that a booking with the same idempotency key
// was stored first, perhaps by another instance at the same moment.
var errBookingIdemTaken = errors.New("leads: booking idempotency key taken")

// insertBooking upserts nb's lead, inserts the booking and queues
// compose's mail for it. A taken start is ErrSlotTaken; a taken
// idempotency key errBookingIdemTaken.
func insertBooking(ctx context.Context, tx *sql.Tx, nb *NewBooking, now time.Time, compose BookingCompose) (*Booking, error) {
	b, mail, err := writeBooking(ctx, tx, nb, now, compose, nil)
	if err != nil {
		return nil, err
	}
	if err := insertOutboxRows(ctx, tx, now, mail); err != nil { // one statement for the visitor's, the CEO's and the reminder
		return nil, err
	}
	return b, nil
}

// writeBooking is insertBooking but for the mail, which it returns for the
// caller to queue (a batch queues all its bookings' mail in one
// statement). found, when not nil, answers upsertLead's lookup of the
// lead's address: the lead found (nil for none).
func writeBooking(ctx context.Context, tx *sql.Tx, nb *NewBooking, now time.Time, compose BookingCompose, found *foundLead) (*Booking, []*OutboxMessage, error) {
	l := nb.Lead
	if err := upsertFoundLead(ctx, tx, &l, now, found); err != nil {
		return nil, nil, err
	}
	b := &Booking{
		CreatedAt: now, UpdatedAt: now, LeadID: l.ID, UID: nb.UID, Start: nb.Start.UTC(), End: nb.End.UTC(),
		Timezone: nb.Timezone, Message: nb.Message, Status: BookingConfirmed, TokenHash: nb.TokenHash,
		IdemKey: nb.IdemKey, Name: l.Name, Email: l.Email, Company: l.Company, Attribution: nb.Lead.Attribution,
		Room: nb.Room, Answers: nb.Answers, Phone: l.Phone,
	}
	answers, err := encodeAnswers(b.Answers)
	if err != nil {
		return nil, nil, err
	}
	var hold any
	if !nb.HoldUntil.IsZero() {
		b.HoldUntil = nb.HoldUntil.UTC()
		hold = formatTime(b.HoldUntil)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO bookings
		(created_at, updated_at, lead_id, uid, sequence, start_at, end_at, timezone, message, status, token_hash, idem_key,
		 hold_until, email_key, client_key, room, answers, `+attribColumns+`)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, 'confirmed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (idem_key) DO NOTHING RETURNING id`,
		append([]any{formatTime(now), formatTime(now), l.ID, b.UID, formatTime(b.Start), formatTime(b.End),
			b.Timezone, b.Message, b.TokenHash, nullString(b.IdemKey), hold, EmailKey(l.Email), nullString(nb.ClientKey), b.Room, answers},
			b.Attribution.args()...)...).Scan(&b.ID)
	if isNoRows(err) {
		return nil, nil, errBookingIdemTaken
	}
	if err != nil {
		if slotTaken(err) {
			return nil, nil, ErrSlotTaken
		}
		return nil, nil, fmt.Errorf("leads: insert booking: %w", err)
	}
	mail, err := bookingMail(b, &l, compose)
	if err != nil {
		return nil, nil, err
	}
	if !b.Held() {
		// A hold is a booking once confirmed (ConfirmBooking).
		if err := bookingEvent(ctx, tx, now, EventBookingCreated, b, &l); err != nil {
			return nil, nil, err
		}
	}
	return b, mail, nil
}

// releaseHolds cancels the holds that ran out by its third argument; its
// condition is that of the index bookings_pending_holds, which holds only
// the holds still pending.
const releaseHolds = `UPDATE bookings SET status = 'cancelled', cancelled_at = ?, updated_at = ?
	WHERE status = 'confirmed' AND hold_until IS NOT NULL AND hold_until <= ?`

// releaseExpiredHolds cancels the holds that ran out by now, so that
// their start times are free for the unique index too.
func releaseExpiredHolds(ctx context.Context, tx *sql.Tx, now time.Time) (int, error) {
	res, err := tx.ExecContext(ctx, releaseHolds, formatTime(now), formatTime(now), formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("leads: release expired holds: %w", err)
	}
	return affected(res), nil
}

// ReleaseExpiredHolds cancels the holds that were not confirmed in time.
// Every query already treats them as free; this tidies the rows (and is
// what the staff pages then show as cancelled).
func (s *Store) ReleaseExpiredHolds(ctx context.Context) (int, error) {
	var (
		n       int
		version uint64
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if n, err = releaseExpiredHolds(ctx, tx, s.now()); err != nil || n == 0 {
			return err
		}
		// Slots came free: the calendar's version tells every instance's
		// cache (a count of this process's own would hide the next
		// change another instance makes).
		version, err = lockCalendar(ctx, tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.raiseBookingsVersion(version)
	return n, nil
}

// ConfirmBooking confirms the hold whose manage token hashes to hash: the
// booking is a call from now on, and compose's mail (the invitations) is
// queued. Confirming a confirmed booking changes nothing and returns it; a
// hold that ran out is ErrHoldExpired, a cancelled booking ECONFLICT.
func (s *Store) ConfirmBooking(ctx context.Context, hash string, compose BookingCompose) (*Booking, error) {
	var b *Booking
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if b, err = findBookingByToken(ctx, tx, hash); err != nil {
			return err
		}
		now := s.now()
		switch {
		case !b.Live():
			return Errorf(ECONFLICT, "This booking was cancelled. Please book a new call.")
		case !b.Held():
			return nil
		case b.HoldExpired(now):
			return ErrHoldExpired
		}
		b.HoldUntil, b.UpdatedAt = time.Time{}, now
		// Only while it is still a live hold: a booking write on another
		// instance may have released it since it was read.
		res, err := tx.ExecContext(ctx, `UPDATE bookings SET hold_until = NULL, updated_at = ?
			WHERE id = ? AND status = 'confirmed' AND hold_until > ?`, formatTime(now), b.ID, formatTime(now))
		if err != nil {
			return fmt.Errorf("leads: confirm booking: %w", err)
		}
		if affected(res) == 0 {
			return ErrHoldExpired
		}
		l, err := findLead(ctx, tx, b.LeadID)
		if err != nil {
			return err
		}
		if err := bookingEvent(ctx, tx, now, EventBookingCreated, b, l); err != nil {
			return err
		}
		return queueBookingMail(ctx, tx, now, b, l, compose)
	})
	if err != nil {
		return nil, err
	}
	// The slot was taken already, by the hold: no cached answer changes.
	return b, nil
}

func queueBookingMail(ctx context.Context, tx *sql.Tx, now time.Time, b *Booking, l *Lead, compose BookingCompose) error {
	rows, err := bookingMail(b, l, compose)
	if err != nil {
		return err
	}
	return insertOutboxRows(ctx, tx, now, rows) // one statement for the visitor's, the CEO's and the reminder
}

// bookingMail is compose's mail for booking b of lead l, tied to both.
func bookingMail(b *Booking, l *Lead, compose BookingCompose) ([]*OutboxMessage, error) {
	if compose == nil {
		return nil, nil
	}
	msgs, err := compose(b, l)
	if err != nil {
		return nil, fmt.Errorf("leads: booking mail: %w", err)
	}
	rows := make([]*OutboxMessage, len(msgs))
	for i := range msgs {
		msgs[i].LeadID, msgs[i].BookingID = l.ID, b.ID
		rows[i] = &msgs[i]
	}
	return rows, nil
}

// foundLead is the answer to upsertLead's lookup, read beforehand.
type foundLead struct{ lead *Lead }

// lockAddresses takes, where the engine needs it, the transaction's lock
// on each of the addresses' keys, in the keys' order: two transactions
// that lock some of the same addresses, each before the calendar's lock,
// cannot deadlock.
func (s *Store) lockAddresses(ctx context.Context, tx *sql.Tx, emails ...string) error {
	if s.d.lockAddresses == "" || len(emails) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(emails))
	for _, e := range emails {
		keys = append(keys, addressLock(e))
	}
	slices.Sort(keys)
	if _, err := tx.ExecContext(ctx, s.d.lockAddresses, slices.Compact(keys)); err != nil {
		return fmt.Errorf("leads: lock addresses: %w", err)
	}
	return nil
}

// addressLock is the lock key of an address: 64 bits of a SHA-256 of its
// EmailKey behind a prefix of its own, so that no other lock (the
// migrations') shares a key with an address but by a 2^-64 chance.
func addressLock(email string) int64 {
	h := sha256.Sum256([]byte("leadbook address\x00" + EmailKey(email)))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// newestLeads finds, in one query, the newest lead of each address in
// emails (as typed, as upsertLead compares them).
func newestLeads(ctx context.Context, tx *sql.Tx, emails []string) (map[string]*foundLead, error) {
	args := make([]any, len(emails))
	found := make(map[string]*foundLead, len(emails))
	for i, e := range emails {
		args[i] = e
		found[e] = &foundLead{}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE email IN (`+marks(len(emails))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("leads: find leads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLead(rows)
		if err != nil {
			return nil, err
		}
		if f := found[l.Email]; f != nil {
			f.lead = l // the newest comes last
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: find leads: %w", err)
	}
	return found, nil
}

// upsertLead finds the newest lead with l's email and refreshes it with
// what the visitor typed now, or inserts l. l gets the stored row's ID.
func upsertLead(ctx context.Context, tx *sql.Tx, l *Lead, now time.Time) error {
	return upsertFoundLead(ctx, tx, l, now, nil)
}

// upsertFoundLead is upsertLead with the newest lead of l's email found
// already, unless found is nil.
func upsertFoundLead(ctx context.Context, tx *sql.Tx, l *Lead, now time.Time, found *foundLead) error {
	var existing *Lead
	if found != nil {
		existing = found.lead
	} else {
		var err error
		existing, err = scanLead(tx.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE email = ? ORDER BY id DESC LIMIT 1`, l.Email))
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
	}
	if existing == nil {
		l.CreatedAt, l.UpdatedAt, l.ConsentAt = now, now, now
		l.IdemKey = ""
		if err := insertLead(ctx, tx, l); err != nil {
			return err
		}
		return leadEvent(ctx, tx, now, EventLeadCreated, l)
	}
	if l.Company == "" {
		l.Company = existing.Company
	}
	if l.Phone == "" {
		l.Phone = existing.Phone
	}
	if _, err := tx.ExecContext(ctx, `UPDATE leads SET updated_at = ?, name = ?, company = ?, phone = ?, consent_version = ?, consent_at = ?
		WHERE id = ?`, formatTime(now), l.Name, l.Company, l.Phone, l.ConsentVersion, formatTime(now), existing.ID); err != nil {
		return fmt.Errorf("leads: update lead: %w", err)
	}
	l.ID, l.CreatedAt, l.UpdatedAt, l.Source = existing.ID, existing.CreatedAt, now, existing.Source
	if l.Message == "" {
		l.Message = existing.Message
	}
	return leadEvent(ctx, tx, now, EventLeadUpdated, l)
}

// FindBookingByToken returns the booking whose manage token hashes to hash.
func (s *Store) FindBookingByToken(ctx context.Context, hash string) (*Booking, error) {
	return findBookingByToken(ctx, s.r, hash)
}

func findBookingByToken(ctx context.Context, q queryer, hash string) (*Booking, error) {
	return scanBooking(q.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+`WHERE b.token_hash = ?`, hash))
}

// FindBooking returns one booking.
func (s *Store) FindBooking(ctx context.Context, id int64) (*Booking, error) {
	return scanBooking(s.r.QueryRowContext(ctx, `SELECT `+bookingColumns+bookingFrom+`WHERE b.id = ?`, id))
}

// CancelBooking cancels the live booking whose token hashes to hash: it
// frees the slot, raises the sequence, withdraws queued reminders and
// queues compose's cancellation mail (none for a hold: nobody was invited
// yet), and records the visitor's cancel in the booking's history
// (ActorVisitor). Cancelling a cancelled booking changes nothing and
// returns it.
func (s *Store) CancelBooking(ctx context.Context, hash string, compose BookingCompose) (*Booking, error) {
	var (
		b       *Booking
		changed bool
	)
	var version uint64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		changed = false
		var err error
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		if b, err = findBookingByToken(ctx, tx, hash); err != nil {
			return err
		}
		if !b.Live() {
			return nil
		}
		now := s.now()
		held := b.Held()
		b.Status, b.Sequence, b.CancelledAt, b.UpdatedAt = BookingCancelled, b.Sequence+1, now, now
		if _, err := tx.ExecContext(ctx, `UPDATE bookings SET status = 'cancelled', sequence = ?, cancelled_at = ?, updated_at = ?
			WHERE id = ?`, b.Sequence, formatTime(now), formatTime(now), b.ID); err != nil {
			return fmt.Errorf("leads: cancel booking: %w", err)
		}
		if err := withdrawReminders(ctx, tx, b.ID); err != nil {
			return err
		}
		l, err := findLead(ctx, tx, b.LeadID)
		if err != nil {
			return err
		}
		changed = true
		if err := appendAudit(ctx, tx, now, ActorVisitor, AuditBookingCancel, BookingSubject(b.ID), ""); err != nil {
			return err
		}
		if held {
			return nil
		}
		if err := bookingEvent(ctx, tx, now, EventBookingCancelled, b, l); err != nil {
			return err
		}
		return queueBookingMail(ctx, tx, now, b, l, compose)
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.raiseBookingsVersion(version)
	}
	return b, nil
}

// KindReminder is the outbox kind of reminder emails, which are withdrawn
// when their booking is cancelled or moved.
const KindReminder = "reminder"

func withdrawReminders(ctx context.Context, tx *sql.Tx, bookingID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled', lease_until = NULL
		WHERE booking_id = ? AND kind = ? AND status = 'queued'`, bookingID, KindReminder); err != nil {
		return fmt.Errorf("leads: withdraw reminders: %w", err)
	}
	return nil
}

// Reschedule is a request to move a booking.
type Reschedule struct {
	TokenHash            string
	Start, End           time.Time
	WindowFrom, WindowTo time.Time
}

// RescheduleBooking moves the live booking to a new slot in one
// transaction: the rules are re-checked against the other live bookings,
// the old slot is released, the sequence raised (same UID), queued
// reminders withdrawn, compose's updated invitations queued and the
// visitor's move recorded in the booking's history (ActorVisitor).
func (s *Store) RescheduleBooking(ctx context.Context, r Reschedule, check BookingCheck, compose BookingCompose) (*Booking, error) {
	if !r.End.After(r.Start) || r.End.Sub(r.Start) > MaxBookingLength {
		return nil, fmt.Errorf("leads: reschedule booking: end must be after start, at most %v later", MaxBookingLength)
	}
	var (
		b       *Booking
		version uint64
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if version, err = lockCalendar(ctx, tx); err != nil {
			return err
		}
		if b, err = findBookingByToken(ctx, tx, r.TokenHash); err != nil {
			return err
		}
		now := s.now()
		switch {
		case !b.Live() || b.HoldExpired(now):
			return Errorf(ECONFLICT, "This booking was cancelled, so it cannot be moved. Please book a new call.")
		case b.Held():
			return Errorf(ECONFLICT, "Please confirm this call first, with the button on this page; then you can move it.")
		}
		from := b.Start
		if err := moveBooking(ctx, tx, now, b, r, "", check, compose); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, ActorVisitor, AuditBookingMove, BookingSubject(b.ID),
			"from "+formatTime(from)+" to "+formatTime(b.Start))
	})
	if err != nil {
		return nil, err
	}
	s.raiseBookingsVersion(version)
	return b, nil
}

// moveBooking moves the live booking b to r's slot inside tx, which holds
// the calendar's lock: it releases expired holds, re-checks the rules
// against the other live bookings of r's window, raises the sequence (same
// UID), sets a new manage token's hash when newHash is not empty, withdraws
// queued reminders and queues compose's updated invitations.
func moveBooking(ctx context.Context, tx *sql.Tx, now time.Time, b *Booking, r Reschedule, newHash string, check BookingCheck, compose BookingCompose) error {
	if _, err := releaseExpiredHolds(ctx, tx, now); err != nil {
		return err
	}
	live, err := liveSpans(ctx, tx, now, r.WindowFrom, r.WindowTo, b.ID)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(live); err != nil {
			return err
		}
	}
	b.Start, b.End, b.Sequence, b.UpdatedAt = r.Start.UTC(), r.End.UTC(), b.Sequence+1, now
	if newHash != "" {
		b.TokenHash = newHash
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bookings SET start_at = ?, end_at = ?, sequence = ?, updated_at = ?, token_hash = ? WHERE id = ?`,
		formatTime(b.Start), formatTime(b.End), b.Sequence, formatTime(now), b.TokenHash, b.ID); err != nil {
		if slotTaken(err) {
			return ErrSlotTaken
		}
		return fmt.Errorf("leads: move booking: %w", err)
	}
	if err := withdrawReminders(ctx, tx, b.ID); err != nil {
		return err
	}
	l, err := findLead(ctx, tx, b.LeadID)
	if err != nil {
		return err
	}
	if err := bookingEvent(ctx, tx, now, EventBookingRescheduled, b, l); err != nil {
		return err
	}
	return queueBookingMail(ctx, tx, now, b, l, compose)
}

// UpcomingBookings returns confirmed bookings ending after from, soonest
// first, at most limit. Holds are not calls yet and are left out.
func (s *Store) UpcomingBookings(ctx context.Context, from time.Time, limit int) ([]Booking, error) {
	return queryBookings(ctx, s.r, `WHERE b.status = 'confirmed' AND b.hold_until IS NULL AND b.end_at > ? ORDER BY b.start_at LIMIT ?`,
		formatTime(from), limit)
}
