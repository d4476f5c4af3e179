package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchdog-run/watchdog/supervise"
)

// userdir UID VAR: make a directory another user can reach, outside the
// script's private work directory, and set $VAR to it: $VAR/home belongs
// to UID (mode 0700), $VAR/bin holds watchdog, timeout and wd-child for
// that user ($USERBIN, which bgas puts first on PATH). Removed at the end,
// after the processes whose pidfiles are under $VAR/home are ended.
func cmdUserdir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: userdir UID VAR")
	}
	uid, err := strconv.Atoi(args[0])
	ts.Check(err)
	dir, err := os.MkdirTemp("", "wd-user-")
	ts.Check(err)
	ts.Defer(func() {
		killPidfiles(filepath.Join(dir, "home"))
		os.RemoveAll(dir)
	})
	ts.Check(os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "bin")
	ts.Check(os.Mkdir(bin, 0o755))
	self, err := os.Executable()
	ts.Check(err)
	for _, name := range []string{"watchdog", "timeout", "wd-child"} {
		if err := os.Link(self, filepath.Join(bin, name)); err != nil {
			data, err := os.ReadFile(self)
			ts.Check(err)
			ts.Check(os.WriteFile(filepath.Join(bin, name), data, 0o755))
		}
	}
	home := filepath.Join(dir, "home")
	ts.Check(os.Mkdir(home, 0o700))
	ts.Check(os.Chown(home, uid, uid))
	ts.Setenv(args[1], dir)
	ts.Setenv("USERBIN", bin)
}

// bgas NAME UID cmd args...: bg, as user UID (its own group, no others),
// with $USERBIN first on PATH.
func cmdBgas(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: bgas NAME UID command [args...]")
	}
	uid, err := strconv.Atoi(args[1])
	ts.Check(err)
	bin := ts.Getenv("USERBIN")
	if bin == "" {
		ts.Fatalf("bgas: run userdir first")
	}
	path := args[2]
	if !strings.Contains(path, "/") {
		if _, err := os.Stat(filepath.Join(bin, path)); err == nil {
			path = filepath.Join(bin, path)
		} else if path, err = lookPath(ts, path); err != nil {
			ts.Fatalf("bgas: %v", err)
		}
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
	startBg(ts, args[0], path, args[2:], cred, []string{"PATH=" + bin + ":" + ts.Getenv("PATH")})
}

// mkfifo PATH: make a named pipe.
func cmdMkfifo(ts *testscript.TestScript, neg bool, args []string) {
	for _, p := range args {
		ts.Check(syscall.Mkfifo(ts.MkAbs(p), 0o600))
	}
}

// nsalive PIDFILE...: the process whose pidfile was written inside a
// nested PID namespace (its own pid there) is alive, seen from here: some
// process's NSpid line ends with that pid and its start ticks match (they
// are the same in every namespace).
// ! nsalive: none is.
func cmdNsalive(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		pid, ticks, err := readPidfile(ts.MkAbs(f))
		ts.Check(err)
		if found := nestedAlive(pid, ticks); found == neg {
			ts.Fatalf("process of %s (pid %d in its namespace): alive=%v", f, pid, found)
		}
	}
}

func nestedAlive(innerPID int, ticks uint64) bool {
	pids, err := supervise.ListPIDs()
	if err != nil {
		return false
	}
	want := []byte(strconv.Itoa(innerPID))
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			f := bytes.Fields(line)
			if len(f) >= 3 && string(f[0]) == "NSpid:" && bytes.Equal(f[len(f)-1], want) && supervise.SameProcess(pid, ticks) {
				return true
			}
		}
	}
	return false
}
