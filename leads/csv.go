package leads

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// CSVHeader is the export's header row: DESIGN.md's columns in its order,
// then the consent record, then the pipeline (owner as the staff account's
// address, next_step_at as the day YYYY-MM-DD), then where the lead came
// from (the article, landing page, referrer and utm_* values), then
// answers: the answers given on the lead's newest booking that has any, as
// the JSON array the booking keeps ([{"id","label","value"}]), empty when
// none. answers stays the last column.
var CSVHeader = []string{"id", "created_at", "name", "email", "company", "phone", "message", "source", "consent_version", "consent_at",
	"status", "owner", "next_step_at",
	"article", "landing_page", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "answers"}

// GuardCell neutralises a cell that a spreadsheet would run as a formula:
// one that starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text and do not evaluate (OWASP's
// advice on CSV injection). Anything else is returned unchanged.
func GuardCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// CSVEncoder writes leads as CSV (RFC 4180: CRLF line ends, quotes where
// needed, UTF-8) with every cell guarded by GuardCell. The header row goes
// out before the first lead. It buffers: call Flush at the end and check
// its error.
type CSVEncoder struct {
	bw     *bufio.Writer
	w      *csv.Writer
	rec    []string
	header bool
	// raw leaves cells unguarded: for scripts, which read "+44 20 ..."
	// as it was typed, not for spreadsheets.
	raw bool
}

// NewCSVEncoder returns an encoder writing to w through a 64 KiB buffer;
// bom starts the output with a UTF-8 byte-order mark, which Excel needs to
// read the file as UTF-8.
func NewCSVEncoder(w io.Writer, bom bool) *CSVEncoder {
	bw := bufio.NewWriterSize(w, 64<<10)
	if bom {
		bw.WriteString("\uFEFF")
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	return &CSVEncoder{bw: bw, w: cw, rec: make([]string, len(CSVHeader))}
}

func (e *CSVEncoder) writeHeader() error {
	if e.header {
		return nil
	}
	e.header = true
	if err := e.w.Write(CSVHeader); err != nil {
		return fmt.Errorf("leads: csv: %w", err)
	}
	return nil
}

// Encode writes one lead, its owner as l.OwnerEmail.
func (e *CSVEncoder) Encode(l *Lead) error {
	consentAt := ""
	if !l.ConsentAt.IsZero() {
		consentAt = formatTime(l.ConsentAt)
	}
	return e.encodeRow(l.ID, formatTime(l.CreatedAt), l.Name, l.Email, l.Company, l.Phone, l.Message, l.Source,
		l.ConsentVersion, consentAt, l.Status, l.OwnerEmail, l.NextStepAt, &l.Attribution, "")
}

// encodeRow writes a row from stored values; the export uses it to pass
// created_at through as stored (already RFC 3339 UTC) without parsing it.
func (e *CSVEncoder) encodeRow(id int64, createdAt, name, email, company, phone, message, source, consentVersion, consentAt,
	status, owner, nextStep string, a *Attribution, answers string) error {
	if err := e.writeHeader(); err != nil {
		return err
	}
	r := e.rec
	r[0] = strconv.FormatInt(id, 10)
	r[1] = createdAt
	guard := GuardCell
	if e.raw {
		guard = func(s string) string { return s }
	}
	r[2] = guard(name)
	r[3] = guard(email)
	r[4] = guard(company)
	r[5] = guard(phone)
	r[6] = guard(message)
	r[7] = guard(source)
	r[8] = guard(consentVersion)
	r[9] = consentAt
	r[10] = guard(status)
	r[11] = guard(owner)
	r[12] = nextStep
	for i, v := range a.args() {
		r[13+i] = guard(v.(string))
	}
	r[21] = guard(answers)
	if err := e.w.Write(r); err != nil {
		return fmt.Errorf("leads: csv: %w", err)
	}
	return nil
}

// Flush writes out what is buffered (the header too, for an empty export)
// and returns the first error the writers met.
func (e *CSVEncoder) Flush() error {
	if err := e.writeHeader(); err != nil {
		return err
	}
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return fmt.Errorf("leads: csv: %w", err)
	}
	if err := e.bw.Flush(); err != nil {
		return fmt.Errorf("leads: csv: %w", err)
	}
	return nil
}

