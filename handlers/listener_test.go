package handlers

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

// fakeConn is a connection from a given remote address.
type fakeConn struct {
	net.Conn
	remote net.Addr
	closed bool
}

func (c *fakeConn) RemoteAddr() net.Addr { return c.remote }
func (c *fakeConn) Close() error         { c.closed = true; return nil }

// fakeListener hands out its connections in order, then fails.
type fakeListener struct {
	net.Listener
	conns []*fakeConn
}

var errNoMore = errors.New("no more connections")

func (l *fakeListener) Accept() (net.Conn, error) {
	if len(l.conns) == 0 {
		return nil, errNoMore
	}
	c := l.conns[0]
	l.conns = l.conns[1:]
	return c, nil
}

// TestLimitListener: the cap counts per IPv4 address and per IPv6 /64,
// spares exempt peers (trusted proxies), and a closed connection frees its
// slot once, however often it is closed.
func TestLimitListener(t *testing.T) {
	addr := func(s string) net.Addr { return net.TCPAddrFromAddrPort(mustAddrPort(t, s)) }
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	conns := []*fakeConn{
		{remote: addr("192.0.2.1:1000")},
		{remote: addr("192.0.2.1:1001")},
		{remote: addr("192.0.2.1:1002")}, // over the cap
		{remote: addr("192.0.2.2:1000")},
		{remote: addr("[2001:db8:1:1::1]:1000")},
		{remote: addr("[2001:db8:1:1::2]:1000")},
		{remote: addr("[2001:db8:1:1:ffff::3]:1000")}, // the same /64: over the cap
		{remote: addr("[2001:db8:1:2::1]:1000")},
		{remote: addr("[::ffff:192.0.2.2]:1000")}, // 192.0.2.2 again, mapped
		{remote: addr("[::ffff:192.0.2.2]:1001")}, // over the cap
		{remote: addr("10.1.1.1:1000")},
		{remote: addr("10.1.1.1:1001")},
		{remote: addr("10.1.1.1:1002")}, // exempt
	}
	refused := 0
	fake := &fakeListener{conns: append([]*fakeConn(nil), conns...)}
	ln := LimitListener(fake, ConnLimit{PerAddress: 2, Exempt: []*net.IPNet{proxy}, Refused: func() { refused++ }})
	var got []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		got = append(got, c)
	}
	if len(got) != 10 || refused != 3 {
		t.Fatalf("accepted %d, refused %d; want 10 and 3", len(got), refused)
	}
	for _, i := range []int{2, 6, 9} {
		if !conns[i].closed {
			t.Errorf("connection from %s over the cap was not closed", conns[i].remote)
		}
	}

	// Closing one from 192.0.2.1 twice frees one slot, not two.
	got[0].Close()
	got[0].Close()
	fake.conns = []*fakeConn{{remote: addr("192.0.2.1:2000")}, {remote: addr("192.0.2.1:2001")}}
	if _, err := ln.Accept(); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, errNoMore) || refused != 4 {
		t.Fatalf("a double close freed two slots (err %v, refused %d)", err, refused)
	}
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}
