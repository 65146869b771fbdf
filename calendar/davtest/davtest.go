// Package davtest starts real servers on loopback for tests: Radicale and
// Xandikos (CalDAV) and Dovecot (IMAP), each in a temporary folder of the
// test with a free port, stopped when the test ends. Outside CI a test
// whose server is not installed is skipped; under CI (CI set) it fails,
// since .ci/run installs them.
package davtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Require returns the path of the server binary, skipping the test when
// it is missing outside CI and failing it under CI.
func Require(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if _, serr := os.Stat(filepath.Join(dir, bin)); serr == nil {
				return filepath.Join(dir, bin)
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run installs it", bin)
		}
		t.Skipf("%s is not installed (apt-get install it to run this test)", bin)
	}
	return p
}

// FreePort returns a loopback port that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Process is a server run in the foreground by a test.
type Process struct {
	t    testing.TB
	name string
	args []string
	env  []string
	addr string

	waited chan error
	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *lockedWriter
}

// Start runs the server and waits until its port accepts connections.
func (p *Process) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return
	}
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	p.cmd, p.out = cmd, out
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			c.Close()
			// Hand the wait back to Stop.
			go func() { p.waited <- <-exited }()
			return
		}
		select {
		case err := <-exited:
			p.cmd = nil
			p.t.Fatalf("%s exited before listening: %v\n%s", p.name, err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server (its process group) and waits for it.
func (p *Process) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.waited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.waited
	}
	p.cmd = nil
}

// Addr is the server's host:port.
func (p *Process) Addr() string { return p.addr }

// Output is what the server printed so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out == nil {
		return ""
	}
	return p.out.String()
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func newProcess(t testing.TB, name, addr string, args ...string) *Process {
	p := &Process{t: t, name: name, args: args, addr: addr}
	p.waited = make(chan error, 1)
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	return p
}

// CalDAV is a CalDAV server with one calendar collection.
type CalDAV struct {
	*Process
	Name               string // "radicale" or "xandikos"
	URL                string // the calendar collection, ending in /
	Username, Password string
}

// Radicale starts Debian's Radicale with a plain htpasswd user and
// creates a calendar for it.
func Radicale(t testing.TB) *CalDAV {
	bin := Require(t, "radicale")
	dir := t.TempDir()
	port := FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	users := filepath.Join(dir, "users")
	write(t, users, "ceo:secret-dav\n")
	conf := filepath.Join(dir, "config")
	write(t, conf, fmt.Sprintf(`[server]
hosts = %s
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[logging]
level = warning
`, addr, users, filepath.Join(dir, "collections")))
	s := &CalDAV{Process: newProcess(t, "radicale", addr, bin, "--config", conf),
		Name: "radicale", URL: "http://" + addr + "/ceo/calendar/", Username: "ceo", Password: "secret-dav"}
	s.Start()
	s.mkcalendar(t)
	return s
}

// Xandikos starts Debian's Xandikos with its default calendar (it has no
// authentication of its own: credentials sent are ignored).
func Xandikos(t testing.TB) *CalDAV {
	bin := Require(t, "xandikos")
	dir := t.TempDir()
	port := FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &CalDAV{Process: newProcess(t, "xandikos", addr, bin, "-d", dir, "-l", "127.0.0.1", "-p", strconv.Itoa(port), "--defaults"),
		Name: "xandikos", URL: "http://" + addr + "/user/calendars/calendar/", Username: "ceo", Password: "ignored"}
	s.Start()
	return s
}

// Servers starts both CalDAV servers, each for a subtest.
func Servers(t *testing.T, f func(t *testing.T, s *CalDAV)) {
	for name, start := range map[string]func(testing.TB) *CalDAV{"radicale": Radicale, "xandikos": Xandikos} {
		t.Run(name, func(t *testing.T) { f(t, start(t)) })
	}
}

func (s *CalDAV) mkcalendar(t testing.TB) {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>CEO</D:displayname></D:prop></D:set></C:mkcalendar>`
	resp := s.Do(t, "MKCALENDAR", s.URL, "application/xml", body, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%s: MKCALENDAR: %s", s.Name, resp.Status)
	}
}

// Do sends one request to the server with its credentials and returns
// the response, its body read into Body.
func (s *CalDAV) Do(t testing.TB, method, url, ctype, body string, header map[string]string) *Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.Username, s.Password)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return &Response{Response: resp, Body: b.String()}
}

// Response is an answer with its body.
type Response struct {
	*http.Response
	Body string
}

// Get returns the object at the collection's name, and its status.
func (s *CalDAV) Get(t testing.TB, name string) *Response {
	return s.Do(t, http.MethodGet, s.URL+name, "", "", nil)
}

// Put writes an object as another client would: a plain PUT.
func (s *CalDAV) Put(t testing.TB, name, ics string) {
	t.Helper()
	resp := s.Do(t, http.MethodPut, s.URL+name, "text/calendar; charset=utf-8", ics, nil)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s: PUT %s: %s %s", s.Name, name, resp.Status, resp.Body)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
