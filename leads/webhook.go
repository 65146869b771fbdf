package leads

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KindWebhook is the outbox kind of webhook deliveries. Their Recipient is
// WebhookRecipient(endpoint id), their MessageID the webhook-id header
// (the same on every retry) and their Payload the exact JSON body.
const KindWebhook = "webhook"

// Webhook event types.
const (
	EventLeadCreated        = "lead.created"
	EventLeadUpdated        = "lead.updated"
	EventBookingCreated     = "booking.created"
	EventBookingRescheduled = "booking.rescheduled"
	EventBookingCancelled   = "booking.cancelled"
	// EventTest is sent to one endpoint when staff ask for a test; no
	// endpoint subscribes to it.
	EventTest = "webhook.test"
)

// WebhookEvents are the event types an endpoint can subscribe to.
var WebhookEvents = []string{EventLeadCreated, EventLeadUpdated, EventBookingCreated, EventBookingRescheduled, EventBookingCancelled}

// Webhook endpoint statuses.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled"
)

// Audit actions of webhooks.
const (
	AuditWebhookAdd     = "webhook_add"
	AuditWebhookDisable = "webhook_disable"
	AuditWebhookEnable  = "webhook_enable"
	AuditWebhookRemove  = "webhook_remove"
	AuditWebhookTest    = "webhook_test"
)

// WebhookSecretPrefix starts every signing secret (Standard Webhooks).
const WebhookSecretPrefix = "whsec_"

// MaxWebhookURL caps an endpoint's URL, in bytes.
const MaxWebhookURL = 2000

// WebhookEndpoint is a URL that events are posted to. Its secret is not
// part of it: it is shown once, by AddWebhook, and read back only by the
// deliverer (WebhookTarget).
type WebhookEndpoint struct {
	ID             int64
	CreatedAt      time.Time
	CreatedBy      string
	URL            string
	Events         []string
	Status         string
	DisabledAt     time.Time
	DisabledReason string
}

// WebhookRecipient is the outbox Recipient of an endpoint's deliveries.
func WebhookRecipient(id int64) string { return "webhook:" + strconv.FormatInt(id, 10) }

// WebhookEndpointID is the endpoint id of an outbox Recipient written by
// WebhookRecipient.
func WebhookEndpointID(recipient string) (int64, bool) {
	s, ok := strings.CutPrefix(recipient, "webhook:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// ParseWebhookEvents reads a comma-separated list of event types (spaces
// allowed), refusing unknown ones; the result is sorted and has no
// repeats.
func ParseWebhookEvents(s string) ([]string, error) {
	var out []string
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !slices.Contains(WebhookEvents, e) {
			return nil, Errorf(EINVALID, "Unknown webhook event %q; the events are %s.", e, strings.Join(WebhookEvents, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "Choose at least one event: %s.", strings.Join(WebhookEvents, ", "))
	}
	slices.Sort(out)
	return out, nil
}

// CheckWebhookURL checks the form of an endpoint URL: absolute http or
// https, a host, no user information or fragment. Whether its host may be
// reached is the deliverer's to say (mailer.CheckWebhookTarget).
func CheckWebhookURL(raw string) error {
	bad := func(why string) error { return Errorf(EINVALID, "The webhook URL %s.", why) }
	if raw == "" || len(raw) > MaxWebhookURL || strings.ContainsAny(raw, " \t\r\n") {
		return bad(fmt.Sprintf("must be one line of up to %d characters", MaxWebhookURL))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must start with https:// (or http://)")
	case u.Hostname() == "":
		return bad("needs a host")
	case u.User != nil:
		return bad("must not hold a user name or password")
	case u.Fragment != "":
		return bad("must not have a #fragment")
	}
	return nil
}

func newWebhookSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("leads: new webhook secret: %w", err)
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

func newWebhookID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("leads: new webhook id: %w", err)
	}
	return "msg_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// AddWebhook stores an endpoint for the given events and returns it with
// its signing secret, which is shown this once.
func (s *Store) AddWebhook(ctx context.Context, rawURL string, events []string, by Actor) (*WebhookEndpoint, string, error) {
	if err := CheckWebhookURL(rawURL); err != nil {
		return nil, "", err
	}
	events, err := ParseWebhookEvents(strings.Join(events, ","))
	if err != nil {
		return nil, "", err
	}
	secret, err := newWebhookSecret()
	if err != nil {
		return nil, "", err
	}
	w := &WebhookEndpoint{CreatedBy: by.String(), URL: rawURL, Events: events, Status: WebhookEnabled}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		w.CreatedAt = now
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_endpoints (created_at, created_by, url, events, secret, status)
			VALUES (?, ?, ?, ?, ?, 'enabled') RETURNING id`,
			formatTime(now), w.CreatedBy, w.URL, strings.Join(events, ","), secret).Scan(&w.ID); err != nil {
			return fmt.Errorf("leads: add webhook: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditWebhookAdd, "webhook:"+strconv.FormatInt(w.ID, 10), "")
	})
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

const webhookColumns = `id, created_at, created_by, url, events, status, disabled_at, disabled_reason`

func scanWebhook(row rowScanner) (*WebhookEndpoint, error) {
	var (
		w               WebhookEndpoint
		created, events string
		disabledAt      sql.NullString
		disabledReason  string
	)
	if err := row.Scan(&w.ID, &created, &w.CreatedBy, &w.URL, &events, &w.Status, &disabledAt, &disabledReason); err != nil {
		if isNoRows(err) {
			return nil, Errorf(ENOTFOUND, "Webhook endpoint not found.")
		}
		return nil, fmt.Errorf("leads: scan webhook: %w", err)
	}
	var err error
	if w.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if disabledAt.Valid {
		if w.DisabledAt, err = parseTime(disabledAt.String); err != nil {
			return nil, err
		}
	}
	w.Events, w.DisabledReason = strings.Split(events, ","), disabledReason
	return &w, nil
}

// ListWebhooks returns every endpoint, oldest first.
func (s *Store) ListWebhooks(ctx context.Context) ([]WebhookEndpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("leads: list webhooks: %w", err)
	}
	defer rows.Close()
	var out []WebhookEndpoint
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: list webhooks: %w", err)
	}
	return out, nil
}

// FindWebhook returns one endpoint.
func (s *Store) FindWebhook(ctx context.Context, id int64) (*WebhookEndpoint, error) {
	return scanWebhook(s.r.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = ?`, id))
}

