package mailer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"leadbook/leads"
)

// WebhookStore is the part of leads.Store that webhook deliveries use.
type WebhookStore interface {
	WebhookTarget(ctx context.Context, id int64) (*leads.WebhookEndpoint, string, error)
	DisableWebhook(ctx context.Context, id int64, reason string, by leads.Actor) error
}

var _ WebhookStore = (*leads.Store)(nil)

// DefaultWebhookTimeout bounds one webhook call, connection included.
const DefaultWebhookTimeout = 10 * time.Second

// ErrPrivateTarget refuses a webhook target on a loopback, private,
// link-local or otherwise internal address.
var ErrPrivateTarget = errors.New("mailer: webhook target is a loopback, private or link-local address " +
	"(LEADBOOK_WEBHOOK_ALLOW_PRIVATE=true allows it)")

// WebhookDeliverer posts outbox rows of kind leads.KindWebhook to their
// endpoints, signed as Standard Webhooks says: the headers webhook-id (the
// row's MessageID, the same on every retry), webhook-timestamp (Unix
// seconds, of this attempt) and webhook-signature ("v1," and the base64
// HMAC-SHA256 of "id.timestamp.body" under the secret after "whsec_").
//
// A 2xx answer is delivered; 410 disables the endpoint and dead-letters
// the row; another 3xx or 4xx dead-letters it (redirects are not
// followed); 5xx, timeouts and connection failures are retried by the
// Worker. Unless AllowPrivate, every connection is checked after the name
// is resolved, so a name that later resolves to an internal address (DNS
// rebinding) is refused too.
type WebhookDeliverer struct {
	Store        WebhookStore
	AllowPrivate bool
	Timeout      time.Duration    // DefaultWebhookTimeout when zero
	Now          func() time.Time // time.Now when nil

	once   sync.Once
	client *http.Client
}

var _ Deliverer = (*WebhookDeliverer)(nil)

func (d *WebhookDeliverer) init() {
	d.once.Do(func() {
		timeout := orDefault(d.Timeout, DefaultWebhookTimeout)
		dialer := &net.Dialer{Timeout: timeout}
		if !d.AllowPrivate {
			dialer.Control = guardDial
		}
		d.client = &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				// No proxy: a proxy would make the connection the guard
				// checks, and the target's address would go unchecked.
				Proxy:                 nil,
				DialContext:           dialer.DialContext,
				TLSHandshakeTimeout:   timeout,
				ResponseHeaderTimeout: timeout,
				MaxIdleConnsPerHost:   2,
				IdleConnTimeout:       90 * time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	})
}

// guardDial is the dialer's Control: it runs on the resolved address of
// every connection attempt.
func guardDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("mailer: webhook: address %q: %w", address, err)
	}
	if blockedAddr(ap.Addr()) {
		return ErrPrivateTarget
	}
	return nil
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT

// blockedAddr reports whether ip is an address a webhook must not reach
// without AllowPrivate.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedSpace.Contains(ip)
}

// CheckWebhookTarget checks an endpoint URL before it is stored: its form
// (leads.CheckWebhookURL) and, unless allowPrivate, that its host is not
// and does not resolve to an internal address. It returns a leads EINVALID
// error for staff to read.
func CheckWebhookTarget(ctx context.Context, rawURL string, allowPrivate bool) error {
	if err := leads.CheckWebhookURL(rawURL); err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	u, _ := url.Parse(rawURL)
	host := u.Hostname()
	refused := leads.Errorf(leads.EINVALID, "The webhook URL points at a loopback or private address; "+
		"set LEADBOOK_WEBHOOK_ALLOW_PRIVATE=true to allow that.")
	if ip, err := netip.ParseAddr(host); err == nil {
		if blockedAddr(ip) {
			return refused
		}
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return refused
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultWebhookTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return leads.Errorf(leads.EINVALID, "The webhook URL's host %q was not found.", host)
	}
	for _, ip := range ips {
		if blockedAddr(ip) {
			return refused
		}
	}
	return nil
}

// SignWebhook returns the webhook-signature header value of one delivery.
func SignWebhook(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, leads.WebhookSecretPrefix))
	if err != nil {
		return "", fmt.Errorf("mailer: webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Deliver posts one delivery. See WebhookDeliverer for its outcomes.
func (d *WebhookDeliverer) Deliver(ctx context.Context, row leads.OutboxMessage) error {
	d.init()
	id, ok := leads.WebhookEndpointID(row.Recipient)
	if !ok {
		return &PermanentError{Err: fmt.Errorf("mailer: webhook: recipient %q is no endpoint", row.Recipient)}
	}
	ep, secret, err := d.Store.WebhookTarget(ctx, id)
	if leads.ErrorCode(err) == leads.ENOTFOUND {
		return &PermanentError{Err: errors.New("mailer: webhook: the endpoint was removed")}
	}
	if err != nil {
		return err
	}
	if ep.Status != leads.WebhookEnabled {
		return &PermanentError{Err: errors.New("mailer: webhook: the endpoint is disabled")}
	}
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	sig, err := SignWebhook(secret, row.MessageID, now, row.Payload)
	if err != nil {
		return &PermanentError{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(row.Payload))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("mailer: webhook: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadbook-webhooks/1")
	req.Header.Set("webhook-id", row.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrPrivateTarget) {
			return &PermanentError{Err: ErrPrivateTarget}
		}
		return fmt.Errorf("mailer: webhook: %w", stripURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusGone:
		reason := "the endpoint answered 410 Gone"
		if err := d.Store.DisableWebhook(ctx, id, reason, leads.ActorSystem); err != nil {
			return fmt.Errorf("mailer: webhook: disable after 410: %w", err)
		}
		return &PermanentError{Err: errors.New("mailer: webhook: " + reason + "; endpoint disabled")}
	case code >= 300 && code < 400:
		return &PermanentError{Err: fmt.Errorf("mailer: webhook: the endpoint answered %d (redirects are not followed)", code)}
	case code >= 400 && code < 500:
		return &PermanentError{Err: fmt.Errorf("mailer: webhook: the endpoint answered %d", code)}
	}
	return fmt.Errorf("mailer: webhook: the endpoint answered %d", code)
}

// stripURL keeps the cause of a failed call without its URL, which may
// hold a key in its query.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
