package leads

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// LeadFilter selects a page of leads for the dashboard, newest first.
type LeadFilter struct {
	// Query is matched word by word against the starts of the words of
	// name, email and company ("ada love" finds "Ada Lovelace").
	Query string
	// From and To bound created_at: From inclusive, To exclusive.
	From, To time.Time
	// Before is the keyset cursor: only leads older than this one (by
	// created_at, then id). Empty for the first page.
	Before string
	// Limit is the page size; 50 when zero.
	Limit int
	// Status, when set, keeps the leads with that status. OwnerID keeps
	// the leads of that staff account; Unowned the leads of nobody.
	Status  string
	OwnerID int64
	Unowned bool
	// Sort is SortNewest (the default) or SortNextStep: the soonest next
	// step first, leads without one after them (oldest first), and then
	// the cursor is one of that order.
	Sort string
}

// Lead list orders.
const (
	SortNewest   = ""
	SortNextStep = "next_step"
)

// noNextStep stands for "no next step" in the next-step order: after
// every day a next step can be on (ParseDay).
const noNextStep = "9999-12-31"

// pipelineWhere returns the conditions (each starting with " AND ") and
// arguments that f's pipeline filters add to a lead query (alias l).
func (f LeadFilter) pipelineWhere() (string, []any) {
	var (
		where string
		args  []any
	)
	if f.Status != "" {
		where += " AND l.status = ?"
		args = append(args, f.Status)
	}
	if f.Unowned {
		where += " AND l.owner_id IS NULL"
	} else if f.OwnerID != 0 {
		where += " AND l.owner_id = ?"
		args = append(args, f.OwnerID)
	}
	return where, args
}

// LeadPage is one page of leads and the cursor of the next, if any.
type LeadPage struct {
	Leads []Lead
	Next  string
}

// searchWords turns what staff typed into the words of a word-prefix
// search: every run of letters and digits, lower-cased, at most eight, all
// of which must match. Quotes and operators cannot reach the query.
func searchWords(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 8 {
		words = words[:8]
	}
	return words
}

func cursorOf(l *Lead) string { return formatTime(l.CreatedAt) + "_" + fmt.Sprint(l.ID) }

func parseCursor(c string) (string, int64, bool) {
	at, id, ok := strings.Cut(c, "_")
	if !ok {
		return "", 0, false
	}
	var n int64
	if _, err := fmt.Sscan(id, &n); err != nil {
		return "", 0, false
	}
	t, err := parseTime(at)
	if err != nil || t.Before(firstInstant) || t.After(lastInstant) {
		return "", 0, false
	}
	// As stored: SQLite compares the text, PostgreSQL the instant, and a
	// cursor typed in another form (another zone, say) must mean the same
	// on both.
	return formatTime(t), n, true
}

// ListLeads returns one page of leads, newest first. Paging is by keyset,
// so every page costs the same however deep it is.
//
// Without a search, the list walks the created_at index: (created_at, id)
// descending. A search walks the search index in id order instead, which
// the full-text index gives for free; ids are handed out in creation order
// by the one writer, so the order is the same. A date filter narrows the
// search to the ids that the dates span, and is checked again on every row.
func (s *Store) ListLeads(ctx context.Context, f LeadFilter) (LeadPage, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	if f.Status != "" && !ValidStatus(f.Status) {
		return LeadPage{}, Errorf(EINVALID, "Unknown lead status %q.", f.Status)
	}
	if f.Sort == SortNextStep {
		return s.listByNextStep(ctx, f)
	}
	pw, pargs := f.pipelineWhere()
	from, to := ExportFilter{From: f.From, To: f.To}.bounds()
	curAt, curID, hasCursor := parseCursor(f.Before)
	words := searchWords(f.Query)
	if len(words) == 0 && strings.TrimSpace(f.Query) != "" {
		return LeadPage{}, nil // nothing searchable, like "***": no match
	}
	var (
		query string
		args  []any
	)
	if q := strings.TrimSpace(f.Query); ValidEmail(q) {
		// A whole address: the email index answers at once, where the
		// words "example" and "com" would match nearly every lead.
		where := s.d.emailKey("l.email") + " = ? AND l.created_at >= ? AND l.created_at < ?" + pw
		args = append([]any{asciiLower(q), from, to}, pargs...)
		if hasCursor {
			where += " AND l.id < ?"
			args = append(args, curID)
		}
		query = `SELECT ` + prefixed("l.", leadColumns) + ` FROM leads l WHERE ` + where + ` ORDER BY l.id DESC LIMIT ?`
	} else if len(words) == 0 {
		// One upper bound, the tighter of the filter's and the cursor's,
		// so SQLite's range scan starts where the page does.
		where := "l.created_at >= ? AND l.created_at < ?"
		args = []any{from, to}
		if hasCursor && curAt < to {
			where = "l.created_at >= ? AND l.created_at <= ? AND (l.created_at < ? OR l.id < ?)"
			args = []any{from, curAt, curAt, curID}
		}
		where += pw
		args = append(args, pargs...)
		query = `SELECT ` + prefixed("l.", leadColumns) + ` FROM leads l WHERE ` + where +
			` ORDER BY l.created_at DESC, l.id DESC LIMIT ?`
	} else {
		lo, hi := int64(0), int64(1<<62)
		if !f.From.IsZero() {
			if err := s.r.QueryRowContext(ctx, `SELECT id FROM leads WHERE created_at >= ? ORDER BY created_at, id LIMIT 1`, from).Scan(&lo); err != nil {
				if isNoRows(err) {
					return LeadPage{}, nil
				}
				return LeadPage{}, fmt.Errorf("leads: list leads: %w", err)
			}
		}
		if !f.To.IsZero() {
			if err := s.r.QueryRowContext(ctx, `SELECT id FROM leads WHERE created_at < ? ORDER BY created_at DESC, id DESC LIMIT 1`, to).Scan(&hi); err != nil {
				if isNoRows(err) {
					return LeadPage{}, nil
				}
				return LeadPage{}, fmt.Errorf("leads: list leads: %w", err)
			}
		}
		if hasCursor && curID-1 < hi {
			hi = curID - 1
		}
		id := s.d.searchID
		query = `SELECT ` + prefixed("l.", leadColumns) + ` FROM ` + s.d.searchFrom + `
			WHERE ` + s.d.search + ` AND ` + id + ` >= ? AND ` + id + ` <= ? AND l.created_at >= ? AND l.created_at < ?` + pw + `
			ORDER BY ` + id + ` DESC LIMIT ?`
		args = append([]any{s.d.searchQuery(words), lo, hi, from, to}, pargs...)
	}
	args = append(args, f.Limit+1)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return LeadPage{}, fmt.Errorf("leads: list leads: %w", err)
	}
	defer rows.Close()
	var p LeadPage
	for rows.Next() {
		l, err := scanLead(rows)
		if err != nil {
			return LeadPage{}, err
		}
		p.Leads = append(p.Leads, *l)
	}
	if err := rows.Err(); err != nil {
		return LeadPage{}, fmt.Errorf("leads: list leads: %w", err)
	}
	if len(p.Leads) > f.Limit {
		p.Leads = p.Leads[:f.Limit]
		p.Next = cursorOf(&p.Leads[f.Limit-1])
	}
	return p, nil
}

