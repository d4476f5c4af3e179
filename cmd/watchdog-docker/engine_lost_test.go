package main

// docker-run when the connection to the engine drops after the container
// started: the run talks to the engine through a unix-socket proxy the test
// closes (every live connection with it) and opens again.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dockercontainer "github.com/docker/docker/api/types/container"
)

// sockProxy forwards connections on a unix socket to the real engine.
type sockProxy struct {
	path            string
	network, target string // the real engine

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// newProxy starts a proxy to the engine the tests use; it is closed at the
// end of the test.
func newProxy(t *testing.T) *sockProxy {
	t.Helper()
	u, err := url.Parse(engine.DaemonHost())
	if err != nil {
		t.Fatalf("engine address %q: %v", engine.DaemonHost(), err)
	}
	p := &sockProxy{path: filepath.Join(t.TempDir(), "engine.sock"), conns: map[net.Conn]bool{}}
	switch {
	case os.Getenv("DOCKER_TLS_VERIFY") != "" || os.Getenv("DOCKER_CERT_PATH") != "":
		t.Skip("the engine is reached over TLS, which a byte proxy on a unix socket cannot carry")
	case u.Scheme == "unix":
		p.network, p.target = "unix", u.Path
	case u.Scheme == "tcp":
		p.network, p.target = "tcp", u.Host
	default:
		t.Skipf("cannot proxy the engine at %s", engine.DaemonHost())
	}
	if len(p.path) > 100 { // sun_path holds 108 bytes
		dir, err := os.MkdirTemp("", "wdp")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		p.path = filepath.Join(dir, "engine.sock")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func (p *sockProxy) host() string { return "DOCKER_HOST=unix://" + p.path }

// Start listens on the proxy's path again.
func (p *sockProxy) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return errors.New("proxy already listening")
	}
	os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		return err
	}
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(c)
		}
	}()
	return nil
}

func (p *sockProxy) forward(c net.Conn) {
	e, err := net.Dial(p.network, p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // closed meanwhile
		p.mu.Unlock()
		c.Close()
		e.Close()
		return
	}
	p.conns[c], p.conns[e] = true, true
	p.mu.Unlock()
	var halves sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer halves.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}
	halves.Add(2)
	go pipe(e, c)
	go pipe(c, e)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		halves.Wait()
		c.Close()
		e.Close()
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, e)
		p.mu.Unlock()
	}()
}

// Close stops listening (the socket file goes) and cuts every live
// connection, as an engine that went away would.
func (p *sockProxy) Close() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proxiedRun is docker-run in the background, reaching the engine through p.
type proxiedRun struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed when it exited
	code           int
}

