package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	for ip, want := range map[string]string{
		"127.0.0.1":              "a loopback address",
		"127.9.9.9":              "a loopback address",
		"::1":                    "a loopback address",
		"::ffff:127.0.0.1":       "a loopback address",
		"0.0.0.0":                "an unspecified address",
		"0.1.2.3":                "an unspecified address",
		"::":                     "an unspecified address",
		"169.254.169.254":        "a link-local address (the cloud metadata service)",
		"::ffff:169.254.169.254": "a link-local address (the cloud metadata service)",
		"169.254.1.1":            "a link-local address",
		"fe80::1":                "a link-local address",
		"fe80::1%eth0":           "a link-local address",
		"10.0.0.1":               "a private address",
		"172.16.0.1":             "a private address",
		"172.31.255.255":         "a private address",
		"192.168.1.1":            "a private address",
		"::ffff:10.1.2.3":        "a private address",
		"fc00::1":                "a private address",
		"fd00:ec2::254":          "a private address",
		"fec0::1":                "a private address",
		"100.64.0.1":             "a shared (CGNAT) address",
		"100.100.100.200":        "a shared (CGNAT) address",
		"224.0.0.1":              "a multicast address",
		"ff02::1":                "a multicast address",
		"240.0.0.1":              "a reserved address",
		"255.255.255.255":        "a reserved address",
		"64:ff9b::7f00:1":        "a loopback address behind NAT64",
		"64:ff9b::808:808":       "",
		"8.8.8.8":                "",
		"172.32.0.1":             "",
		"100.128.0.1":            "",
		"2001:4860:4860::8888":   "",
		"::ffff:8.8.8.8":         "",
	} {
		if got := Classify(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %q, want %q", ip, got, want)
		}
	}
}

func TestNewRejectsBadEntriesByName(t *testing.T) {
	for entry, mention := range map[string]string{
		"10.0.0.0/33":          "not a valid CIDR",
		"http://10.0.0.1":      "not a URL",
		"10.0.0.1:0":           "port \"0\"",
		"10.0.0.1:70000":       "port \"70000\"",
		"api.internal:https":   "port \"https\"",
		"host:":                "port \"\"",
		"[::1":                 "not a host, host:port or CIDR",
		"bad host":             "not a valid host name",
		"-x.example":           "not a valid host name",
		"fe80::1%eth0":         "zone",
		"*.example.com":        "not a valid host name",
		"a..b":                 "not a valid host name",
		"ok.example, 10.0.0.1": "not a valid host name",
	} {
		_, err := New([]string{"10.0.0.0/8", entry})
		if err == nil || !strings.Contains(err.Error(), `--http-allow "`+entry+`"`) || !strings.Contains(err.Error(), mention) {
			t.Errorf("%q: %v, want it named and %q", entry, err, mention)
		}
	}
	if _, err := New([]string{"", "  ", "10.0.0.1/8", "::ffff:10.0.0.0/104", "[::1]", "[::1]:9000", "::1", "Api.Internal.", "api.internal:8443", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestCheckAllowList(t *testing.T) {
	g, err := New([]string{"10.0.0.0/8", "::ffff:192.168.0.0/112", "127.0.0.1:8080", "[::1]:9000", "172.16.0.5", "Api.Internal.:8443", "db.internal"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, addr string
		ok           bool
	}{
		{"10.1.2.3:80", "10.1.2.3:80", true},
		{"example.com:80", "10.1.2.3:80", true}, // a CIDR allows the address, whatever the name
		{"192.168.7.7:80", "192.168.7.7:80", true},
		{"192.169.0.1:80", "192.169.0.1:80", true},          // public
		{"192.168.1.1:80", "[::ffff:192.168.1.1]:80", true}, // a mapped CIDR is the IPv4 one
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8081", "127.0.0.1:8081", false},
		{"localhost:8080", "127.0.0.1:8080", true}, // an IP entry allows the address
		{"[::1]:9000", "[::1]:9000", true},
		{"[::1]:9001", "[::1]:9001", false},
		{"172.16.0.5:1", "172.16.0.5:1", true},
		{"172.16.0.6:1", "172.16.0.6:1", false},
		{"api.internal:8443", "172.16.9.9:8443", true}, // a name entry allows whatever it resolves to
		{"API.internal.:8443", "172.16.9.9:8443", true},
		{"api.internal:443", "172.16.9.9:443", false},
		{"db.internal:5432", "172.20.3.3:5432", true},
		{"other.internal:5432", "172.20.3.3:5432", false},
		{"169.254.169.254:80", "169.254.169.254:80", false},
	} {
		err := g.Check(tc.target, ap(tc.addr), false)
		if (err == nil) != tc.ok {
			t.Errorf("%s → %s: %v, want allowed=%v", tc.target, tc.addr, err, tc.ok)
		}
	}
}

func TestDeniedMessages(t *testing.T) {
	g, _ := New(nil)
	for _, tc := range []struct{ target, addr, want string }{
		{"127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1:8080 is a loopback address; allow it with --http-allow 127.0.0.1/32"},
		{"[::1]:8080", "[::1]:8080", "[::1]:8080 is a loopback address; allow it with --http-allow ::1/128"},
		{"localhost:8080", "127.0.0.1:8080", "localhost:8080 resolves to 127.0.0.1, a loopback address; allow it with --http-allow 127.0.0.1/32 or --http-allow localhost:8080"},
		{"169.254.169.254:80", "169.254.169.254:80", "169.254.169.254:80 is a link-local address (the cloud metadata service); allow it with --http-allow 169.254.169.254/32"},
		{"[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80 is a private address; allow it with --http-allow 10.0.0.1/32"},
	} {
		err := g.Check(tc.target, ap(tc.addr), false)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.target, err, tc.want)
		}
	}
}

func TestSelfIsDeniedWhateverTheAllowList(t *testing.T) {
	g, _ := New([]string{"0.0.0.0/0", "::/0", "127.0.0.1:20555", "localhost"})
	g.SetListenAddr("127.0.0.1:20555")
	for _, tc := range []struct{ target, addr string }{
		{"127.0.0.1:20555", "127.0.0.1:20555"},
		{"localhost:20555", "127.0.0.1:20555"},
		{"0.0.0.0:20555", "0.0.0.0:20555"},
		{"[::ffff:127.0.0.1]:20555", "[::ffff:127.0.0.1]:20555"},
	} {
		err := g.Check(tc.target, ap(tc.addr), false)
		var d *DeniedError
		if !errors.As(err, &d) || !d.Self || !strings.Contains(err.Error(), "this server's own address: an http routine may only GET its /api/health or /healthz") {
			t.Errorf("%s: %v", tc.target, err)
		}
		if err := g.Check(tc.target, ap(tc.addr), true); err != nil {
			t.Errorf("%s with selfOK: %v", tc.target, err)
		}
	}
	// Other ports and other loopback addresses are not the server.
	for _, a := range []string{"127.0.0.1:20556", "127.0.0.2:20555"} {
		if err := g.Check(a, ap(a), false); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
}

func TestSelfOnAWildcardListenerIsEveryLocalAddress(t *testing.T) {
	g, _ := New([]string{"0.0.0.0/0", "::/0"})
	g.SetListenAddr("[::]:20555")
	local := []string{"127.0.0.1", "127.0.0.5", "::1", "0.0.0.0"}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				local = append(local, n.IP.String())
			}
		}
	}
	for _, ip := range local {
		addr, _ := netip.ParseAddr(ip)
		to := netip.AddrPortFrom(addr, 20555)
		if err := g.Check(to.String(), to, false); err == nil || !strings.Contains(err.Error(), "this server's own address") {
			t.Errorf("%s: %v", to, err)
		}
	}
	if err := g.Check("8.8.8.8:20555", ap("8.8.8.8:20555"), false); err != nil {
		t.Errorf("a public address on the same port: %v", err)
	}
}

