package leads

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Lead sources.
const (
	SourceContact = "contact"
	SourceBooking = "booking"
)

// Field length caps, in characters.
const (
	MaxName    = 200
	MaxEmail   = 254
	MaxCompany = 200
	MaxPhone   = 40
	MaxMessage = 5000
)

// Lead is one person who left their details.
type Lead struct {
	ID             int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	Name           string
	Email          string
	Company        string
	Phone          string
	Message        string
	Source         string
	ConsentVersion string
	ConsentAt      time.Time
	// IdemKey identifies the submission that created the lead; a second
	// submission with the same key returns this lead instead of a new one.
	IdemKey string
	// Status is where the lead stands in the pipeline (StatusNew and so
	// on), LostReason why it was lost. OwnerID is the staff account that
	// follows it up (0: nobody); NextStepAt the day the next step is due,
	// YYYY-MM-DD ("": none). UpdateLeadPipeline changes them.
	Status     string
	LostReason string
	OwnerID    int64
	NextStepAt string
	// OwnerEmail is the owner's address; FindLead fills it in, lists
	// leave it empty.
	OwnerEmail string
	// Attribution is where the visit that created the lead came from.
	Attribution Attribution
}

// Normalize trims and tidies the visitor-typed fields in place: invalid
// UTF-8 and control characters go, single-line fields have their runs of
// white space collapsed, the message keeps its line breaks as "\n", and the
// email's domain is lower-cased.
func (l *Lead) Normalize() {
	l.Name = SingleLine(l.Name)
	l.Email = NormalizeEmail(l.Email)
	l.Company = SingleLine(l.Company)
	l.Phone = SingleLine(l.Phone)
	l.Message = multiLine(l.Message)
	l.Attribution.Normalize()
}

// NormalizeEmail tidies an address as a lead's is stored: one clean line
// (see SingleLine) with its domain lower-cased; the local part keeps its
// case. Erasure, subject access and the outbox's recipient use it too, so
// that one person's address is spelt one way everywhere.
func NormalizeEmail(s string) string {
	s = SingleLine(s)
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[:at] + strings.ToLower(s[at:])
	}
	return s
}

// Validate checks a normalized lead and returns an EINVALID *Error with a
// message per bad field.
func (l *Lead) Validate() error {
	fields := map[string]string{}
	checkLen := func(field, v string, max int) bool {
		if utf8.RuneCountInString(v) > max {
			fields[field] = fmt.Sprintf("Please keep this under %d characters.", max+1)
			return false
		}
		return true
	}
	if l.Name == "" {
		fields["name"] = "Please enter your name."
	} else {
		checkLen("name", l.Name, MaxName)
	}
	if l.Email == "" {
		fields["email"] = "Please enter your email address."
	} else if checkLen("email", l.Email, MaxEmail) && !ValidEmail(l.Email) {
		fields["email"] = "Please enter a valid email address, like name@example.com."
	}
	checkLen("company", l.Company, MaxCompany)
	if checkLen("phone", l.Phone, MaxPhone) && l.Phone != "" && !validPhone(l.Phone) {
		fields["phone"] = "Please enter a phone number using digits, spaces and + ( ) - only."
	}
	checkLen("message", l.Message, MaxMessage)
	if l.ConsentVersion == "" {
		fields["consent"] = "Please agree so that we may store your details and contact you."
	}
	if l.Source != SourceContact && l.Source != SourceBooking {
		return Errorf(EINTERNAL, "unknown lead source %q", l.Source)
	}
	if len(fields) > 0 {
		return &Error{Code: EINVALID, Message: "Please correct the highlighted fields.", Fields: fields}
	}
	return nil
}

// ValidEmail reports whether s is a plain addr-spec (no display name) with a
// dotted domain, as a mail server would accept for delivery.
func ValidEmail(s string) bool {
	if len(s) > MaxEmail || strings.ContainsAny(s, " \t\r\n<>\"(),;:[]\\") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > 64 || at == len(s)-1 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

func validPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +()-./", r):
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 20
}