// ExportFilter selects leads by creation time: From inclusive, To
// exclusive; a zero bound is open.
type ExportFilter struct {
	From, To time.Time
	// Unguarded writes cells as stored, without GuardCell's apostrophe:
	// for scripts, never for a file a spreadsheet opens.
	Unguarded bool
}

// firstInstant and lastInstant stand for an open bound: instants that
// both engines take as times (PostgreSQL's timestamptz has no place for
// SQLite's "" and "\uffff") and that no lead is created outside of.
var (
	firstInstant = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	lastInstant  = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// bounds returns f's bounds as stored times; an open or out-of-range
// bound is the first or last instant.
func (f ExportFilter) bounds() (string, string) {
	clamp := func(t, open time.Time) string {
		if t.IsZero() {
			t = open
		}
		if t.Before(firstInstant) {
			t = firstInstant
		}
		if t.After(lastInstant) {
			t = lastInstant
		}
		return formatTime(t)
	}
	return clamp(f.From, firstInstant), clamp(f.To, lastInstant)
}

// exportFlushEvery is how many rows go out between flushes to the client,
// so a slow reader sees progress and a gone one stops the query soon.
const exportFlushEvery = 4096

// ExportCSV streams the leads that f selects, oldest first, as CSV to w,
// row by row from a read-pool query: memory stays flat however many rows
// there are. It returns the number of rows written.
func (s *Store) ExportCSV(ctx context.Context, w io.Writer, f ExportFilter, bom bool) (int, error) {
	from, to := f.bounds()
	rows, err := s.r.QueryContext(ctx, `SELECT l.id, `+s.d.timeText("l.created_at")+`, l.name, l.email, l.company, l.phone, l.message, l.source,
		l.consent_version, COALESCE(`+s.d.timeText("l.consent_at")+`, ''), l.status, COALESCE(o.email, ''), l.next_step_at,
		l.article, l.landing_page, l.referrer, l.utm_source, l.utm_medium, l.utm_campaign, l.utm_term, l.utm_content,
		COALESCE((SELECT b.answers FROM bookings b WHERE b.lead_id = l.id AND b.answers != '' ORDER BY b.id DESC LIMIT 1), '')
		FROM leads l LEFT JOIN staff o ON o.id = l.owner_id
		WHERE l.created_at >= ? AND l.created_at < ? ORDER BY l.created_at, l.id`, from, to)
	if err != nil {
		return 0, fmt.Errorf("leads: export: %w", err)
	}
	defer rows.Close()
	enc := NewCSVEncoder(w, bom)
	enc.raw = f.Unguarded
	var (
		n                                                                                int
		id                                                                               int64
		created, name, email, company, phone, message, source, consentVersion, consentAt string
		status, owner, answers                                                           string
		nextStep                                                                         sql.NullString
		a                                                                                Attribution
	)
	if err := enc.writeHeader(); err != nil {
		return 0, err
	}
	for rows.Next() {
		if err := rows.Scan(append(append([]any{&id, &created, &name, &email, &company, &phone, &message, &source, &consentVersion, &consentAt,
			&status, &owner, &nextStep}, a.dest()...), &answers)...); err != nil {
			return n, fmt.Errorf("leads: export: %w", err)
		}
		if err := enc.encodeRow(id, created, name, email, company, phone, message, source, consentVersion, consentAt,
			status, owner, dayOf(nextStep.String), &a, answers); err != nil {
			return n, err
		}
		n++
		if n%exportFlushEvery == 0 {
			if err := enc.Flush(); err != nil {
				return n, err
			}
			if f, ok := w.(interface{ Flush() }); ok {
				f.Flush()
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("leads: export: %w", err)
	}
	if err := enc.Flush(); err != nil {
		return n, err
	}
	return n, nil
}