func TestServerURLIsSelf(t *testing.T) {
	g, _ := New([]string{"127.0.0.0/8", "switchyard.example"})
	g.NoteServerURL("http://127.0.0.1:41234")
	g.NoteServerURL("http://127.0.0.1:41234")
	if err := g.Check("127.0.0.1:41234", ap("127.0.0.1:41234"), false); err == nil || !strings.Contains(err.Error(), "own address") {
		t.Fatalf("job.server: %v", err)
	}
	if err := g.Check("127.0.0.1:41235", ap("127.0.0.1:41235"), false); err != nil {
		t.Fatalf("another port: %v", err)
	}
	g.NoteServerURL("https://Switchyard.Example")
	if err := g.Check("switchyard.example:443", ap("10.9.9.9:443"), false); err == nil || !strings.Contains(err.Error(), "own address") {
		t.Fatalf("job.server by name: %v", err)
	}
}

func TestDialChecksTheAddressConnectedTo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	deny, _ := New(nil)
	for _, target := range []string{addr, "localhost:" + port} {
		_, err := deny.DialContext(false)(context.Background(), "tcp", target)
		var d *DeniedError
		if !errors.As(err, &d) || d.Reason != "a loopback address" {
			t.Errorf("%s: %v", target, err)
		}
	}
	allow, _ := New([]string{addr})
	c, err := allow.DialContext(false)(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("allowed: %v", err)
	}
	c.Close()
	allow.SetListenAddr(addr)
	if _, err := allow.DialContext(false)(context.Background(), "tcp", addr); err == nil || !strings.Contains(err.Error(), "own address") {
		t.Fatalf("self: %v", err)
	}
	c, err = deny.DialContext(true)(context.Background(), "tcp", addr)
	if err == nil {
		c.Close()
		t.Fatal("selfOK opened a loopback address that is not the server's")
	}
	deny.SetListenAddr(addr)
	c, err = deny.DialContext(true)(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("self with selfOK: %v", err)
	}
	c.Close()
}

// TestKeptConnectionsAreCheckedAgain: a connection made before the
// server's address was known does not carry requests to it afterwards.
func TestKeptConnectionsAreCheckedAgain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = c.Read(make([]byte, 64)); c.Close() }()
		}
	}()
	g, _ := New([]string{"127.0.0.0/8"})
	c, err := g.DialContext(false)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g.NoteServerURL("http://" + ln.Addr().String())
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\n")); err == nil || !strings.Contains(err.Error(), "this server's own address") {
		t.Fatalf("write after the address became the server's: %v", err)
	}
}
