package main

// docker-run lives the same life as exec (package launch): the same label
// rules, the same refusal of a running id, the same end statuses.

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/watchdog-run/watchdog/supervise"
)

// A label exec refuses, docker-run refuses in the same words, before
// anything is made: no container, no record.
func TestDockerRefusesLabelsAsExec(t *testing.T) {
	setup(t)
	reg := newReg(t)
	for _, label := range []string{"k=col1\tcol2", "k=\x1b[31m", strings.Repeat("k", 129) + "=v", "a b=c", "=v"} {
		r := wd(t, reg, "", nil, "docker-run", "--id", "c-label", "--label", label, testImage, "-exit", "0")
		ex := wd(t, reg, "", nil, "exec", "--id", "n-label", "--label", label, "--", "true")
		if r.code != 125 || ex.code != 125 || r.stderr != ex.stderr || !strings.HasPrefix(r.stderr, "watchdog: invalid label") {
			t.Errorf("label %q: docker-run %d %q, exec %d %q", label, r.code, r.stderr, ex.code, ex.stderr)
		}
		if !gone(t, "dev-task-c-label") {
			t.Fatalf("label %q: a container was made", label)
		}
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("refused runs touched the registry: %v", err)
	}
	// The watchdog's own label namespace is for its own labels only.
	r := wd(t, reg, "", nil, "docker-run", "--id", "c-label", "--label", "watchdog.run-id=forged", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "invalid label "+supervise.Quote("watchdog.run-id")) || !gone(t, "dev-task-c-label") {
		t.Errorf("watchdog. label: %d %q", r.code, r.stderr)
	}
}

// A running id is refused as exec refuses it, whether the second run asks
// for the same container name or another; the first run goes on.
func TestDockerRefusesRunningIDAsExec(t *testing.T) {
	setup(t)
	reg := newReg(t)
	cmd, _, _ := startBackground(t, reg, "--id", "c-busy", "--timeout", "1m", testImage, "-hang")
	first := task(t, reg, "c-busy")["run_id"]
	ex := wd(t, reg, "", nil, "exec", "--id", "c-busy", "--", "true")
	if ex.code != 125 || !strings.Contains(ex.stderr, "watchdog: task "+supervise.Quote("c-busy")+" is already running (supervisor pid ") ||
		!strings.Contains(ex.stderr, "watchdog: hint: choose another --id, or stop it first: watchdog kill c-busy") {
		t.Fatalf("exec: %d %q", ex.code, ex.stderr)
	}
	for _, args := range [][]string{{}, {"--name", "c-busy-other"}} {
		args = append(append([]string{"docker-run", "--id", "c-busy"}, args...), testImage, "-exit", "0")
		r := wd(t, reg, "", nil, args...)
		if r.code != 125 || r.stderr != ex.stderr {
			t.Errorf("%v: %d %q, want exec's %q", args, r.code, r.stderr, ex.stderr)
		}
	}
	if !gone(t, "c-busy-other") {
		t.Error("the refused run left its container")
	}
	if tk := task(t, reg, "c-busy"); tk["status"] != "running" || tk["run_id"] != first {
		t.Errorf("the running task's record changed: %v", tk)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// A container killed by a signal outside a timeout is recorded as
// signaled, as exec records a command; docker-run exits 128+N.
func TestDockerRecordsSignaled(t *testing.T) {
	setup(t)
	reg := newReg(t)
	cmd, _, stderr := startBackground(t, reg, "--id", "c-killed", testImage, "-hang")
	if err := engine.ContainerKill(context.Background(), "dev-task-c-killed", "KILL"); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Errorf("exit %d, want 137; stderr %s", code, stderr)
	}
	if tk := task(t, reg, "c-killed"); tk["status"] != "failed" || tk["reason"] != "signaled" || tk["signal"] != "KILL" ||
		tk["exit_code"] != float64(137) || tk["completed_at"] == nil {
		t.Errorf("record: %v", tk)
	}
	if !gone(t, "dev-task-c-killed") {
		t.Error("container not removed")
	}
}

// A start that fails is recorded as exec records one, whether it failed
// before the container was made (no such image) or when the engine started
// it (no such user).
func TestDockerRecordsStartFailures(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wd(t, reg, "", nil, "docker-run", "--id", "c-noimage", "watchdog-no-such-image:never")
	if r.code != 125 || !strings.Contains(r.stderr, "is not present on the Docker engine") {
		t.Errorf("missing image: %d %q", r.code, r.stderr)
	}
	r = wd(t, reg, "", nil, "docker-run", "--id", "c-nouser", "-u", "nosuchuser", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "watchdog: start container: ") {
		t.Errorf("unknown user: %d %q", r.code, r.stderr)
	}
	if !gone(t, "dev-task-c-nouser") {
		t.Error("the container that did not start is still there")
	}
	for _, id := range []string{"c-noimage", "c-nouser"} {
		if tk := task(t, reg, id); tk["mode"] != "docker" || tk["status"] != "failed" || tk["reason"] != "start-failed" ||
			tk["exit_code"] != float64(125) || tk["error"] == nil || tk["completed_at"] == nil {
			t.Errorf("%s: record %v", id, tk)
		}
	}
}
