package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// httpConn is one keep-alive connection of a test client.
type httpConn struct {
	net.Conn
	r *bufio.Reader
}

// dialFrom opens a connection to the server at hostport from the loopback
// address local.
func dialFrom(t *testing.T, local, hostport string) *httpConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", hostport)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return &httpConn{Conn: c, r: bufio.NewReader(c)}
}

// get sends GET path on the connection and returns the answer's status
// and body, or the error of a connection the server closed.
func (c *httpConn) get(path string) (int, string, error) {
	// The deadline only keeps a broken server from hanging the test.
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: leadbook\r\n\r\n")); err != nil {
		return 0, "", err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// TestConnectionCapPerAddress: one client address holds at most
// LEADBOOK_MAX_CONNS_PER_ADDRESS open connections; the ones beyond are
// closed unanswered, another address is served meanwhile, and a closed
// connection frees its slot.
func TestConnectionCapPerAddress(t *testing.T) {
	const limit = 8
	url, stop := startRun(t, map[string]string{"LEADBOOK_MAX_CONNS_PER_ADDRESS": "8"})
	defer stop()
	hostport := strings.TrimPrefix(url, "http://")

	held := make([]*httpConn, limit)
	for i := range held {
		held[i] = dialFrom(t, "127.0.0.1", hostport)
		if code, _, err := held[i].get("/livez"); err != nil || code != http.StatusOK {
			t.Fatalf("connection %d of %d: %d %v", i+1, limit, code, err)
		}
	}
	for i := range 4 {
		c := dialFrom(t, "127.0.0.1", hostport)
		if code, _, err := c.get("/livez"); err == nil {
			t.Fatalf("connection %d over the cap was answered %d", i+1, code)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection %d over the cap was kept open, unanswered", i+1)
		}
	}
	other := dialFrom(t, "127.0.0.2", hostport)
	if code, _, err := other.get("/livez"); err != nil || code != http.StatusOK {
		t.Fatalf("another address while 127.0.0.1 is at the cap: %d %v", code, err)
	}
	// The held connections are still served.
	if code, _, err := held[0].get("/livez"); err != nil || code != http.StatusOK {
		t.Fatalf("a held connection: %d %v", code, err)
	}

	held[1].Close()
	held[2].Close()
	waitFor(t, 10*time.Second, "a closed connection to free its slot", func() bool {
		c := dialFrom(t, "127.0.0.1", hostport)
		code, _, err := c.get("/livez")
		c.Close()
		return err == nil && code == http.StatusOK
	})
	// Four over the cap, and perhaps a try of the wait above.
	code, body, err := other.get("/metrics")
	if err != nil || !regexp.MustCompile(`(?m)^leadbook_http_connections_refused_total [4-9]`).MatchString(body) {
		t.Errorf("refused connections not counted (%d %v):\n%s", code, err, grepLines(body, "refused"))
	}
}
