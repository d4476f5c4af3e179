package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/registry"
)

// How wait is shown to sleep instead of polling: the context switches of
// all its threads (/proc/PID/task/*/status), which a sleeping process does
// not make and a process that wakes to look makes at every look. Once wait
// holds what it sleeps on and has gone quiet, a window of quietWindow may
// see at most wakeBudget switches: a loop that looks every 50 ms makes 40,
// one that looks every 250 ms makes 8. Timing decides nothing: a slower
// machine stretches the window, which only adds looks to count.
const (
	quietWindow = 2 * time.Second
	wakeBudget  = 4
)

// TestWaitDoesNotPoll: wait on a task that runs a while sleeps on a pidfd
// of its supervisor, and wakes when the task ends, with its status.
func TestWaitDoesNotPoll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg := filepath.Join(dir, "process_registry.json")
	done := filepath.Join(dir, "done")
	task := startCmd(t, "watchdog", "--registry", reg, "exec", "--id", "slow", "--", "wd-child", "-until", done, "-exit", "3")
	awaitRecord(t, reg, "slow", registry.StatusRunning)

	w := startCmd(t, "watchdog", "--registry", reg, "wait", "slow", "--timeout", "60s", "--json")
	assertAsleep(t, w, "anon_inode:[pidfd]")

	if err := os.WriteFile(done, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(w.wait(t)); got != "3" {
		t.Fatalf("wait exited %s, want 3 (the task's status)\n%s", got, w.out.String())
	}
	if got := statusOf(task.wait(t)); got != "3" {
		t.Fatalf("exec exited %s, want 3", got)
	}
	var res []waitResult
	if err := json.Unmarshal(w.out.Bytes(), &res); err != nil || len(res) != 1 || res[0].Status != registry.StatusFailed {
		t.Fatalf("wait --json: %v\n%s", err, w.out.String())
	}
}

// TestWaitThroughRegistry: a task no supervisor watches (registered, the
// earlier tool's) is awaited through the registry's directory, asleep, and
// wait wakes when its record is closed.
func TestWaitThroughRegistry(t *testing.T) {
	t.Parallel()
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	if out, err := exec.Command("watchdog", "--registry", reg, "register", "R", "-c", "elsewhere").CombinedOutput(); err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	w := startCmd(t, "watchdog", "--registry", reg, "wait", "R", "--timeout", "60s")
	assertAsleep(t, w, "anon_inode:inotify")
	if out, err := exec.Command("watchdog", "--registry", reg, "kill", "R").CombinedOutput(); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	// Cancelled without an exit code: 1.
	if got := statusOf(w.wait(t)); got != "1" || !strings.Contains(w.out.String(), "R: cancelled (killed)") {
		t.Fatalf("wait exited %s, want 1 with the record's status:\n%s", got, w.out.String())
	}
}

