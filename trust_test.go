package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/watchdog-run/watchdog/supervise"
)

// Three sweep loops run while 40 tasks start, leave a kept daemon each
// (--keep-descendants) and end: every daemon must survive (break C2: the
// census was a snapshot taken before the runs were recorded, so a run whose
// supervisor had just exited looked untracked; 34 of 40 died).
func TestKeptSurviveConcurrentSweeps(t *testing.T) {
	if runInPrivatePIDNamespace(t) {
		return
	}
	const n = 40
	dir := t.TempDir()
	reg := filepath.Join(dir, "process_registry.json")
	env := append(os.Environ(), "WATCHDOG_REGISTRY="+reg, "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	t.Cleanup(func() { killPidfiles(dir) })

	var sweeps []*exec.Cmd
	for i := 0; i < 3; i++ {
		s := exec.Command("watchdog", "sweep", "--every", "5ms", "--grace", "1s")
		s.Env = env
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		sweeps = append(sweeps, s)
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			pidfile := filepath.Join(dir, fmt.Sprintf("kept%02d.pid", i))
			cmd := exec.Command("watchdog", "exec", "--id", fmt.Sprintf("k%02d", i), "--keep-descendants", "--",
				"sh", "-c", `setsid wd-child -hang -pidfile "$0" >/dev/null 2>&1 &`, pidfile)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("task %d: %v: %s", i, err, out)
			}
			errs <- err
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// Every daemon has written its pidfile before it can be swept as
	// kept... or not: wait for all of them, then let the sweeps run over
	// the finished runs a while longer.
	for i := 0; i < n; i++ {
		pidfile := filepath.Join(dir, fmt.Sprintf("kept%02d.pid", i))
		if !waitFor(func() bool { _, err := os.Stat(pidfile); return err == nil }) {
			t.Fatalf("%s never appeared", pidfile)
		}
	}
	for _, s := range sweeps {
		s.Process.Signal(syscall.SIGTERM)
		if err := s.Wait(); err != nil {
			t.Errorf("sweep loop: %v", err)
		}
	}
	dead := 0
	for i := 0; i < n; i++ {
		pid, ticks, err := readPidfile(filepath.Join(dir, fmt.Sprintf("kept%02d.pid", i)))
		if err != nil || !supervise.SameProcess(pid, ticks) {
			dead++
		}
	}
	if dead > 0 {
		t.Fatalf("%d of %d kept daemons were ended by a sweep", dead, n)
	}
}
