package launch

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestResolveHost(t *testing.T) {
	for host, want := range map[string]string{"127.0.0.1": "127.0.0.1", "[::1]": "::1", "::1": "::1"} {
		got, err := resolveHost(host)
		if err != nil || len(got) != 1 || got[0].String() != want {
			t.Errorf("resolveHost(%q) = %v, %v; want %s", host, got, err, want)
		}
	}
	if got, err := resolveHost("localhost"); err != nil || len(got) == 0 || !got[0].IsLoopback() {
		t.Errorf("resolveHost(localhost) = %v, %v; want loopback", got, err)
	}
	if _, err := resolveHost("no-such-host.invalid"); err == nil {
		t.Error("a name in neither /etc/hosts nor an address resolved")
	}
}

// TestDialTCP connects to a real listener, and fails at once on a closed
// port and by the deadline on nothing.
func TestDialTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(l.Addr().String())
	c, err := dialTCP(addr, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatalf("dial %v: %v", addr, err)
	}
	c.Close()
	l.Close()
	if c, err := dialTCP(addr, time.Now().Add(5*time.Second)); err == nil {
		c.Close()
		t.Errorf("dial %v succeeded after the listener closed", addr)
	}
	if accepts(int(addr.Port()), time.Now().Add(time.Second)) {
		t.Errorf("port %d accepts with nothing listening", addr.Port())
	}
}
