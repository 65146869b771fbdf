package handlers

import (
	"net"
	"net/netip"
	"sync"
)

// ConnLimit configures LimitListener.
type ConnLimit struct {
	// PerAddress is the most connections one peer may hold open at once;
	// 0 or less turns the cap off.
	PerAddress int
	// Exempt peers have no cap: the trusted reverse proxies, through which
	// every visitor's connection arrives, so a cap on them would be one
	// cap on everybody. Limit connections per client at the proxy.
	Exempt []*net.IPNet
	// Refused, when set, is called for every connection closed because its
	// peer was at the cap (metrics).
	Refused func()
}

// LimitListener wraps ln so that one peer holds at most lim.PerAddress
// open connections: a connection beyond that is closed as soon as it is
// accepted, before it is read or costs a goroutine, and the next is
// accepted. Connections count from Accept until Close. A peer is an IPv4
// address or an IPv6 /64, the block a single host is commonly given.
// The peer is the address the TCP connection comes from, never what a
// header claims.
func LimitListener(ln net.Listener, lim ConnLimit) net.Listener {
	if lim.PerAddress <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, lim: lim, open: map[netip.Addr]int{}}
}

type limitListener struct {
	net.Listener
	lim  ConnLimit
	mu   sync.Mutex
	open map[netip.Addr]int // by peer; no entry at zero
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer, ok := l.peer(c.RemoteAddr())
		if !ok {
			return c, nil
		}
		l.mu.Lock()
		n := l.open[peer]
		if n >= l.lim.PerAddress {
			l.mu.Unlock()
			c.Close()
			if l.lim.Refused != nil {
				l.lim.Refused()
			}
			continue
		}
		l.open[peer] = n + 1
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, peer: peer}, nil
	}
}

// peer returns the key a connection from a counts under, and false for an
// exempt or unreadable address.
func (l *limitListener) peer(a net.Addr) (netip.Addr, bool) {
	var ap netip.AddrPort
	if ta, ok := a.(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	} else if p, err := netip.ParseAddrPort(a.String()); err == nil {
		ap = p
	}
	if !ap.Addr().IsValid() {
		return netip.Addr{}, false
	}
	ip := ap.Addr().Unmap()
	for _, n := range l.lim.Exempt {
		if n.Contains(ip.AsSlice()) {
			return netip.Addr{}, false
		}
	}
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			ip = p.Addr()
		}
	}
	return ip, true
}

func (l *limitListener) release(peer netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.open[peer] - 1; n > 0 {
		l.open[peer] = n
	} else {
		delete(l.open, peer)
	}
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	l    *limitListener
	peer netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.peer) })
	return c.Conn.Close()
}