func startProxied(t *testing.T, p *sockProxy, reg, id string, args ...string) *proxiedRun {
	t.Helper()
	name := "dev-task-" + id
	// Whatever happens, the container goes with the test.
	t.Cleanup(func() {
		engine.ContainerRemove(context.Background(), name, dockercontainer.RemoveOptions{Force: true})
	})
	r := &proxiedRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(filepath.Join(binDir, "watchdog"),
		append([]string{"--registry", reg, "docker-run", "--id", id}, args...)...)
	r.cmd.Env = append(os.Environ(), p.host())
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := r.cmd.Wait()
		r.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			r.code = -1
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

func (r *proxiedRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// waitUntil polls cond until it holds; it fails the test when the time is
// up, or when docker-run exits first unless exitOK.
func (r *proxiedRun) waitUntil(t *testing.T, what string, within time.Duration, exitOK bool, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(within)
	for !cond() {
		if !exitOK && r.exited() {
			if cond() {
				return
			}
			t.Fatalf("docker-run exited %d before %s\nstdout: %s\nstderr: %s", r.code, what, r.stdout, r.stderr)
		}
		if time.Now().After(limit) {
			t.Fatalf("no %s within %s\nstdout: %s\nstderr: %s", what, within, r.stdout, r.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for docker-run to end, at most until limit.
func (r *proxiedRun) waitExit(t *testing.T, limit time.Time) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(time.Until(limit)):
		t.Fatalf("docker-run still running at %s\nstdout: %s\nstderr: %s", limit.Format(time.TimeOnly), r.stdout, r.stderr)
		return 0
	}
}

// containerDeadline is when the deadline falls: the one recorded, counted
// from before the container was created, or --timeout after the container
// started (docker-run's timer starts then), whichever is later.
func containerDeadline(t *testing.T, reg, id string) time.Time {
	t.Helper()
	s, _ := task(t, reg, id)["deadline"].(string)
	d, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("record has no deadline: %v", task(t, reg, id))
	}
	info, err := engine.ContainerInspect(context.Background(), "dev-task-"+id)
	if err != nil || info.State == nil {
		t.Fatalf("inspect: %v", err)
	}
	started, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	if err != nil {
		t.Fatalf("container start time %q: %v", info.State.StartedAt, err)
	}
	if started.Add(lostTimeout).After(d) {
		d = started.Add(lostTimeout)
	}
	return d
}

const (
	lostTimeout   = 4 * time.Second // --timeout 4
	lostKillAfter = 1 * time.Second // --kill-after 1
)

// engineLostRun starts a container that prints, then hangs 30 s, and cuts
// the engine once it printed; it returns when docker-run said it lost it.
// deadline is the container's: its start plus --timeout; cutAt is when the
// proxy was closed.
func engineLostRun(t *testing.T, id string) (p *sockProxy, r *proxiedRun, reg string, deadline, cutAt time.Time) {
	t.Helper()
	setup(t)
	reg = newReg(t)
	p = newProxy(t)
	r = startProxied(t, p, reg, id, "--timeout", "4", "--kill-after", "1", testImage, "-out", "start", "-sleep", "30s")
	r.waitUntil(t, "output from the container", 60*time.Second, false, func() bool { return strings.Contains(r.stdout.String(), "start\n") })
	deadline = containerDeadline(t, reg, id)
	cutAt = time.Now()
	p.Close()
	r.waitUntil(t, "warning that the engine was lost", 20*time.Second, false, func() bool {
		return strings.Contains(r.stderr.String(), "watchdog: lost the Docker engine (")
	})
	return p, r, reg, deadline, cutAt
}

// checkTimedOutAndGone: docker-run ended by its deadline (124, or 137 when
// the KILL was due too), the container is gone and the record says timeout.
func checkTimedOutAndGone(t *testing.T, r *proxiedRun, reg, id string, deadline time.Time) {
	t.Helper()
	code := r.waitExit(t, deadline.Add(lostKillAfter+20*time.Second))
	if code != 124 && code != 137 {
		t.Errorf("exit %d, want 124 or 137\nstderr: %s", code, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "watchdog: reconnected to the Docker engine") {
		t.Errorf("no reconnected notice: %s", r.stderr)
	}
	if !gone(t, "dev-task-"+id) {
		t.Error("container still there after its deadline")
	}
	tk := task(t, reg, id)
	if tk["status"] != "failed" || tk["reason"] != "timeout" || tk["exit_code"] != float64(code) {
		t.Errorf("record: %v", tk)
	}
}

// The engine comes back before the deadline: the deadline is enforced as
// if nothing happened.
func TestDockerEngineLostRegainedBeforeDeadline(t *testing.T) {
	id := "c-lost-back"
	p, r, reg, deadline, _ := engineLostRun(t, id)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitUntil(t, "reconnection", 20*time.Second, true, func() bool {
		return strings.Contains(r.stderr.String(), "watchdog: reconnected to the Docker engine")
	})
	checkTimedOutAndGone(t, r, reg, id, deadline)
}

// The engine comes back only after the deadline and the KILL grace have
// passed: what fell due meanwhile is done as soon as it answers.
func TestDockerEngineLostRegainedAfterDeadline(t *testing.T) {
	id := "c-lost-late"
	p, r, reg, deadline, _ := engineLostRun(t, id)
	// docker-run must keep retrying until the deadline and the grace are
	// past, and then some: the condition is the clock.
	late := deadline.Add(lostKillAfter + 500*time.Millisecond)
	r.waitUntil(t, "the deadline and the grace to pass", 20*time.Second, false, func() bool { return time.Now().After(late) })
	if gone(t, "dev-task-"+id) {
		t.Fatal("container gone while the engine was unreachable from docker-run")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	checkTimedOutAndGone(t, r, reg, id, deadline)
}

// The engine never comes back: docker-run gives up with ExitEngineLost,
// not 125 ("never ran"), and leaves a running record that sweep finishes.
func TestDockerEngineLostForGood(t *testing.T) {
	id := "c-lost-gone"
	name := "dev-task-" + id
	_, r, reg, deadline, lostAt := engineLostRun(t, id)
	code := r.waitExit(t, lostAt.Add(30*time.Second))
	if code != ExitEngineLost {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, ExitEngineLost, r.stderr)
	}
	// It retried for engineRetry, and past the deadline and the grace.
	if now := time.Now(); now.Before(deadline.Add(lostKillAfter)) || now.Sub(lostAt) < engineRetryForTest {
		t.Errorf("gave up too early: %s after the loss, %s after the deadline", now.Sub(lostAt), now.Sub(deadline))
	}
	if !strings.Contains(r.stderr.String(), "watchdog: lost the Docker engine after the container started; container ") ||
		!strings.Contains(r.stderr.String(), "`watchdog sweep` will stop it") {
		t.Errorf("message: %s", r.stderr)
	}
	tk := task(t, reg, id)
	if errMsg, _ := tk["error"].(string); tk["status"] != "running" || tk["reason"] != nil ||
		!strings.Contains(errMsg, "lost the Docker engine") {
		t.Errorf("record: %v", tk)
	}
	info, err := engine.ContainerInspect(context.Background(), name)
	if err != nil || info.State == nil || !info.State.Running {
		t.Fatalf("the container should still run, its supervisor having lost the engine: %v", err)
	}
	// With the engine back, sweep ends the container and the record.
	sw := wd(t, reg, "", nil, "sweep", "--grace", "2s")
	if sw.code != 0 || !strings.Contains(sw.stdout, id+": container "+name) {
		t.Errorf("sweep: code %d stdout %q stderr %q", sw.code, sw.stdout, sw.stderr)
	}
	if !gone(t, name) {
		t.Error("sweep left the container")
	}
	if tk := task(t, reg, id); tk["status"] != "failed" || tk["reason"] != "orphaned" {
		t.Errorf("record after sweep: %v", tk)
	}
}

// engineRetryForTest mirrors launch/container's engineRetry.
const engineRetryForTest = 10 * time.Second
