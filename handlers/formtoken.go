package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// A form token is put in every form the site serves. It carries the time the
// form was issued and a random nonce, signed with the site's key: the fill
// time check uses the time, and the idempotency key uses the whole token.
//
//	version(1) | issued unix seconds (8) | nonce (12) | HMAC-SHA256 (16)
const (
	tokenVersion = 1
	tokenNonce   = 12
	tokenMAC     = 16
	tokenLen     = 1 + 8 + tokenNonce + tokenMAC
)

var (
	errTokenMissing = errors.New("no form token")
	errTokenInvalid = errors.New("bad form token")
	errTokenFast    = errors.New("submitted too fast")
)

type tokenSigner struct {
	key []byte
}

func (s tokenSigner) issue(now time.Time) string {
	var b [tokenLen]byte
	b[0] = tokenVersion
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

// check verifies a token and that at least minFill passed since it was
// issued. It returns the issue time when the signature is good.
func (s tokenSigner) check(token string, now time.Time, minFill time.Duration) (time.Time, error) {
	issued, err := s.parse(token)
	if err != nil {
		return issued, err
	}
	// A token from the future (beyond clock skew between instances) was
	// not issued by us.
	if issued.After(now.Add(time.Minute)) {
		return issued, errTokenInvalid
	}
	if now.Sub(issued) < minFill {
		return issued, errTokenFast
	}
	return issued, nil
}

// parse checks a token's signature and returns its issue time.
func (s tokenSigner) parse(token string) (time.Time, error) {
	if token == "" {
		return time.Time{}, errTokenMissing
	}
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenLen) {
		return time.Time{}, errTokenInvalid
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != tokenLen || b[0] != tokenVersion {
		return time.Time{}, errTokenInvalid
	}
	if !hmac.Equal(b[9+tokenNonce:], s.mac(b[:9+tokenNonce])) {
		return time.Time{}, errTokenInvalid
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[1:9])), 0), nil
}