// WebhookTarget returns what a delivery to endpoint id needs: the
// endpoint and its signing secret.
func (s *Store) WebhookTarget(ctx context.Context, id int64) (*WebhookEndpoint, string, error) {
	w, err := s.FindWebhook(ctx, id)
	if err != nil {
		return nil, "", err
	}
	var secret string
	if err := s.r.QueryRowContext(ctx, `SELECT secret FROM webhook_endpoints WHERE id = ?`, id).Scan(&secret); err != nil {
		if isNoRows(err) {
			return nil, "", Errorf(ENOTFOUND, "Webhook endpoint not found.")
		}
		return nil, "", fmt.Errorf("leads: webhook target: %w", err)
	}
	return w, secret, nil
}

// DisableWebhook stops deliveries to an endpoint: new events skip it and
// its queued deliveries are cancelled. reason is shown to staff (a 410
// answer, say). Disabling a disabled endpoint changes nothing.
func (s *Store) DisableWebhook(ctx context.Context, id int64, reason string, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET status = 'disabled', disabled_at = ?, disabled_reason = ?
			WHERE id = ? AND status = 'enabled'`, formatTime(now), truncate(SingleLine(reason), 300), id)
		if err != nil {
			return fmt.Errorf("leads: disable webhook: %w", err)
		}
		if affected(res) == 0 {
			if _, err := scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = ?`, id)); err != nil {
				return err
			}
			return nil
		}
		// A delivery under way (leased) is left to its worker, which
		// finds the endpoint disabled or records the answer it got.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled'
			WHERE `+s.d.emailKey("recipient")+` = ? AND kind = ? AND status = 'queued' AND (lease_until IS NULL OR lease_until <= ?)`,
			WebhookRecipient(id), KindWebhook, formatTime(now)); err != nil {
			return fmt.Errorf("leads: disable webhook: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditWebhookDisable, "webhook:"+strconv.FormatInt(id, 10), "")
	})
}

// EnableWebhook lets a disabled endpoint receive events again (from now
// on: what it missed is not sent).
func (s *Store) EnableWebhook(ctx context.Context, id int64, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET status = 'enabled', disabled_at = NULL, disabled_reason = ''
			WHERE id = ? AND status = 'disabled'`, id)
		if err != nil {
			return fmt.Errorf("leads: enable webhook: %w", err)
		}
		if affected(res) == 0 {
			_, err := scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = ?`, id))
			return err
		}
		return appendAudit(ctx, tx, now, by, AuditWebhookEnable, "webhook:"+strconv.FormatInt(id, 10), "")
	})
}

// RemoveWebhook deletes an endpoint and its deliveries, sent or not.
func (s *Store) RemoveWebhook(ctx context.Context, id int64, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("leads: remove webhook: %w", err)
		}
		if affected(res) == 0 {
			return Errorf(ENOTFOUND, "Webhook endpoint not found.")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE `+s.d.emailKey("recipient")+` = ? AND kind = ?`, WebhookRecipient(id), KindWebhook); err != nil {
			return fmt.Errorf("leads: remove webhook: %w", err)
		}
		return appendAudit(ctx, tx, now, by, AuditWebhookRemove, "webhook:"+strconv.FormatInt(id, 10), "")
	})
}

