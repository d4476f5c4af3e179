package launch

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/watchdog-run/watchdog/supervise"
)

// ReadyOptions say when a detached task is ready (--ready-port,
// --ready-http, --ready-log); all that are given must hold.
type ReadyOptions struct {
	Port    int            // a process of the task's tree listens on it, and it accepts a connection
	HTTP    *url.URL       // a GET answers 2xx or 3xx
	Log     *regexp.Regexp // a line of output matches
	Timeout time.Duration  // --ready-timeout
}

// DefaultReadyTimeout is how long a task has to become ready.
const DefaultReadyTimeout = 60 * time.Second

// Any reports whether readiness was asked for.
func (r ReadyOptions) Any() bool { return r.Port > 0 || r.HTTP != nil || r.Log != nil }

// ParseReadyHTTP checks a --ready-http URL: http only (a dev server's),
// with a host.
func ParseReadyHTTP(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("--ready-http: %s is not an http:// URL with a host (https is not probed)", supervise.Quote(s))
	}
	if p := u.Port(); p != "" {
		// url.Parse takes any digits: 70000 would be probed as port
		// 4464 (uint16), another server's.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("--ready-http: %s: port %s is not a port (1-65535)", supervise.Quote(s), p)
		}
	}
	if _, err := resolveHost(u.Hostname()); err != nil {
		return nil, fmt.Errorf("--ready-http: %v", err)
	}
	return u, nil
}

// readyProbeEvery is how often the port and the URL are tried. A probe is
// a connection attempt; the log is not polled, its lines are matched as
// they pass.
const readyProbeEvery = 20 * time.Millisecond

// logMatch matches the task's output, line by line, as it passes through
// the watchdog, and closes matched at the first match.
type logMatch struct {
	re      *regexp.Regexp
	mu      sync.Mutex
	partial [2][]byte // a line begun on stdout, on stderr
	matched chan struct{}
	done    bool
}

func newLogMatch(re *regexp.Regexp) *logMatch {
	return &logMatch{re: re, matched: make(chan struct{})}
}

// tap is given every read of output (supervise.Output's tap); each
// stream's lines are matched whole, without a CRLF line's CR.
func (m *logMatch) tap(stream int, p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return
	}
	buf := append(m.partial[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		if m.re.Match(bytes.TrimSuffix(buf[:i], []byte("\r"))) {
			m.match()
			return
		}
		buf = buf[i+1:]
	}
	if len(buf) > maxLine {
		// A line this long is matched as it is, and only its end is
		// kept: what ends the line may still complete a match there.
		if m.re.Match(buf) {
			m.match()
			return
		}
		buf = buf[len(buf)-keptOfLongLine:]
	}
	m.partial[stream] = append([]byte(nil), buf...)
}

// maxLine is the longest unfinished line kept whole for --ready-log;
// keptOfLongLine is how much of a longer one is kept.
const (
	maxLine        = 64 << 10
	keptOfLongLine = 4 << 10
)

func (m *logMatch) match() {
	m.done = true
	m.partial = [2][]byte{}
	close(m.matched)
}

// waitReady waits until every condition holds, the task ends (ended is
// closed), or the timeout passes. members gives the task's pids now.
func waitReady(r ReadyOptions, lm *logMatch, members func() []int, ended <-chan struct{}) error {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	until := time.Now().Add(timeout)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if lm != nil {
		select {
		case <-lm.matched:
		case <-ended:
			return errTaskEnded
		case <-deadline.C:
			return fmt.Errorf("no line of output matched --ready-log %s within %v", supervise.Quote(lm.re.String()), timeout)
		}
	}
	if r.Port == 0 && r.HTTP == nil {
		return nil
	}
	tick := time.NewTicker(readyProbeEvery)
	defer tick.Stop()
	for {
		why := probe(r, members, until)
		if why == "" {
			return nil
		}
		if !time.Now().Before(until) {
			// Not left to select's chance beside a tick that is due too.
			return fmt.Errorf("not ready within %v (--ready-timeout): %s", timeout, why)
		}
		select {
		case <-tick.C:
		case <-ended:
			return errTaskEnded
		case <-deadline.C:
			return fmt.Errorf("not ready within %v (--ready-timeout): %s", timeout, why)
		}
	}
}

var errTaskEnded = errors.New("the task ended before it was ready")

