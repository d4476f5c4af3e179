package main

import (
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// TestDetachScripts runs testdata/detach: exec --detach, readiness,
// --reuse, --tie and kill --port on detached servers (issue #15). They
// need two commands the other scripts do not: freeport and killsup.
func TestDetachScripts(t *testing.T) {
	testscript.Run(t, detachParams("testdata/detach"))
}

// TestDetachSweepScripts runs testdata/detach-sweep one at a time in a
// private PID namespace, as TestSweepScripts runs testdata/sweep: they
// SIGKILL a detached task's supervisor and sweep.
func TestDetachSweepScripts(t *testing.T) {
	if runInPrivatePIDNamespace(t) {
		return
	}
	runScriptsOneByOne(t, "testdata/detach-sweep", detachParams)
}

func detachParams(dir string) testscript.Params {
	p := scriptParams(dir)
	p.Cmds["freeport"] = cmdFreeport
	p.Cmds["killsup"] = cmdKillsup
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		// Detached tasks outlive the commands that started them: whatever a
		// script (a failing one, say) leaves running is ended.
		reg := env.Getenv("WATCHDOG_REGISTRY")
		env.Defer(func() { endRunning(reg) })
		return nil
	}
	return p
}

// endRunning ends every running native task of the registry, as kill
// would, with KILL.
func endRunning(reg string) {
	s, err := registry.Open(reg)
	if err != nil {
		return
	}
	r, err := s.Read()
	if err != nil {
		return
	}
	for _, id := range r.IDs() {
		if t, err := launch.Cancel(s, id); err == nil && t.Native != nil {
			launch.EndNative(t, syscall.SIGKILL, 0)
		}
	}
}

// freeport NAME...: set each $NAME to a TCP port of 127.0.0.1 that nothing
// listens on now (the kernel's choice, released at once): a port a
// command line must name before its server exists (--ready-port).
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	for _, name := range args {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ts.Setenv(name, strconv.Itoa(port))
	}
}

// killsup ID: SIGKILL the recorded supervisor of task ID (a detached
// task's background half) and return once it is gone.
func cmdKillsup(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: killsup ID")
	}
	s, err := registry.Open(ts.Getenv("WATCHDOG_REGISTRY"))
	ts.Check(err)
	r, err := s.Read()
	ts.Check(err)
	task, err := r.Get(args[0])
	ts.Check(err)
	if task == nil || task.Supervisor == nil {
		ts.Fatalf("task %s has no recorded supervisor", args[0])
	}
	sup := task.Supervisor
	if !supervise.SameProcess(sup.PID, sup.StartTicks) {
		ts.Fatalf("task %s: supervisor %d is not running", args[0], sup.PID)
	}
	ts.Check(syscall.Kill(sup.PID, syscall.SIGKILL))
	if !waitFor(func() bool { return !supervise.SameProcess(sup.PID, sup.StartTicks) }) {
		ts.Fatalf("supervisor %d of %s still alive after %v", sup.PID, args[0], waitLimit)
	}
}