// TestWaitSweptOrphan: the supervisor is killed with SIGKILL, so the
// record stays running and there is no supervisor to watch; wait sleeps
// on the registry until a sweep marks the task orphaned. In a private PID
// namespace, as every test that sweeps (sweep_ns_test.go).
func TestWaitSweptOrphan(t *testing.T) {
	if runInPrivatePIDNamespace(t) {
		return
	}
	dir := t.TempDir()
	reg := filepath.Join(dir, "process_registry.json")
	pidfile := filepath.Join(dir, "cmd.pid")
	task := startCmd(t, "watchdog", "--registry", reg, "exec", "--id", "orphan", "--", "wd-child", "-pidfile", pidfile, "-hang")
	awaitRecord(t, reg, "orphan", registry.StatusRunning)
	if !waitFor(func() bool { _, err := os.Stat(pidfile); return err == nil }) {
		t.Fatal("the command never wrote its pidfile")
	}
	task.cmd.Process.Signal(syscall.SIGKILL)
	if got := statusOf(task.wait(t)); got != "KILL" {
		t.Fatalf("supervisor: %s, want KILL", got)
	}

	w := startCmd(t, "watchdog", "--registry", reg, "wait", "orphan", "--timeout", "60s", "--json")
	assertAsleep(t, w, "anon_inode:inotify")
	if out, err := exec.Command("watchdog", "--registry", reg, "sweep", "--grace", "1s").CombinedOutput(); err != nil || !bytes.Contains(out, []byte("marked failed (orphaned)")) {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	if got := statusOf(w.wait(t)); got != "1" {
		t.Fatalf("wait exited %s, want 1\n%s", got, w.out.String())
	}
	var res []waitResult
	if err := json.Unmarshal(w.out.Bytes(), &res); err != nil || len(res) != 1 ||
		res[0].Status != registry.StatusFailed || res[0].Reason != registry.ReasonOrphaned || res[0].ExitCode != nil {
		t.Fatalf("wait --json: %v\n%s", err, w.out.String())
	}
}

// TestWaitQuietMeasure keeps the measure honest: a process that looks
// every 50 ms is never seen asleep.
func TestWaitQuietMeasure(t *testing.T) {
	t.Parallel()
	p := startCmd(t, "sh", "-c", "while :; do sleep 0.05; done")
	if quiet(p.cmd.Process.Pid, time.Second) {
		t.Fatal("a shell that sleeps 50 ms in a loop was seen quiet: the measure is broken")
	}
}

// assertAsleep waits until wait holds the descriptor it sleeps on (so it
// has read the registry) and has gone quiet, then fails if it wakes more
// than wakeBudget times in quietWindow.
func assertAsleep(t *testing.T, w *bgProc, fd string) {
	t.Helper()
	pid := w.cmd.Process.Pid
	if !waitFor(func() bool { return holdsFD(pid, fd) }) {
		t.Fatalf("wait never held a %s\n%s", fd, w.out.String())
	}
	if !quiet(pid, 10*time.Second) {
		t.Fatalf("wait never went quiet: it keeps waking up (polling?)")
	}
	before := contextSwitches(pid)
	time.Sleep(quietWindow) // the window measured, not a synchronisation
	woke := contextSwitches(pid) - before
	if woke > wakeBudget {
		t.Fatalf("wait woke %d times in %v while its task ran: it polls", woke, quietWindow)
	}
	t.Logf("wait woke %d times in %v while its task ran", woke, quietWindow)
}

// quiet reports whether the process pid makes no context switch for 200
// ms on end, within limit.
func quiet(pid int, limit time.Duration) bool {
	const still = 200 * time.Millisecond
	deadline := time.Now().Add(limit)
	last, since := contextSwitches(pid), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		if n := contextSwitches(pid); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= still {
			return true
		}
	}
	return false
}

// contextSwitches is the voluntary and involuntary context switches of
// every thread of the process so far.
func contextSwitches(pid int) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	n := 0
	for _, tid := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, tid.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
				c, _ := strconv.Atoi(strings.TrimSpace(v))
				n += c
			}
		}
	}
	return n
}

// holdsFD reports whether the process has a descriptor open on target
// (as /proc/PID/fd shows it: "anon_inode:[pidfd]").
func holdsFD(pid int, target string) bool {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); err == nil && l == target {
			return true
		}
	}
	return false
}

// awaitRecord waits until the registry holds id with status.
func awaitRecord(t *testing.T, reg, id, status string) {
	t.Helper()
	s, err := registry.OpenForReading(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool {
		r, err := s.Read()
		if err != nil {
			return false
		}
		st, _, ok := r.Peek(id)
		return ok && st == status
	}) {
		t.Fatalf("task %s never became %s", id, status)
	}
}

// bgProc is a command started in the background, its output collected.
type bgProc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func startCmd(t *testing.T, name string, args ...string) *bgProc {
	t.Helper()
	p := &bgProc{cmd: exec.Command(name, args...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the command to end, at most waitLimit.
func (p *bgProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(waitLimit):
		t.Fatalf("%s did not end within %v\n%s", strings.Join(p.cmd.Args, " "), waitLimit, p.out.String())
		return nil
	}
}
