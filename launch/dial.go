package launch

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The readiness probes connect with plain sockets rather than package
// net: net's dialer brings its resolver and the rest of the network stack
// into the binary, 1.3 MB that every exec would load (and pay for in
// start-up) for the rare detached task that probes a port.

// errProbeTimeout: the probe's deadline passed.
var errProbeTimeout = errors.New("timed out")

// conn is one probe connection: a non-blocking TCP socket.
type conn struct {
	fd       int
	deadline time.Time
}

// dialTCP connects to addr before deadline.
func dialTCP(addr netip.AddrPort, deadline time.Time) (*conn, error) {
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a.Unmap().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: a.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	c := &conn{fd: fd, deadline: deadline}
	if err := unix.SetNonblock(fd, true); err != nil {
		c.Close()
		return nil, err
	}
	err = unix.Connect(fd, sa)
	if err == unix.EINPROGRESS || err == unix.EINTR {
		if err = c.await(unix.POLLOUT); err == nil {
			var soerr int
			if soerr, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && soerr != 0 {
				err = unix.Errno(soerr)
			}
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// await waits until the socket is ready for events, or the deadline.
func (c *conn) await(events int16) error {
	for {
		left := time.Until(c.deadline)
		if left <= 0 {
			return errProbeTimeout
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: events}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR || err == nil && n == 0 {
			continue
		}
		return err
	}
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EAGAIN:
			if err := c.await(unix.POLLIN); err != nil {
				return 0, err
			}
			continue
		case err != nil:
			return 0, err
		case n == 0:
			return 0, errors.New("connection closed")
		}
		return n, nil
	}
}

func (c *conn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(c.fd, p[done:])
		if err == unix.EAGAIN {
			if err := c.await(unix.POLLOUT); err != nil {
				return done, err
			}
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (c *conn) Close() error { return unix.Close(c.fd) }

// statusLine reads the first line of the answer, at most 4 KiB of it.
func (c *conn) statusLine() (string, error) {
	r := bufio.NewReaderSize(c, 4096)
	line, err := r.ReadSlice('\n')
	return string(line), err
}

// resolveHost finds the addresses of a --ready-http host without a DNS
// resolver: an IP address, localhost, or a name in /etc/hosts (a dev
// server's names).
func resolveHost(host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	var addrs []netip.Addr
	if b, err := os.ReadFile("/etc/hosts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			line, _, _ = strings.Cut(line, "#")
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			for _, name := range f[1:] {
				if strings.EqualFold(name, host) {
					if a, err := netip.ParseAddr(f[0]); err == nil {
						addrs = append(addrs, a)
					}
				}
			}
		}
	}
	if len(addrs) == 0 && strings.EqualFold(host, "localhost") {
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("host %q is not an IP address, localhost or a name in /etc/hosts", host)
	}
	return addrs, nil
}
