package mailer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Sender sends one message. Its errors are classified by Permanent: a
// permanent failure (an SMTP 5xx answer to MAIL, RCPT or DATA, an invalid
// address) will fail again however often it is retried; anything else (a
// 4xx answer, a network error, a timeout, a refused connection, a failed
// login) is temporary. The Worker calls Send from several goroutines at
// once (for messages to different recipients).
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// PermanentError marks Err as a permanent failure. Senders return it for
// what they know cannot succeed; a fake Sender in a test can return it to
// act out a 5xx answer.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports whether err is a permanent delivery failure: a
// *PermanentError in its chain, or a go-mail *SendError carrying a 5xx
// answer to MAIL FROM, RCPT TO or DATA, or one about an unusable sender or
// recipient address. Every other non-nil error is temporary.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var pe *PermanentError
	if errors.As(err, &pe) {
		return true
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		return true
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose,
		gomail.ErrWriteContent:
		// The code is 0 when the command failed for a network reason.
		code := se.ErrorCode()
		return code >= 500 && code <= 599
	}
	return false
}

// SMTPCode returns the SMTP reply code and enhanced status code (RFC 3463)
// in err's chain, or 0 and "" when there is none. Both are safe to log.
func SMTPCode(err error) (code int, enhanced string) {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode(), se.EnhancedStatusCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, ""
	}
	return 0, ""
}

// safeError describes err for a log line. go-mail's SendError text names
// the recipients and a server's reply text may quote them, so for SMTP
// errors only the stage and the codes are kept.
func safeError(err error) string {
	var se *gomail.SendError
	if errors.As(err, &se) {
		s := se.Reason.String()
		if code := se.ErrorCode(); code != 0 {
			s += fmt.Sprintf(": smtp %d", code)
		}
		if esc := se.EnhancedStatusCode(); esc != "" {
			s += " " + esc
		}
		return s
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return fmt.Sprintf("smtp %d", te.Code)
	}
	return err.Error()
}

// TLS modes of SMTPConfig.
const (
	TLSNone     = "none"     // plain text; credentials only to localhost
	TLSStartTLS = "starttls" // STARTTLS, mandatory: never falls back to plain text
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, port 465)
)

// SMTPConfig configures an SMTPSender.
type SMTPConfig struct {
	Host string
	// Port is the server's port; when zero, 25 for TLSNone, 587 for
	// TLSStartTLS and 465 for TLSImplicit.
	Port int
	// TLS is TLSNone, TLSStartTLS or TLSImplicit; "" means TLSStartTLS.
	TLS string
	// Username and Password log in when Username is set; the mechanism is
	// the strongest the server offers (SCRAM, CRAM-MD5, PLAIN, LOGIN). On
	// a TLSNone connection only the challenge-response ones are used, and
	// PLAIN or LOGIN only to localhost.
	Username, Password string
	// Timeout bounds the connection and each command; 15s when zero.
	Timeout time.Duration
	// HeloName is the EHLO name; the host name when empty.
	HeloName string
	// TLSConfig replaces the default TLS settings (system roots, server
	// name Host), for a private CA; its ServerName defaults to Host.
	TLSConfig *tls.Config
}

// SMTPSender sends messages through an SMTP server with go-mail. It keeps
// a few sessions open between messages, as a relay's own clients do
// (Postfix's connection cache), so that a burst of mail does not pay a TCP
// connection, a greeting, EHLO, STARTTLS and a login per message: a reused
// session sends the next message with MAIL, RCPT and DATA alone. A session
// idle for sessionIdle, or open for sessionMaxAge, is closed. It is safe
// for concurrent use; each session serves one Send at a time.
type SMTPSender struct {
	client *gomail.Client
	pool   sessionPool
}

