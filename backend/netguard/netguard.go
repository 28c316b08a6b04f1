// Package netguard decides where the http routine may connect, so a flow
// cannot be used to reach the server itself, the host's other services or
// the private network behind it (server-side request forgery).
//
// The decision is made on the address actually being connected to, in the
// dialer's Control function, after name resolution: a name that resolves to
// a public address when checked and to 127.0.0.1 when connected (DNS
// rebinding) cannot get through, as there is no second resolution. Denied
// by default: loopback, unspecified, link-local (which holds the cloud
// metadata service, 169.254.169.254), private, shared (CGNAT), multicast and
// reserved addresses, in IPv4, IPv6 and IPv4-mapped IPv6 forms. An allow
// list of CIDRs and host[:port] entries (--http-allow) opens some of them.
//
// The server's own address is denied whatever the allow list says; a
// caller may dial it only through DialContext(true), which the http routine
// uses for nothing but a GET of /api/health or /healthz on a connection
// that is not reused.
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Flag is the command-line flag the messages tell to use.
const Flag = "--http-allow"

// Guard is an outbound connection policy. It is safe for concurrent use.
type Guard struct {
	nets  []netip.Prefix
	hosts []hostEntry
	// self holds the server's own addresses: the one it listens on
	// (SetListenAddr) and the one its jobs see as job.server
	// (NoteServerURL).
	listen atomic.Pointer[selfAddr]
	server atomic.Pointer[selfAddr]
	// selfGen counts changes of the server's addresses; a connection made
	// before a change is checked again before it carries more (a kept
	// connection is reused without a dial).
	selfGen atomic.Uint64
}

// hostEntry is an allow-list entry naming a host: an IP (matched against
// the address connected to) or a name (matched against the name asked
// for, whatever it resolves to); port 0 is any port.
type hostEntry struct {
	ip   netip.Addr
	name string
	port uint16
}

// selfAddr is one address of the server; a wildcard one (0.0.0.0, ::)
// stands for every address of this host on port.
type selfAddr struct {
	raw      string // as given, to skip re-parsing an unchanged value
	ip       netip.Addr
	name     string
	port     uint16
	wildcard bool
}

// New returns a guard with an allow list. Each entry is a CIDR
// ("10.0.0.0/8", "fd00::/8"), an IP ("10.1.2.3", any port), a host name
// ("api.internal", any port, whatever it resolves to) or either with a
// port ("10.1.2.3:8080", "[::1]:9000", "api.internal:8443"). Blank entries
// are ignored; any other entry that is none of these is an error naming it.
// "0.0.0.0/0" and "::/0" allow every address (except the server's own).
func New(allow []string) (*Guard, error) {
	g := &Guard{}
	for _, raw := range allow {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if err := g.add(s); err != nil {
			return nil, fmt.Errorf("%s %q: %w", Flag, raw, err)
		}
	}
	return g, nil
}

func (g *Guard) add(s string) error {
	if strings.Contains(s, "://") {
		return fmt.Errorf("give a host, host:port or CIDR, not a URL")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)")
		}
		g.nets = append(g.nets, unmapPrefix(p.Masked()))
		return nil
	}
	host, port := s, uint16(0)
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
		host, port = h, uint16(n)
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1] // [::1]
	} else if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		return fmt.Errorf("not a host, host:port or CIDR")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return fmt.Errorf("an address with a zone (%%%s) cannot be allowed; give it without", ip.Zone())
		}
		g.hosts = append(g.hosts, hostEntry{ip: ip.Unmap(), port: port})
		return nil
	}
	name := normName(host)
	if !validName(name) {
		return fmt.Errorf("%q is not a valid host name, IP or CIDR", host)
	}
	g.hosts = append(g.hosts, hostEntry{name: name, port: port})
	return nil
}

// SetListenAddr records the address the server listens on (host:port, as
// net.Listener.Addr gives it). A wildcard host (0.0.0.0, ::, empty) makes
// every address of this host on that port the server's own.
func (g *Guard) SetListenAddr(addr string) {
	if a, ok := parseSelf(addr); ok {
		g.listen.Store(a)
		g.selfGen.Add(1)
	}
}

// NoteServerURL records the server's base URL as its jobs see it
// (job.server, e.g. http://127.0.0.1:20555): its host and port are the
// server's own too, which covers servers served by another listener than
// Run's. Calling it again with the same URL costs a comparison.
func (g *Guard) NoteServerURL(base string) {
	if cur := g.server.Load(); base == "" || (cur != nil && cur.raw == base) {
		return
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if a, ok := parseSelf(net.JoinHostPort(u.Hostname(), port)); ok {
		a.raw = base
		g.server.Store(a)
		g.selfGen.Add(1)
	}
}

func parseSelf(addr string) (*selfAddr, bool) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil, false
	}
	a := &selfAddr{raw: addr, port: uint16(n)}
	if ip, err := netip.ParseAddr(host); err == nil {
		a.ip = ip.WithZone("").Unmap()
		a.wildcard = a.ip.IsUnspecified()
	} else if host == "" {
		a.wildcard = true
	} else {
		a.name = normName(host)
	}
	return a, true
}

// DeniedError is a connection the guard refused.
type DeniedError struct {
	Target string         // host:port as asked for (a name or an IP)
	Addr   netip.AddrPort // the address it resolved to
	Reason string         // e.g. "a loopback address"
	Self   bool           // the server's own address: no allow list opens it
}

