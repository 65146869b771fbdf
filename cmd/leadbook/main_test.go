package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the server and read from
// the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startRun runs the real wiring on a free port in a temp folder and
// returns the base URL and a function that stops it and returns run's error.
func startRun(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	url, stop, _ := startRunLog(t, env)
	return url, stop
}

// startRunLog is startRun that also returns what the server logs.
func startRunLog(t *testing.T, env map[string]string) (string, func() error, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"LEADBOOK_ADDR":     "127.0.0.1:0",
		"LEADBOOK_DB":       filepath.Join(dir, "leadbook.db"),
		"LEADBOOK_MAIL_DIR": filepath.Join(dir, "mail"),
	}
	for k, v := range env {
		base[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"leadbook"}, envOf(base), strings.NewReader(""), &stdout, &stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listenRE.FindStringSubmatch(stdout.String()); m != nil {
			// stop is safe to call twice: the cleanup calls it too, so the
			// server has let go of its files before the temp dir goes.
			stop := sync.OnceValue(func() error {
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(30 * time.Second):
					return errors.New("run did not return within 30s after cancel")
				}
			})
			t.Cleanup(func() {
				if err := stop(); err != nil {
					t.Errorf("run: %v", err)
				}
			})
			return m[1], stop, &stderr
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\nstderr: %s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start; stderr: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	url, stop := startRun(t, map[string]string{"LEADBOOK_MIN_FILL_SECONDS": "0"})
	for _, path := range []string{"/readyz", "/", "/articles/cto-vs-cio"} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
	}
	res, err := http.Post(url+"/contact", "application/json",
		strings.NewReader(`{"name":"Ada","email":"ada@example.com","consent":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("contact: %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v on shutdown", err)
	}
	if _, err := http.Get(url + "/readyz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		name string
	}{
		{map[string]string{"LEADBOOK_ADDR": "8080"}, nil, "LEADBOOK_ADDR"},
		{map[string]string{"LEADBOOK_BASE_URL": "example.com"}, nil, "LEADBOOK_BASE_URL"},
		{map[string]string{"LEADBOOK_SMTP_TLS": "ssl"}, nil, "LEADBOOK_SMTP_TLS"},
		{map[string]string{"LEADBOOK_SMTP_PORT": "99999"}, nil, "LEADBOOK_SMTP_PORT"},
		{map[string]string{"LEADBOOK_MAIL_FROM": "not an address"}, nil, "LEADBOOK_MAIL_FROM"},
		{map[string]string{"LEADBOOK_TIMEZONE": "Mars/Olympus"}, nil, "LEADBOOK_TIMEZONE"},
		{map[string]string{"LEADBOOK_MIN_NOTICE": "soon"}, nil, "LEADBOOK_MIN_NOTICE"},
		{map[string]string{"LEADBOOK_RATE_LIMIT": "-1"}, nil, "LEADBOOK_RATE_LIMIT"},
		{map[string]string{"LEADBOOK_MAX_CONNS_PER_ADDRESS": "many"}, nil, "LEADBOOK_MAX_CONNS_PER_ADDRESS"},
		{map[string]string{"LEADBOOK_TRUSTED_PROXIES": "10.0.0.0/99"}, nil, "LEADBOOK_TRUSTED_PROXIES"},
		{map[string]string{"LEADBOOK_LOG_FORMAT": "xml"}, nil, "LEADBOOK_LOG_FORMAT"},
		{map[string]string{"LEADBOOK_SMTP_PASSWORD_FILE": "/nonexistent/secret"}, nil, "LEADBOOK_SMTP_PASSWORD"},
		{nil, []string{"--slot-minutes", "0"}, "LEADBOOK_SLOT_MINUTES"},
		{map[string]string{"LEADBOOK_DRAIN_DELAY": "2h"}, nil, "LEADBOOK_DRAIN_DELAY"},
		{map[string]string{"LEADBOOK_MAIL_RETRY_BASE": "fast"}, nil, "LEADBOOK_MAIL_RETRY_BASE"},
		{map[string]string{"LEADBOOK_MAIL_RETRY_BASE": "10m", "LEADBOOK_MAIL_RETRY_MAX": "1m"}, nil, "LEADBOOK_MAIL_RETRY_MAX"},
		{map[string]string{"LEADBOOK_MAIL_LEASE": "10ms"}, nil, "LEADBOOK_MAIL_LEASE"},
		{map[string]string{"LEADBOOK_SIGNIN_PER_ACCOUNT_ADDRESS": "0"}, nil, "LEADBOOK_SIGNIN_PER_ACCOUNT_ADDRESS"},
		{map[string]string{"LEADBOOK_SIGNIN_PER_ADDRESS": "many"}, nil, "LEADBOOK_SIGNIN_PER_ADDRESS"},
		{map[string]string{"LEADBOOK_SIGNIN_PER_ACCOUNT": "-1"}, nil, "LEADBOOK_SIGNIN_PER_ACCOUNT"},
		{map[string]string{"LEADBOOK_HASH_CONCURRENCY": "0"}, nil, "LEADBOOK_HASH_CONCURRENCY"},
		{map[string]string{"LEADBOOK_FORM_MAX_AGE": "0"}, nil, "LEADBOOK_FORM_MAX_AGE"},
		{map[string]string{"LEADBOOK_MAX_UPCOMING_PER_EMAIL": "-1"}, nil, "LEADBOOK_MAX_UPCOMING_PER_EMAIL"},
		{map[string]string{"LEADBOOK_WEBHOOK_ALLOW_PRIVATE": "yes please"}, nil, "LEADBOOK_WEBHOOK_ALLOW_PRIVATE"},
		{map[string]string{"LEADBOOK_BOOKINGS_PER_ADDRESS_DAY": "many"}, nil, "LEADBOOK_BOOKINGS_PER_ADDRESS_DAY"},
		{map[string]string{"LEADBOOK_BOOKING_CONFIRM": "sms"}, nil, "LEADBOOK_BOOKING_CONFIRM"},
		{map[string]string{"LEADBOOK_BOOKING_HOLD": "10s"}, nil, "LEADBOOK_BOOKING_HOLD"},
		{map[string]string{"LEADBOOK_PRIVACY_FILE": "/nonexistent/privacy.md"}, nil, "LEADBOOK_PRIVACY_FILE"},
		{map[string]string{"LEADBOOK_CONTACT_EMAIL": "Hello <hello@example.com>"}, nil, "LEADBOOK_CONTACT_EMAIL"},
		{map[string]string{"LEADBOOK_CONTACT_PHONE": "call us"}, nil, "LEADBOOK_CONTACT_PHONE"},
		{map[string]string{"LEADBOOK_CALDAV_URL": "ftp://dav.example.com/cal/"}, nil, "LEADBOOK_CALDAV_URL"},
		{map[string]string{"LEADBOOK_CALDAV_URL": "https://ceo:pw@dav.example.com/cal/"}, nil, "LEADBOOK_CALDAV_URL"},
		{map[string]string{"LEADBOOK_CALDAV_PASSWORD": "pw"}, nil, "LEADBOOK_CALDAV_USERNAME"},
		{map[string]string{"LEADBOOK_IMAP_URL": "pop3://mail.example.com"}, nil, "LEADBOOK_IMAP_URL"},
		{map[string]string{"LEADBOOK_IMAP_URL": "imaps://mail.example.com"}, nil, "LEADBOOK_IMAP_USERNAME"},
		{map[string]string{"LEADBOOK_IMAP_POLL": "1s"}, nil, "LEADBOOK_IMAP_POLL"},
		{map[string]string{"LEADBOOK_MEETING_URL": "meet.jit.si/{room}"}, nil, "LEADBOOK_MEETING_URL"},
		{map[string]string{"LEADBOOK_MEETING_URL": "https://{room}.example.com/"}, nil, "LEADBOOK_MEETING_URL"},
		{map[string]string{"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"Goal","label":"Goal","kind":"text"}]`}, nil, "LEADBOOK_BOOKING_QUESTIONS"},
		{map[string]string{"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"a","label":"A","kind":"text"},{"id":"a","label":"B","kind":"long"}]`}, nil, "LEADBOOK_BOOKING_QUESTIONS"},
		{map[string]string{"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"a","label":"A","kind":"text","choices":["x","y"]}]`}, nil, "LEADBOOK_BOOKING_QUESTIONS"},
		{map[string]string{"LEADBOOK_BOOKING_QUESTIONS": `[{"id":"a","label":"A","kind":"choice","choices":["x"]}]`}, nil, "LEADBOOK_BOOKING_QUESTIONS"},
		{map[string]string{"LEADBOOK_BOOKING_QUESTIONS": `{"id":"a"}`}, nil, "LEADBOOK_BOOKING_QUESTIONS"},
		{map[string]string{"LEADBOOK_MAX_BOOKINGS_PER_EMAIL_WEEK": "-1"}, nil, "LEADBOOK_MAX_BOOKINGS_PER_EMAIL_WEEK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{
				"LEADBOOK_DB":       filepath.Join(dir, "data", "leadbook.db"),
				"LEADBOOK_MAIL_DIR": filepath.Join(dir, "mail"),
				"LEADBOOK_ADDR":     "127.0.0.1:0",
			}
			for k, v := range tt.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"leadbook"}, tt.args...), envOf(env), nil, &stdout, &stderr)
			var ce *configError
			if !errors.As(err, &ce) || ce.name != tt.name {
				t.Fatalf("error %v, want one naming %s", err, tt.name)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Error("something was created before the configuration was valid")
			}
		})
	}
}