// listByNextStep is ListLeads in the next-step order. The cursor is
// "n" followed by the day (noNextStep for none) and the id.
func (s *Store) listByNextStep(ctx context.Context, f LeadFilter) (LeadPage, error) {
	from, to := ExportFilter{From: f.From, To: f.To}.bounds()
	words := searchWords(f.Query)
	if len(words) == 0 && strings.TrimSpace(f.Query) != "" {
		return LeadPage{}, nil
	}
	// The period's bounds only when there is one: open bounds would lead
	// the planner to the creation-time index instead of the next step's.
	fromClause, where, args := "leads l", "1 = 1", []any{}
	if !f.From.IsZero() || !f.To.IsZero() {
		where, args = "l.created_at >= ? AND l.created_at < ?", []any{from, to}
	}
	if len(words) > 0 {
		fromClause, where = s.d.searchFrom, s.d.search+" AND "+where
		args = append([]any{s.d.searchQuery(words)}, args...)
	}
	pw, pargs := f.pipelineWhere()
	where += pw
	args = append(args, pargs...)
	key := "COALESCE(l.next_step_at, '" + noNextStep + "')"
	if day, id, ok := parseStepCursor(f.Before); ok {
		where += " AND (" + key + " > ? OR (" + key + " = ? AND l.id > ?))"
		args = append(args, day, day, id)
	}
	args = append(args, f.Limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed("l.", leadColumns)+` FROM `+fromClause+` WHERE `+where+`
		ORDER BY `+key+`, l.id LIMIT ?`, args...)
	if err != nil {
		return LeadPage{}, fmt.Errorf("leads: list leads: %w", err)
	}
	defer rows.Close()
	var p LeadPage
	for rows.Next() {
		l, err := scanLead(rows)
		if err != nil {
			return LeadPage{}, err
		}
		p.Leads = append(p.Leads, *l)
	}
	if err := rows.Err(); err != nil {
		return LeadPage{}, fmt.Errorf("leads: list leads: %w", err)
	}
	if len(p.Leads) > f.Limit {
		p.Leads = p.Leads[:f.Limit]
		last := &p.Leads[f.Limit-1]
		day := last.NextStepAt
		if day == "" {
			day = noNextStep
		}
		p.Next = "n" + day + "_" + strconv.FormatInt(last.ID, 10)
	}
	return p, nil
}