func (e *DeniedError) Error() string {
	ip := e.Addr.Addr().Unmap()
	named := !isIPTarget(e.Target)
	var b strings.Builder
	if named {
		fmt.Fprintf(&b, "%s resolves to %s, %s", e.Target, ip, e.Reason)
	} else {
		fmt.Fprintf(&b, "%s is %s", e.Target, e.Reason)
	}
	if e.Self {
		b.WriteString(": an http routine may only GET its /api/health or /healthz (" + Flag + " does not open the rest of it)")
		return b.String()
	}
	fmt.Fprintf(&b, "; allow it with %s %s", Flag, netip.PrefixFrom(ip, ip.BitLen()))
	if named {
		fmt.Fprintf(&b, " or %s %s", Flag, e.Target)
	}
	return b.String()
}

func isIPTarget(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	_, err = netip.ParseAddr(host)
	return err == nil
}

// Check decides whether a connection asked for as target (host:port) may
// be made to addr, the address it resolved to. selfOK permits the server's
// own address.
func (g *Guard) Check(target string, addr netip.AddrPort, selfOK bool) error {
	ip := addr.Addr().WithZone("").Unmap()
	to := netip.AddrPortFrom(ip, addr.Port())
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	host = normName(host)
	if g.isSelf(host, to) {
		if selfOK {
			return nil
		}
		return &DeniedError{Target: target, Addr: to, Reason: "this server's own address", Self: true}
	}
	if g.allowed(host, to) {
		return nil
	}
	if reason := Classify(ip); reason != "" {
		return &DeniedError{Target: target, Addr: to, Reason: reason}
	}
	return nil
}

func (g *Guard) allowed(host string, to netip.AddrPort) bool {
	for _, p := range g.nets {
		if p.Contains(to.Addr()) {
			return true
		}
	}
	for _, h := range g.hosts {
		if h.port != 0 && h.port != to.Port() {
			continue
		}
		if (h.ip.IsValid() && h.ip == to.Addr()) || (h.name != "" && h.name == host) {
			return true
		}
	}
	return false
}

func (g *Guard) isSelf(host string, to netip.AddrPort) bool {
	for _, a := range []*selfAddr{g.listen.Load(), g.server.Load()} {
		if a == nil || a.port != to.Port() {
			continue
		}
		ip := to.Addr()
		switch {
		case a.name != "":
			if a.name == host {
				return true
			}
		case a.wildcard:
			if isLocal(ip) {
				return true
			}
		case a.ip == ip:
			return true
		case ip.IsUnspecified():
			// Connecting to 0.0.0.0 or :: reaches this host.
			return true
		}
	}
	return false
}

// isLocal reports whether ip is an address of this host, where a listener
// on a wildcard address can be reached.
func isLocal(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true // cannot tell: treat it as the server, the safe side
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if local, ok := netip.AddrFromSlice(n.IP); ok && local.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedCGNAT = netip.MustParsePrefix("100.64.0.0/10")
	reserved4   = netip.MustParsePrefix("240.0.0.0/4") // includes 255.255.255.255
	siteLocal6  = netip.MustParsePrefix("fec0::/10")
	nat64       = netip.MustParsePrefix("64:ff9b::/96")
	metadata    = netip.MustParseAddr("169.254.169.254")
)

// Classify names the kind of a non-public address ("a loopback address",
// …), or returns "" for an address the guard lets through by default.
func Classify(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	if nat64.Contains(ip) {
		// The well-known NAT64 prefix reaches the IPv4 address it embeds.
		b := ip.As16()
		if r := Classify(netip.AddrFrom4([4]byte(b[12:]))); r != "" {
			return r + " behind NAT64"
		}
		return ""
	}
	switch {
	case ip.IsUnspecified() || thisNetwork.Contains(ip):
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip == metadata:
		return "a link-local address (the cloud metadata service)"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsPrivate() || siteLocal6.Contains(ip):
		return "a private address"
	case sharedCGNAT.Contains(ip):
		return "a shared (CGNAT) address"
	case ip.IsMulticast():
		return "a multicast address"
	case reserved4.Contains(ip):
		return "a reserved address"
	}
	return ""
}

// DialContext returns a dial function for http.Transport that connects
// only where the guard allows, checking each address the name resolved to
// as it is connected. selfOK also permits the server's own address: give
// it only to a transport whose requests are known to be harmless and whose
// connections are not reused (DisableKeepAlives), as a kept connection
// would carry any later request. A connection made before the server's
// addresses change is checked again before it writes more.
func (g *Guard) DialContext(selfOK bool) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		gen := g.selfGen.Load()
		var to netip.AddrPort
		d := net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
			Control: func(_, resolved string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(resolved)
				if err != nil {
					return fmt.Errorf("cannot check the address %q", resolved)
				}
				if err := g.Check(address, ap, selfOK); err != nil {
					return err
				}
				to = ap
				return nil
			},
		}
		c, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		gc := &conn{Conn: c, g: g, target: address, to: to, selfOK: selfOK}
		gc.gen.Store(gen)
		return gc, nil
	}
}

// conn is a connection the guard let through, with what it was checked
// against.
type conn struct {
	net.Conn
	g      *Guard
	target string
	to     netip.AddrPort
	selfOK bool
	gen    atomic.Uint64
}

func (c *conn) Write(b []byte) (int, error) {
	if gen := c.g.selfGen.Load(); gen != c.gen.Load() {
		if err := c.g.Check(c.target, c.to, c.selfOK); err != nil {
			c.Conn.Close()
			return 0, err
		}
		c.gen.Store(gen)
	}
	return c.Conn.Write(b)
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

func normName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(s, "[]")), ".")
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