func TestConfigPrecedence(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"LEADBOOK_SLOT_MINUTES":       "45",
		"LEADBOOK_SMTP_USERNAME":      "mailer",
		"LEADBOOK_SMTP_PASSWORD_FILE": secret,
		"LEADBOOK_TRUSTED_PROXIES":    "10.0.0.0/8, 192.0.2.1",
	}
	c, rest, err := parseConfig("leadbook", []string{"--slot-minutes=20", "migrate"}, envOf(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SlotMinutes != 20 {
		t.Errorf("flag did not win: %d", c.SlotMinutes)
	}
	if c.SMTPPassword != "s3cret" {
		t.Errorf("password from file: %q", c.SMTPPassword)
	}
	if len(c.Trusted) != 2 || c.Trusted[1].String() != "192.0.2.1/32" {
		t.Errorf("trusted proxies %v", c.Trusted)
	}
	if c.Addr != ":8080" || c.DB != "data/leadbook.db" || c.Timezone.String() != "UTC" || c.MinFill != 3*time.Second || c.MaxConns != 256 {
		t.Errorf("defaults: %+v", c)
	}
	if c.StaffEmail.Address != "bookings@localhost" {
		t.Errorf("staff email defaults to the sender, got %q", c.StaffEmail.Address)
	}
	if len(rest) != 1 || rest[0] != "migrate" {
		t.Errorf("rest %v", rest)
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"leadbook", "--help"}, envOf(nil), nil, &stdout, io.Discard)
	if !errors.Is(err, errHelp) {
		t.Fatalf("err %v", err)
	}
	for _, s := range settings {
		if !strings.Contains(stdout.String(), s.env) || !strings.Contains(stdout.String(), "--"+s.flagName()) {
			t.Errorf("help lacks %s", s.env)
		}
	}
	if !strings.Contains(stdout.String(), "mon-fri 09:00-17:00") {
		t.Error("help lacks defaults")
	}
}

func TestMigrateCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "m.db")
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"leadbook", "migrate"}, envOf(map[string]string{"LEADBOOK_DB": db}), nil, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "applied") {
		t.Fatalf("output %q", stdout.String())
	}
}

// TestVersion: --version prints the version, the commit and the Go that
// built the binary, without reading the configuration.
func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	env := envOf(map[string]string{"LEADBOOK_ADDR": "not an address"})
	if err := run(context.Background(), []string{"leadbook", "--version"}, env, nil, &stdout, io.Discard); err != nil {
		t.Fatalf("run --version: %v", err)
	}
	line := stdout.String()
	re := regexp.MustCompile(`^leadbook \S+ commit \S+( \(modified\))?( \S+)? ` + regexp.QuoteMeta(runtime.Version()) + ` ` +
		regexp.QuoteMeta(runtime.GOOS+"/"+runtime.GOARCH) + "\n$")
	if !re.MatchString(line) {
		t.Errorf("--version printed %q", line)
	}
}

func TestBuildInfoOf(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: runtime.Version(),
		Main:      debug.Module{Path: "leadbook", Version: "v0.0.0-20261127100000-0123456789ab"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-27T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	want := "leadbook v0.0.0-20261127100000-0123456789ab commit 0123456789abcdef0123456789abcdef01234567 (modified) 2026-11-27T10:00:00Z " +
		runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
	if got := buildInfoOf(bi, "").String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := buildInfoOf(bi, "v1.2.3").Version; got != "v1.2.3" {
		t.Errorf("a release version set at link time lost to %q", got)
	}
	if got := buildInfoOf(nil, "").String(); !strings.HasPrefix(got, "leadbook (devel) commit unknown go") {
		t.Errorf("without build information: %q", got)
	}
}

// TestStartLogsVersion: the first log line of a server names its build.
func TestStartLogsVersion(t *testing.T) {
	_, stop, stderr := startRunLog(t, nil)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`msg=starting version=\S+ commit=\S+ modified=(true|false) go=` + regexp.QuoteMeta(runtime.Version())).MatchString(stderr.String()) {
		t.Errorf("no start-up line with the build:\n%s", stderr.String())
	}
}
