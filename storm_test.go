package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// A storm: dozens of supervisors, each with a setsid escapee; half are
// killed with SIGKILL mid-flight, the rest terminated. Afterwards the
// registry parses and holds every entry, and one sweep leaves nothing
// running and no process alive. (Not parallel, and in a private PID
// namespace: its sweep ends every orphaned tagged process it can see.)
func TestStorm(t *testing.T) {
	if runInPrivatePIDNamespace(t) {
		return
	}
	const n = 40
	dir := t.TempDir()
	reg := filepath.Join(dir, "process_registry.json")
	env := append(os.Environ(), "WATCHDOG_REGISTRY="+reg, "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		d := filepath.Join(dir, fmt.Sprint(i))
		os.MkdirAll(d, 0o755)
		cmds[i] = exec.Command("watchdog", "exec", "--id", fmt.Sprintf("s%02d", i), "--timeout", "1m", "-k", "1s", "--",
			"wd-child", "-pidfile", filepath.Join(d, "cmd.pid"), "-spawn", "setsid", "-dir", d, "-ready", filepath.Join(d, "ready"), "-hang")
		cmds[i].Env = env
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { killPidfiles(dir) })
	for i := range cmds {
		ready := filepath.Join(dir, fmt.Sprint(i), "ready")
		if !waitFor(func() bool { _, err := os.Stat(ready); return err == nil }) {
			t.Fatalf("supervisor %d never started its task", i)
		}
	}
	// Every start recorded before the storm: a supervisor is killed
	// mid-run, not between fork and write (faults.txtar covers that).
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool {
		r, err := s.Load()
		if err != nil {
			return false
		}
		running := 0
		for _, id := range r.IDs() {
			if st, _, _ := r.Peek(id); st == registry.StatusRunning {
				running++
			}
		}
		return running == n
	}) {
		t.Fatal("not every start was recorded")
	}
	for i, c := range cmds {
		sig := syscall.SIGTERM
		if i%2 == 0 {
			sig = syscall.SIGKILL
		}
		c.Process.Signal(sig)
	}
	t0 := time.Now()
	for _, c := range cmds {
		c.Wait()
	}
	t.Logf("supervisors ended in %v", time.Since(t0))

	r, err := s.Load()
	if err != nil {
		t.Fatalf("registry after the storm: %v", err)
	}
	if r.Len() != n {
		t.Fatalf("%d entries after the storm, want %d", r.Len(), n)
	}

	sweep := exec.Command("watchdog", "sweep", "--grace", "2s")
	sweep.Env = env
	t0 = time.Now()
	if out, err := sweep.CombinedOutput(); err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	t.Logf("sweep took %v", time.Since(t0))
	r, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s%02d", i)
		task, err := r.Get(id)
		if err != nil || task == nil {
			t.Fatalf("%s lost: %v", id, err)
		}
		want := registry.ReasonSignaled // terminated: the supervisor recorded it
		if i%2 == 0 {
			want = registry.ReasonOrphaned // killed: sweep ended its tree
		}
		if task.Status != registry.StatusFailed || task.Reason != want {
			t.Errorf("%s: %s/%s, want failed/%s", id, task.Status, task.Reason, want)
		}
		for _, f := range []string{"cmd.pid", "setsid.pid"} {
			pid, ticks, err := readPidfile(filepath.Join(dir, fmt.Sprint(i), f))
			if err != nil {
				t.Fatal(err)
			}
			if supervise.SameProcess(pid, ticks) {
				t.Errorf("%s: %s (pid %d) survived", id, f, pid)
			}
		}
	}
}
