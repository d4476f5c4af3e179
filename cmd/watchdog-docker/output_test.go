package main

// docker-run --log[=FILE], --log-max and --idle-timeout (issue #14), as
// exec takes them, against the real engine.

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/supervise"
)

// wdEnv is wdWithin with variables added to the environment.
func wdEnv(t *testing.T, limit time.Duration, reg string, env []string, args ...string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- wd(t, reg, "", env, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(limit):
		t.Fatalf("%v: still running after %v", args, limit)
		return result{}
	}
}

// --log keeps both streams, interleaved, each frame whole, in the log
// beside the registry, recorded in the task; the caller still gets them
// live and separately.
func TestDockerRunLog(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-log", "--log", testImage, "-out", "to stdout", "-err", "to stderr", "-exit", "3")
	if r.code != 3 || r.stdout != "to stdout\nready\n" || r.stderr != "to stderr\n" {
		t.Fatalf("exit %d (want 3), streams not passed on separately:\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	if !gone(t, "dev-task-c-log") {
		t.Error("container not removed at the end")
	}
	tk := task(t, reg, "c-log")
	abs, _ := filepath.Abs(reg)
	want := filepath.Join(filepath.Dir(abs), "watchdog-logs", "c-log."+tk["run_id"].(string)+".log")
	if tk["log"] != want {
		t.Fatalf("record's log %v, want %s", tk["log"], want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	// The order of stdout's and stderr's lines is the engine's: each line
	// is there whole, once.
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	sort.Strings(lines)
	if strings.Join(lines, "|") != "ready|to stderr|to stdout" {
		t.Errorf("log %q, want the three lines of both streams", b)
	}

	// --log=FILE, capped; a TTY's output is one stream, logged as shown.
	file := filepath.Join(t.TempDir(), "tty.log")
	r = wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-logtty", "-t", "--log="+file, "--log-max", "1m", testImage, "-out", "on a tty")
	if r.code != 0 || r.stdout != "on a tty\r\nready\r\n" {
		t.Fatalf("-t --log=FILE: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != r.stdout {
		t.Errorf("-t --log=FILE: log %q (%v), want what was shown, %q", b, err, r.stdout)
	}
	if tk := task(t, reg, "c-logtty"); tk["log"] != file || tk["status"] != "completed" {
		t.Errorf("-t --log=FILE: record %v", tk)
	}
}

// --idle-timeout ends a container that went silent as its deadline does
// (reason idle, 124, removed), with exec's notice; one that keeps printing
// runs to its end. WATCHDOG_IDLE_TIMEOUT stands in for the option.
func TestDockerRunIdleTimeout(t *testing.T) {
	setup(t)
	reg := newReg(t)
	start := time.Now()
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-idle", "--idle-timeout", "1", "--log", testImage, "-out", "hello", "-sleep", "1m")
	if r.code != 124 || r.stdout != "hello\nready\n" {
		t.Fatalf("silent container: exit %d (want 124) stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r.stderr != "watchdog: no output for 1s (--idle-timeout): ending the command\n" {
		t.Errorf("notice: %q", r.stderr)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("ended after %v", d)
	}
	if !gone(t, "dev-task-c-idle") {
		t.Error("idle container not removed")
	}
	tk := task(t, reg, "c-idle")
	if tk["status"] != "failed" || tk["reason"] != "idle" || tk["exit_code"] != float64(124) ||
		tk["idle_timeout_seconds"] != float64(1) || tk["error"] != "no output for 1s" {
		t.Errorf("record: %v", tk)
	}
	if b, err := os.ReadFile(tk["log"].(string)); err != nil || string(b) != "hello\nready\n" {
		t.Errorf("log %q (%v)", b, err)
	}

	// Printing every 200ms it outlives a 1s idle timeout.
	r = wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-busy", "--idle-timeout", "1", testImage, "-tick", "200ms", "-sleep", "2500ms")
	if r.code != 0 || !strings.Contains(r.stdout, "ready\ntick 1\n") || r.stderr != "" {
		t.Errorf("busy container: exit %d (want 0) stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if tk := task(t, reg, "c-busy"); tk["status"] != "completed" || tk["idle_timeout_seconds"] != float64(1) || tk["log"] != nil {
		t.Errorf("busy container's record: %v", tk)
	}

	// TERM ignored: KILL after the grace, 137, still reason idle.
	r = wdEnv(t, 60*time.Second, reg, []string{"WATCHDOG_IDLE_TIMEOUT=0.5"}, "docker-run", "--id", "c-idlekill", "--kill-after", "0.5", testImage, "-ignore-term")
	if r.code != 137 || !gone(t, "dev-task-c-idlekill") {
		t.Errorf("TERM-ignoring idle container: exit %d (want 137) stderr %q", r.code, r.stderr)
	}
	if tk := task(t, reg, "c-idlekill"); tk["reason"] != "idle" || tk["idle_timeout_seconds"] != 0.5 {
		t.Errorf("TERM-ignoring idle container's record: %v", tk)
	}
}

// Bad values of the output options exit 125 before any container is made
// or anything recorded, as exec's do.
func TestDockerRunOutputRefusals(t *testing.T) {
	setup(t)
	for _, c := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"--idle-timeout", "soon"}, "watchdog: --idle-timeout: invalid duration " + supervise.Quote("soon")},
		{[]string{"--idle-timeout", "-1"}, "watchdog: --idle-timeout: invalid duration " + supervise.Quote("-1")},
		{[]string{"--log-max", "16m"}, "watchdog: --log-max needs --log\nwatchdog: hint: watchdog docker-run --log --log-max 16m IMAGE\n"},
		{[]string{"--log", "--log-max", "1k"}, "watchdog: --log-max: " + supervise.Quote("1k") + " is below the least useful size, 4k"},
		{[]string{"--log", "--log-max", "lots"}, "watchdog: --log-max: invalid size " + supervise.Quote("lots")},
		{[]string{"--log="}, "watchdog: invalid boolean value \"\" for -log: " + supervise.Quote("") + " is not a file name"},
		{[]string{"--log=" + t.TempDir()}, "watchdog: cannot keep the log: "},
	} {
		refusedBefore(t, c.args, c.prefix)
	}
	reg := newReg(t)
	r := wdEnv(t, 30*time.Second, reg, []string{"WATCHDOG_IDLE_TIMEOUT=nope"}, "docker-run", "--id", "c-refused", testImage)
	if r.code != 125 || !strings.HasPrefix(r.stderr, "watchdog: WATCHDOG_IDLE_TIMEOUT (--idle-timeout): invalid duration "+supervise.Quote("nope")) || !gone(t, "dev-task-c-refused") {
		t.Errorf("WATCHDOG_IDLE_TIMEOUT=nope: exit %d stderr %q", r.code, r.stderr)
	}
}