// probe tries the port and the URL once; "" means ready, else why not.
// No connection outlives until, the end of --ready-timeout: a server
// that accepts and never answers cannot stretch it.
func probe(r ReadyOptions, members func() []int, until time.Time) string {
	if r.Port > 0 {
		if !supervise.ListensOn(members(), r.Port) {
			return fmt.Sprintf("no process of the task listens on port %d", r.Port)
		}
		if !accepts(r.Port, until) {
			return fmt.Sprintf("port %d does not accept a connection", r.Port)
		}
	}
	if r.HTTP != nil {
		if why := httpReady(r.HTTP, until); why != "" {
			return why
		}
	}
	return ""
}

// probeDeadline is when one connection attempt gives up: a second or two
// from now, never after until.
func probeDeadline(d time.Duration, until time.Time) time.Time {
	if t := time.Now().Add(d); t.Before(until) {
		return t
	}
	return until
}

// accepts reports whether a connection to the port on the loopback
// address (IPv4, then IPv6) is accepted.
func accepts(port int, until time.Time) bool {
	for _, host := range []string{"127.0.0.1", "::1"} {
		addr := netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port))
		if c, err := dialTCP(addr, probeDeadline(time.Second, until)); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// httpReady sends one GET and reads the status line: 2xx and 3xx are
// ready (a redirect is not followed). Written by hand so that the exec
// path links neither net/http nor net's dialer (dial.go).
func httpReady(u *url.URL, until time.Time) string {
	port := 80
	if p := u.Port(); p != "" {
		port, _ = strconv.Atoi(p)
	}
	addrs, err := resolveHost(u.Hostname())
	if err != nil {
		return fmt.Sprintf("%s: %v", u, err)
	}
	var c *conn
	for _, a := range addrs {
		if c, err = dialTCP(netip.AddrPortFrom(a, uint16(port)), probeDeadline(time.Second, until)); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Sprintf("%s: %v", u, err)
	}
	defer c.Close()
	c.deadline = probeDeadline(2*time.Second, until)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: watchdog\r\nConnection: close\r\n\r\n", u.RequestURI(), u.Host)
	line, err := c.statusLine()
	if err != nil {
		return fmt.Sprintf("%s: no answer: %v", u, err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return fmt.Sprintf("%s: not an HTTP answer", u)
	}
	if code, err := strconv.Atoi(f[1]); err != nil || code < 200 || code >= 400 {
		return fmt.Sprintf("%s answered %s", u, strings.TrimSpace(strings.Join(f[1:], " ")))
	}
	return ""
}

// Tie is a process the task is tied to (--tie): when it exits, the task is
// ended (reason caller-exited).
type Tie struct {
	PID   int
	Ticks uint64
}

// ResolveTie reads --tie: "parent" (the watchdog's parent) or a pid, and
// pins it to its start time. Refused: init, which never exits; this
// watchdog itself, which exits as the task is detached (or with it); a
// process that has already exited.
func ResolveTie(s string, parent int) (*Tie, error) {
	pid := parent
	if s != "parent" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--tie: %s is neither a pid nor 'parent'", supervise.Quote(s))
		}
		pid = n
	}
	switch {
	case pid <= 1:
		return nil, fmt.Errorf("--tie: pid %d is init (or none): the task could never be ended by its exit", pid)
	case pid == os.Getpid():
		return nil, fmt.Errorf("--tie: pid %d is this watchdog itself; tie the task to the process it should not outlive (--tie parent: the shell that runs the watchdog)", pid)
	}
	p, err := supervise.ReadProc(pid)
	if err != nil {
		return nil, fmt.Errorf("--tie: no process %d", pid)
	}
	if tgid := threadGroup(pid); tgid > 0 && tgid != pid {
		// /proc/TID answers for a thread too, but its exit cannot be
		// watched (a pidfd is a process's): it was refused as "already
		// exited".
		return nil, fmt.Errorf("--tie: %d is a thread of process %d; give the process", pid, tgid)
	}
	if p.Zombie() {
		return nil, fmt.Errorf("--tie: process %d has already exited", pid)
	}
	return &Tie{PID: pid, Ticks: p.StartTicks}, nil
}

// threadGroup is the process that pid belongs to when pid is a thread
// (Linux: Tgid in /proc/PID/status); 0 when that cannot be read.
func threadGroup(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Tgid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