// WebhookDeliveries returns an endpoint's newest deliveries, at most limit.
func (s *Store) WebhookDeliveries(ctx context.Context, id int64, limit int) ([]OutboxMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE `+s.d.emailKey("recipient")+` = ? AND kind = ?
		ORDER BY id DESC LIMIT ?`, WebhookRecipient(id), KindWebhook, limit)
	if err != nil {
		return nil, fmt.Errorf("leads: webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("leads: webhook deliveries: %w", err)
	}
	return out, nil
}

// TestWebhook queues a webhook.test event for one enabled endpoint.
func (s *Store) TestWebhook(ctx context.Context, id int64, by Actor) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		w, err := scanWebhook(tx.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if w.Status != WebhookEnabled {
			return Errorf(ECONFLICT, "This endpoint is disabled; enable it first.")
		}
		body, err := webhookBody(EventTest, now, WebhookTestData{Message: "A test event from leadbook."})
		if err != nil {
			return err
		}
		if err := queueWebhook(ctx, tx, now, id, body, 0, 0); err != nil {
			return err
		}
		return appendAudit(ctx, tx, now, by, AuditWebhookTest, "webhook:"+strconv.FormatInt(id, 10), "")
	})
}

// WebhookTestData is the data of a webhook.test event.
type WebhookTestData struct {
	Message string `json:"message"`
}

// WebhookLead is the data of lead events: who the lead is, not what they
// wrote (the API's GET /api/v1/leads/{id} has the message).
type WebhookLead struct {
	ID        int64     `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Company   string    `json:"company"`
	Phone     string    `json:"phone"`
	Source    string    `json:"source"`
	// Status is the lead's pipeline status; Owner the address of the
	// staff account that follows it up and NextStepAt the day of its
	// next step (YYYY-MM-DD), each nil when none.
	Status     string  `json:"status"`
	Owner      *string `json:"owner"`
	NextStepAt *string `json:"next_step_at"`
}

