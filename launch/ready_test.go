package launch

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLogMatchTap(t *testing.T) {
	type write struct {
		stream int
		s      string
	}
	long := strings.Repeat("x", 70<<10)
	for _, c := range []struct {
		name   string
		re     string
		writes []write
		want   bool
	}{
		{"a whole line", `^listening on \d+$`, []write{{0, "booting\nlistening on 8080\n"}}, true},
		{"a line split across reads", `^listening on \d+$`, []write{{0, "listen"}, {0, "ing on 80"}, {0, "80\n"}}, true},
		{"on stderr", `ready`, []write{{1, "ready\n"}}, true},
		{"not joined across streams", `^ready$`, []write{{0, "rea"}, {1, "dy\n"}, {0, "x\n"}}, false},
		{"a line not yet ended", `^ready$`, []write{{0, "ready"}}, false},
		{"no match", `^ready$`, []write{{0, "not ready\nready soon\n"}}, false},
		{"a CRLF line", `^ready$`, []write{{0, "ready\r\n"}}, true},
		{"a line too long to keep: its end still matches", `xy{10}$`, []write{{0, long}, {0, "yyyyyyyyyy\n"}}, true},
		{"a line too long to keep, matched as it is", `^x+$`, []write{{0, long}}, true},
	} {
		m := newLogMatch(regexp.MustCompile(c.re))
		for _, w := range c.writes {
			m.tap(w.stream, []byte(w.s))
		}
		got := false
		select {
		case <-m.matched:
			got = true
		default:
		}
		if got != c.want {
			t.Errorf("%s: matched = %v, want %v", c.name, got, c.want)
		}
	}
}

// Only a process of the task listening counts for --ready-port: a port
// another process holds is not the task's readiness.
func TestProbePortOfAnother(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	until := time.Now().Add(time.Minute)
	r := ReadyOptions{Port: port}
	if why := probe(r, func() []int { return []int{os.Getppid()} }, until); !strings.Contains(why, "no process of the task listens") {
		t.Errorf("held by another process: probe = %q", why)
	}
	if why := probe(r, func() []int { return nil }, until); why == "" {
		t.Error("a task with no processes: ready")
	}
	if why := probe(r, func() []int { return []int{os.Getpid()} }, until); why != "" {
		t.Errorf("held by the task: probe = %q", why)
	}
}

func TestHTTPReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/boom":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	until := time.Now().Add(time.Minute)
	for _, c := range []struct {
		path, want string
	}{
		{"/ok", ""},
		{"/moved", ""}, // 3xx is ready: not followed
		{"/boom", "answered 500 Internal Server Error"},
		{"/nothing?x=1", "answered 404 Not Found"},
	} {
		u, _ := url.Parse(srv.URL + c.path)
		got := httpReady(u, until)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("GET %s: httpReady = %q, want %q", c.path, got, c.want)
		}
	}
}

// silentServer accepts connections and never answers them.
func silentServer(t testing.TB) *url.URL {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	u, _ := url.Parse("http://" + ln.Addr().String() + "/")
	return u
}

// A URL that accepts and never answers ends the wait at --ready-timeout
// with the reason (BenchmarkWaitReadyHangingURL measures how close to it).
func TestWaitReadyHangingURL(t *testing.T) {
	u := silentServer(t)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- waitReady(ReadyOptions{HTTP: u, Timeout: 200 * time.Millisecond}, nil, func() []int { return nil }, nil)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not ready within 200ms (--ready-timeout)") || !strings.Contains(err.Error(), "no answer") {
			t.Errorf("waitReady = %v", err)
		}
		t.Logf("returned after %v", time.Since(start))
	case <-time.After(30 * time.Second):
		t.Fatal("waitReady on a silent server did not return")
	}
}

// BenchmarkWaitReadyHangingURL reports how long after --ready-timeout a
// wait on a URL that never answers returns (overshoot-ms).
func BenchmarkWaitReadyHangingURL(b *testing.B) {
	u := silentServer(b)
	const timeout = 100 * time.Millisecond
	var over time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		waitReady(ReadyOptions{HTTP: u, Timeout: timeout}, nil, func() []int { return nil }, nil)
		over += time.Since(start) - timeout
	}
	b.ReportMetric(float64(over.Microseconds())/1000/float64(b.N), "overshoot-ms")
}

// A --ready-http port out of range is refused: url.Parse takes any digits,
// and 70000 was probed as port 4464 (uint16), someone else's server.
func TestParseReadyHTTPPortRange(t *testing.T) {
	for _, s := range []string{"http://127.0.0.1:70000/", "http://127.0.0.1:0/", "http://localhost:65536/health", "http://[::1]:99999/"} {
		if u, err := ParseReadyHTTP(s); err == nil {
			t.Errorf("ParseReadyHTTP(%q) = %v, want an error", s, u)
		}
	}
	for _, s := range []string{"http://127.0.0.1:65535/", "http://127.0.0.1:1/", "http://localhost/", "http://[::1]:3000/x"} {
		if _, err := ParseReadyHTTP(s); err != nil {
			t.Errorf("ParseReadyHTTP(%q): %v", s, err)
		}
	}
}