func parseStepCursor(c string) (string, int64, bool) {
	if len(c) < 12 || c[0] != 'n' || c[11] != '_' {
		return "", 0, false
	}
	day, err := time.Parse(time.DateOnly, c[1:11])
	if err != nil {
		return "", 0, false
	}
	id, err := strconv.ParseInt(c[12:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return day.Format(time.DateOnly), id, true
}

func prefixed(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// LeadBookings returns a lead's bookings, newest first.
func (s *Store) LeadBookings(ctx context.Context, leadID int64) ([]Booking, error) {
	return queryBookings(ctx, s.r, `WHERE b.lead_id = ? ORDER BY b.start_at DESC`, leadID)
}

// Booking lists for the dashboard.
const (
	BookingsUpcoming  = "upcoming"
	BookingsPast      = "past"
	BookingsCancelled = "cancelled"
)

// ListBookings returns upcoming (soonest first), past or cancelled (newest
// first) bookings, at most limit.
func (s *Store) ListBookings(ctx context.Context, which string, limit int) ([]Booking, error) {
	now := formatTime(s.now())
	switch which {
	case BookingsUpcoming:
		return queryBookings(ctx, s.r, `WHERE `+liveCond+` AND b.end_at > ? ORDER BY b.start_at LIMIT ?`, now, now, limit)
	case BookingsPast:
		return queryBookings(ctx, s.r, `WHERE b.status = 'confirmed' AND b.hold_until IS NULL AND b.end_at <= ? ORDER BY b.start_at DESC LIMIT ?`, now, limit)
	case BookingsCancelled:
		return queryBookings(ctx, s.r, `WHERE b.status = 'cancelled' ORDER BY b.start_at DESC LIMIT ?`, limit)
	}
	return nil, Errorf(EINVALID, "Unknown booking list %q.", which)
}

// WeekCount is the number of leads and bookings created in one week.
type WeekCount struct {
	Week     time.Time // Monday 00:00 UTC
	Leads    int
	Bookings int
}

// WeeklyCounts returns the last n weeks' counts, oldest first, the current
// week last.
func (s *Store) WeeklyCounts(ctx context.Context, n int) ([]WeekCount, error) {
	now := s.now().UTC()
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	monday = monday.AddDate(0, 0, -((int(monday.Weekday()) + 6) % 7))
	start := monday.AddDate(0, 0, -7*(n-1))
	out := make([]WeekCount, n)
	for i := range out {
		out[i].Week = start.AddDate(0, 0, 7*i)
	}
	bucket := func(table, col string, add func(w *WeekCount, k int)) error {
		// Days, not weeks, from SQL: the week arithmetic stays in Go.
		rows, err := s.r.QueryContext(ctx, `SELECT `+s.d.day(col)+`, COUNT(*) FROM `+table+` WHERE `+col+` >= ?
			GROUP BY 1`, formatTime(start))
		if err != nil {
			return fmt.Errorf("leads: weekly counts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				day string
				k   int
			)
			if err := rows.Scan(&day, &k); err != nil {
				return fmt.Errorf("leads: weekly counts: %w", err)
			}
			d, err := time.Parse(time.DateOnly, day)
			if err != nil {
				continue
			}
			if i := int(d.Sub(start).Hours()) / (24 * 7); i >= 0 && i < n {
				add(&out[i], k)
			}
		}
		return rows.Err()
	}
	if err := bucket("leads", "created_at", func(w *WeekCount, k int) { w.Leads += k }); err != nil {
		return nil, err
	}
	if err := bucket("bookings", "created_at", func(w *WeekCount, k int) { w.Bookings += k }); err != nil {
		return nil, err
	}
	return out, nil
}

// Overview holds the dashboard's headline numbers.
type Overview struct {
	Leads, LeadsThisWeek int
	Upcoming             int
	Mail                 MailStats
	Spam                 int
	PendingErasures      int
	// ByStatus counts the leads per status, in pipeline order.
	ByStatus []StatusCount
}

// Overview counts what the dashboard's front page shows.
func (s *Store) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	now := s.now()
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM leads),
		(SELECT COUNT(*) FROM leads WHERE created_at >= ?),
		(SELECT COUNT(*) FROM bookings b WHERE `+liveCond+` AND b.end_at > ?),
		(SELECT COUNT(*) FROM spam WHERE status = 'held'),
		(SELECT COUNT(*) FROM erasures WHERE status = 'pending')`,
		formatTime(now.Add(-7*24*time.Hour)), formatTime(now), formatTime(now)).Scan(&o.Leads, &o.LeadsThisWeek, &o.Upcoming, &o.Spam, &o.PendingErasures)
	if err != nil {
		return o, fmt.Errorf("leads: overview: %w", err)
	}
	if o.Mail, err = s.MailStats(ctx); err != nil {
		return o, err
	}
	if o.ByStatus, err = s.StatusCounts(ctx); err != nil {
		return o, err
	}
	return o, nil
}

// FindSpam returns one held submission.
func (s *Store) FindSpam(ctx context.Context, id int64) (*Spam, error) {
	var (
		sp               Spam
		created, payload string
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, created_at, form, reason, email, payload, status FROM spam WHERE id = ?`, id).
		Scan(&sp.ID, &created, &sp.Form, &sp.Reason, &sp.Email, &payload, &sp.Status)
	if isNoRows(err) {
		return nil, Errorf(ENOTFOUND, "No such held submission.")
	}
	if err != nil {
		return nil, fmt.Errorf("leads: find spam: %w", err)
	}
	if sp.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	sp.Payload = []byte(payload)
	return &sp, nil
}