// NewSMTPSender checks cfg and returns a sender for it. It does not
// connect; Ping does.
func NewSMTPSender(cfg SMTPConfig) (*SMTPSender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mailer: smtp: empty host")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("mailer: smtp: negative timeout")
	}
	mode := strings.ToLower(cfg.TLS)
	if mode == "" {
		mode = TLSStartTLS
	}
	port := cfg.Port
	// No NOOP before each message nor RSET after it: a session's next
	// message starts with MAIL, and a session that died while idle fails
	// there, before the server has taken anything (see Send).
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout), gomail.WithoutNoop(), gomail.WithoutRset()}
	switch mode {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		if port == 0 {
			port = 25
		}
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		if port == 0 {
			port = 587
		}
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = 465
		}
	default:
		return nil, fmt.Errorf("mailer: smtp: unknown TLS mode %q (want none, starttls or tls)", cfg.TLS)
	}
	opts = append(opts, gomail.WithPort(port))
	if mode != TLSNone {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TLSConfig != nil {
			tc = cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if cfg.HeloName != "" {
		opts = append(opts, gomail.WithHELO(cfg.HeloName))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
		if mode == TLSNone {
			// go-mail's PLAIN and LOGIN refuse to send a password in
			// clear text to anything but localhost.
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256,
				gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
		} else {
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
	}
	c, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mailer: smtp: %w", err)
	}
	return &SMTPSender{client: c}, nil
}

// Send delivers m, on an idle session when there is one. A reused session
// that fails at MAIL, the first command of a message, was closed by the
// server while idle (or refuses more on that connection): nothing of m was
// accepted, so m goes once more on a new session. A message the server
// accepted counts as sent even if the session fails afterwards, so that it
// is not sent twice.
func (s *SMTPSender) Send(ctx context.Context, m *Message) error {
	g, err := m.msg()
	if err != nil {
		return err
	}
	for {
		sess := s.pool.get(time.Now())
		reused := sess != nil
		if !reused {
			c, err := s.client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				return fmt.Errorf("mailer: smtp send: dial failed: %w", err)
			}
			sess = &session{c: c, opened: time.Now()}
		}
		err = s.client.SendWithSMTPClient(sess.c, g)
		if err == nil && g.IsDelivered() {
			s.pool.put(sess, time.Now())
			return nil
		}
		// Whatever state the session is in, it is not reused.
		_ = sess.c.Close()
		if g.IsDelivered() {
			return nil
		}
		if err == nil {
			return errors.New("mailer: smtp send: message not delivered")
		}
		var se *gomail.SendError
		if reused && errors.As(err, &se) && se.Reason == gomail.ErrSMTPMailFrom {
			continue
		}
		return fmt.Errorf("mailer: smtp send: %w", err)
	}
}

// Close ends the idle sessions with QUIT; a session in use ends when its
// Send returns. The sender still works after Close, one session per
// message.
func (s *SMTPSender) Close() error {
	if err := quit(s.pool.close()); err != nil {
		return fmt.Errorf("mailer: smtp close: %w", err)
	}
	return nil
}

// Ping connects, says EHLO, starts TLS and logs in as a send would, then
// quits; `leadbook check` uses it to test the settings.
func (s *SMTPSender) Ping(ctx context.Context) error {
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("mailer: smtp ping: %w", err)
	}
	if err := s.client.CloseWithSMTPClient(c); err != nil {
		return fmt.Errorf("mailer: smtp ping: %w", err)
	}
	return nil
}

// DirSender writes each message as one .eml file into Dir, a pickup
// folder that a person or another program empties. The file name is
// "<Date in UTC>-<hash of the Message-ID>.eml": names sort by date, and a
// message sent again replaces its own file instead of adding another.
type DirSender struct {
	Dir string
}

// FileName returns the name Send gives m's file.
func (d DirSender) FileName(m *Message) string {
	sum := sha256.Sum256([]byte(m.MessageID))
	return m.Date.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(sum[:8]) + ".eml"
}

// Send writes m atomically: into a temporary file in Dir, synced, renamed
// to its final name, and the folder synced, so a reader never sees a
// partial .eml. A temporary file left by a failure is removed.
func (d DirSender) Send(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mailer: pickup folder: %w", err)
	}
	b, err := m.Bytes()
	if err != nil {
		return err
	}
	if d.Dir == "" {
		return errors.New("mailer: pickup folder: empty path")
	}
	if err := os.MkdirAll(d.Dir, 0o750); err != nil {
		return fmt.Errorf("mailer: pickup folder: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(d.Dir, d.FileName(m)), b); err != nil {
		return fmt.Errorf("mailer: pickup folder: %w", err)
	}
	return nil
}

func writeFileAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	// The leading dot and the suffix keep pickup programs that read
	// *.eml from taking a file that is still being written.
	f, err := os.CreateTemp(dir, ".tmp-*.eml.part")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = bytes.NewReader(data).WriteTo(f); err != nil {
		return err
	}
	if err = f.Chmod(0o640); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, name); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return err
	}
	return d.Close()
}
