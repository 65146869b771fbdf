package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// A form token is put in every form the site serves. It carries the time the
// form was issued and a random nonce, signed with the site's key: the fill
// time check and the expiry use the time, and the idempotency key uses the
// whole token.
//
//	kind (1) | issued unix seconds (8) | nonce (12) | HMAC-SHA256 (16)
//
// The kind byte is tokenForm for a form as served, and tokenConfirm for the
// "please confirm" step a booking sent faster than the minimum fill time
// gets: a person has then seen the page twice, so that token is exempt from
// the fill time (it still expires).
const (
	tokenForm    = 1
	tokenConfirm = 2
	// tokenConfirmContact is the contact form's confirm step: no pass for
	// the booking form's fill time, nor the booking's for the contact's.
	tokenConfirmContact = 3
	tokenNonce          = 12
	tokenMAC            = 16
	tokenLen            = 1 + 8 + tokenNonce + tokenMAC
)

var (
	errTokenMissing = errors.New("no form token")
	errTokenInvalid = errors.New("bad form token")
)

// DefaultFormMaxAge is how long a form token is accepted when
// Config.FormMaxAge is zero.
const DefaultFormMaxAge = 24 * time.Hour

type tokenSigner struct {
	key []byte
}

// issue returns a new form token issued at now.
func (s tokenSigner) issue(now time.Time) string { return s.issueKind(now, tokenForm) }

// issueConfirm returns a token for the "please confirm" step.
func (s tokenSigner) issueConfirm(now time.Time) string { return s.issueKind(now, tokenConfirm) }

func (s tokenSigner) issueKind(now time.Time, kind byte) string {
	var b [tokenLen]byte
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:9], uint64(now.Unix()))
	if _, err := rand.Read(b[9 : 9+tokenNonce]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	copy(b[9+tokenNonce:], s.mac(b[:9+tokenNonce]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// mac is the form token's truncated signature of b.
func (s tokenSigner) mac(b []byte) []byte { return s.sum(b)[:tokenMAC] }

// sum is the full HMAC-SHA256 of b under the site's key.
func (s tokenSigner) sum(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)
}

// parse checks a token's signature and returns its issue time and kind.
func (s tokenSigner) parse(token string) (time.Time, byte, error) {
	if token == "" {
		return time.Time{}, 0, errTokenMissing
	}
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return time.Time{}, 0, errTokenInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != tokenLen || (b[0] != tokenForm && b[0] != tokenConfirm && b[0] != tokenConfirmContact) {
		return time.Time{}, 0, errTokenInvalid
	}
	if !hmac.Equal(b[9+tokenNonce:], s.mac(b[:9+tokenNonce])) {
		return time.Time{}, 0, errTokenInvalid
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0), b[0], nil
}

// screening is what the anti-bot checks make of a submission.
type screening int

const (
	screenPass    screening = iota // looks like a person: go on
	screenSpam                     // honeypot filled, token missing or forged: quarantine, answer as if accepted
	screenExpired                  // a genuine token older than the form's maximum age: show the form again
	screenFast                     // a genuine token sent within the minimum fill time
)

// screen checks a submission's honeypot and form token. reason says why a
// submission is screenSpam or screenFast, for the quarantine. A token of
// the confirm step is exempt from the fill time when confirmOK.
func (s *Server) screen(honeypot, token string, confirmOK bool) (verdict screening, reason string) {
	var confirm byte
	if confirmOK {
		confirm = tokenConfirm
	}
	return s.screenKind(honeypot, token, confirm)
}

// screenKind is screen for a form whose confirm step issues tokens of
// kind confirm (0: none is exempt from the fill time).
func (s *Server) screenKind(honeypot, token string, confirm byte) (verdict screening, reason string) {
	if strings.TrimSpace(honeypot) != "" {
		return screenSpam, "honeypot"
	}
	now := s.now()
	issued, kind, err := s.tokens.parse(token)
	// A token from the future (beyond clock skew between instances) was
	// not issued by us.
	if err == nil && issued.After(now.Add(time.Minute)) {
		err = errTokenInvalid
	}
	if err == nil && now.Sub(issued) > s.cfg.FormMaxAge {
		return screenExpired, "form expired"
	}
	if s.cfg.MinFill <= 0 {
		return screenPass, ""
	}
	switch {
	case errors.Is(err, errTokenMissing):
		return screenSpam, "no form token"
	case err != nil:
		return screenSpam, "bad form token"
	case now.Sub(issued) < s.cfg.MinFill && !(confirm != 0 && kind == confirm):
		return screenFast, "too fast"
	}
	return screenPass, ""
}