// WebhookBooking is the data of booking events; never the manage link.
type WebhookBooking struct {
	ID        int64     `json:"id"`
	LeadID    int64     `json:"lead_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Status    string    `json:"status"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Timezone  string    `json:"timezone"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Company   string    `json:"company"`
}

// NewWebhookLead returns l's data as lead events carry it; the JSON API
// builds its fuller answer on it.
func NewWebhookLead(l *Lead) WebhookLead {
	return WebhookLead{ID: l.ID, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC(), Name: l.Name, Email: l.Email,
		Company: l.Company, Phone: l.Phone, Source: l.Source, Status: l.Status, Owner: optString(l.OwnerEmail),
		NextStepAt: optString(l.NextStepAt)}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewWebhookBooking returns b's data as booking events carry it, with the
// visitor's details b holds; the JSON API builds its fuller answer on it.
func NewWebhookBooking(b *Booking) WebhookBooking {
	return WebhookBooking{ID: b.ID, LeadID: b.LeadID, CreatedAt: b.CreatedAt.UTC(), UpdatedAt: b.UpdatedAt.UTC(),
		Status: b.State(), Start: b.Start.UTC(), End: b.End.UTC(), Timezone: b.Timezone,
		Name: b.Name, Email: b.Email, Company: b.Company}
}

// webhookBooking is b's event data with the visitor's details from l, the
// lead as the same transaction left it.
func webhookBooking(b *Booking, l *Lead) WebhookBooking {
	w := NewWebhookBooking(b)
	w.Name, w.Email, w.Company = l.Name, l.Email, l.Company
	return w
}

// webhookEnvelope is the body of every delivery (Standard Webhooks).
type webhookEnvelope struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

func webhookBody(event string, now time.Time, data any) ([]byte, error) {
	body, err := json.Marshal(webhookEnvelope{Type: event, Timestamp: now.UTC().Truncate(time.Millisecond), Data: data})
	if err != nil {
		return nil, fmt.Errorf("leads: webhook body: %w", err)
	}
	return body, nil
}

func queueWebhook(ctx context.Context, tx *sql.Tx, now time.Time, endpoint int64, body []byte, leadID, bookingID int64) error {
	id, err := newWebhookID()
	if err != nil {
		return err
	}
	return insertOutbox(ctx, tx, now, &OutboxMessage{Kind: KindWebhook, Recipient: WebhookRecipient(endpoint),
		MessageID: id, Payload: body, LeadID: leadID, BookingID: bookingID})
}

// enqueueWebhooks queues, inside tx (the change's own transaction), one
// delivery of event with data to every enabled endpoint subscribed to it.
// leadID and bookingID tie the deliveries to their rows, so that erasure
// takes them too. Every store write that makes an event calls it; the lead
// pipeline's changes call it with EventLeadUpdated and webhookLead.
func enqueueWebhooks(ctx context.Context, tx *sql.Tx, now time.Time, event string, data any, leadID, bookingID int64) error {
	ids, err := webhookTargets(ctx, tx, event)
	if err != nil {
		return err
	}
	return enqueueWebhooksTo(ctx, tx, now, ids, event, data, leadID, bookingID)
}

// webhookTargets are the enabled endpoints subscribed to event. Under a
// context from rememberEndpoints it reads the endpoints once.
func webhookTargets(ctx context.Context, tx *sql.Tx, event string) ([]int64, error) {
	m, _ := ctx.Value(endpointsKey{}).(*endpointMemo)
	if m == nil || !m.read {
		eps, err := enabledEndpoints(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("leads: webhooks for %s: %w", event, err)
		}
		if m == nil {
			return subscribed(eps, event), nil
		}
		m.eps, m.read = eps, true
	}
	return subscribed(m.eps, event), nil
}

func subscribed(eps []subscription, event string) []int64 {
	var ids []int64
	for _, ep := range eps {
		if slices.Contains(ep.events, event) {
			ids = append(ids, ep.id)
		}
	}
	return ids
}

type subscription struct {
	id     int64
	events []string
}

func enabledEndpoints(ctx context.Context, tx *sql.Tx) ([]subscription, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, events FROM webhook_endpoints WHERE status = 'enabled' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var eps []subscription
	for rows.Next() {
		var (
			ep     subscription
			events string
		)
		if err := rows.Scan(&ep.id, &events); err != nil {
			return nil, err
		}
		ep.events = strings.Split(events, ",")
		eps = append(eps, ep)
	}
	return eps, rows.Err()
}

// endpointMemo holds the endpoints one transaction read.
type endpointMemo struct {
	read bool
	eps  []subscription
}

type endpointsKey struct{}

// rememberEndpoints returns a context under which the webhookTargets of
// one transaction read the endpoints once, for a transaction that makes
// the events of many changes (a batch of bookings). Its events are then
// sent to the endpoints enabled when its first event was made, as if its
// changes had all been made at that moment.
func rememberEndpoints(ctx context.Context) context.Context {
	return context.WithValue(ctx, endpointsKey{}, &endpointMemo{})
}

// enqueueWebhooksTo queues event with data for the endpoints ids.
func enqueueWebhooksTo(ctx context.Context, tx *sql.Tx, now time.Time, ids []int64, event string, data any, leadID, bookingID int64) error {
	if len(ids) == 0 {
		return nil
	}
	body, err := webhookBody(event, now, data)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := queueWebhook(ctx, tx, now, id, body, leadID, bookingID); err != nil {
			return err
		}
	}
	return nil
}

func leadEvent(ctx context.Context, tx *sql.Tx, now time.Time, event string, l *Lead) error {
	if l.OwnerID != 0 && l.OwnerEmail == "" {
		email, err := staffEmail(ctx, tx, l.OwnerID)
		if err != nil {
			return err
		}
		c := *l
		c.OwnerEmail = email
		l = &c
	}
	return enqueueWebhooks(ctx, tx, now, event, NewWebhookLead(l), l.ID, 0)
}

func bookingEvent(ctx context.Context, tx *sql.Tx, now time.Time, event string, b *Booking, l *Lead) error {
	return enqueueWebhooks(ctx, tx, now, event, webhookBooking(b, l), l.ID, b.ID)
}