// SingleLine returns s as one clean line: invalid UTF-8, control and
// directional formatting characters go, runs of white space (CR and LF
// among them) become one space, and the ends are trimmed. It is what the
// single-line lead fields get, and what is safe in a mail header.
func SingleLine(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r) {
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// multiLine keeps line breaks (as "\n") and tabs, drops other control
// characters, and trims trailing space from every line and blank lines
// from both ends.
func multiLine(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == '\n' || r == '\t' || !(unicode.IsControl(r) || isBidiControl(r)) {
			b.WriteRune(r)
		}
	}
	lines := strings.Split(b.String(), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimRightFunc(line, unicode.IsSpace)
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// isBidiControl reports the explicit directional formatting characters,
// which can disguise text in a spreadsheet or an email client.
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// Compose returns the outbox messages that announce a lead. It runs inside
// the transaction, after the lead has its ID, so it must be quick and must
// not touch the network.
type Compose func(l *Lead) ([]OutboxMessage, error)

// CreateLead validates l and stores it, with the outbox messages compose
// returns for it, in one transaction. When a lead with l.IdemKey exists, it
// is loaded into l, nothing new is written and created is false.
func (s *Store) CreateLead(ctx context.Context, l *Lead, compose Compose) (created bool, err error) {
	l.Normalize()
	if err := l.Validate(); err != nil {
		return false, err
	}
	if s.leadReqs != nil {
		return s.createLeadGathered(ctx, l, compose)
	}
	in := *l
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*l = in
		var err error
		created, err = s.insertLeadTx(ctx, tx, l, compose)
		return err
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// insertLeadTx stores l and compose's messages for it in tx, or loads the
// lead that holds l.IdemKey into l (created false).
func (s *Store) insertLeadTx(ctx context.Context, tx *sql.Tx, l *Lead, compose Compose) (created bool, err error) {
	now := s.now()
	l.CreatedAt, l.UpdatedAt = now, now
	if l.ConsentAt.IsZero() {
		l.ConsentAt = now
	}
	if err := insertLead(ctx, tx, l); err == errIdemTaken {
		// A retried POST, here or on another instance: the first
		// answer stands and nothing new is written.
		existing, err := findLeadByIdemKey(ctx, tx, l.IdemKey)
		if err != nil {
			return false, err
		}
		*l = *existing
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := leadEvent(ctx, tx, now, EventLeadCreated, l); err != nil {
		return false, err
	}
	if err := addConversion(ctx, tx, now, l.Attribution, "leads"); err != nil {
		return false, err
	}
	var msgs []OutboxMessage
	if compose != nil {
		if msgs, err = compose(l); err != nil {
			return false, fmt.Errorf("leads: create lead: compose mail: %w", err)
		}
	}
	for i := range msgs {
		msgs[i].LeadID = l.ID
		if err := insertOutbox(ctx, tx, now, &msgs[i]); err != nil {
			return false, err
		}
	}
	return true, nil
}

// errIdemTaken says that a lead with the same idempotency key was stored
// first, perhaps by another instance at the same moment.
var errIdemTaken = errors.New("leads: idempotency key taken")

// insertLead stores l and sets its ID. A key that another lead holds is
// no error of the database's: the insert does nothing (on PostgreSQL it
// waits for the other transaction to end first) and errIdemTaken says so.
func insertLead(ctx context.Context, tx *sql.Tx, l *Lead) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO leads (`+leadInsertColumns+`) VALUES (`+leadInsertMarks+`)
		ON CONFLICT (idem_key) DO NOTHING RETURNING id`, leadInsertArgs(l)...).Scan(&l.ID)
	if isNoRows(err) {
		return errIdemTaken
	}
	if err != nil {
		return fmt.Errorf("leads: insert lead: %w", err)
	}
	l.stored()
	return nil
}

// stored sets what the database gives a lead it has just inserted.
func (l *Lead) stored() {
	l.Status, l.LostReason, l.OwnerID, l.NextStepAt = StatusNew, "", 0, ""
}

// leadInsertColumns are the columns a new lead is written with (its id
// aside), leadInsertMarks their placeholders and leadInsertArgs their
// values, in one place for the single and the gathered insert.
const (
	leadInsertColumns = `created_at, updated_at, name, email, company, phone, message, source, consent_version, consent_at, idem_key, ` + attribColumns
	leadInsertMarks   = `?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`
)

func leadInsertArgs(l *Lead) []any {
	return append([]any{formatTime(l.CreatedAt), formatTime(l.UpdatedAt), l.Name, l.Email, l.Company, l.Phone, l.Message,
		l.Source, l.ConsentVersion, nullTime(l.ConsentAt), nullString(l.IdemKey)}, l.Attribution.args()...)
}

const leadColumns = `id, created_at, updated_at, name, email, company, phone, message, source, consent_version, consent_at, idem_key,
	status, lost_reason, owner_id, next_step_at, ` + attribColumns

type rowScanner interface{ Scan(...any) error }

func scanLead(row rowScanner) (*Lead, error) {
	var (
		l                  Lead
		created, updated   string
		consentAt, idemKey sql.NullString
		owner              sql.NullInt64
		nextStep           sql.NullString
	)
	if err := row.Scan(append([]any{&l.ID, &created, &updated, &l.Name, &l.Email, &l.Company, &l.Phone, &l.Message,
		&l.Source, &l.ConsentVersion, &consentAt, &idemKey, &l.Status, &l.LostReason, &owner, &nextStep}, l.Attribution.dest()...)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(ENOTFOUND, "Lead not found.")
		}
		return nil, fmt.Errorf("leads: scan lead: %w", err)
	}
	var err error
	if l.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if l.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if consentAt.Valid {
		if l.ConsentAt, err = parseTime(consentAt.String); err != nil {
			return nil, err
		}
	}
	l.IdemKey = idemKey.String
	l.OwnerID = owner.Int64
	l.NextStepAt = dayOf(nextStep.String)
	return &l, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findLeadByIdemKey(ctx context.Context, q queryer, key string) (*Lead, error) {
	return scanLead(q.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE idem_key = ?`, key))
}

// FindLead returns the lead with the given id.
func (s *Store) FindLead(ctx context.Context, id int64) (*Lead, error) {
	return findLead(ctx, s.r, id)
}

func findLead(ctx context.Context, q queryer, id int64) (*Lead, error) {
	l, err := scanLead(q.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads WHERE id = ?`, id))
	if err != nil || l.OwnerID == 0 {
		return l, err
	}
	if err := q.QueryRowContext(ctx, `SELECT email FROM staff WHERE id = ?`, l.OwnerID).Scan(&l.OwnerEmail); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("leads: find lead: owner: %w", err)
	}
	return l, nil
}

// CountLeads returns how many leads are stored.
func (s *Store) CountLeads(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM leads`).Scan(&n); err != nil {
		return 0, fmt.Errorf("leads: count leads: %w", err)
	}
	return n, nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
