package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The command runs in a session of its own, so it has no controlling
// terminal (README, "The command has no controlling terminal"). Under a
// real terminal (script(1) makes one): opening /dev/tty fails at once,
// while a stdin that is the terminal is read as usual, so a prompt on
// stdin (vim, read) waits for the deadline. The same write to /dev/tty
// without the watchdog succeeds, so the check can fail.
func TestExecWithoutControllingTerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) (util-linux, Debian's bsdutils) is needed for this test: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "watchdog")); err != nil {
		t.Fatal(err)
	}
	run := func(line string) string {
		t.Helper()
		cmd := exec.Command(scriptBin, "-qec", line, "/dev/null")
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"),
			"WATCHDOG_REGISTRY="+filepath.Join(dir, "r.json"))
		// script's input stays open: an EOF would end the read below.
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return string(out)
	}
	const write = `sh -c 'echo x >/dev/tty; echo rc=$?'`
	if out := run(write); !strings.Contains(out, "rc=0") {
		t.Fatalf("without the watchdog, /dev/tty should be the terminal:\n%s", out)
	}
	if out := run("watchdog exec -- " + write); !strings.Contains(out, "rc=2") || !strings.Contains(out, "No such device or address") {
		t.Errorf("under exec, opening /dev/tty should fail at once (ENXIO):\n%s", out)
	}
	if out := run(`watchdog exec --timeout 0.5 -- sh -c 'read x; echo read=$?'; echo exit=$?`); !strings.Contains(out, "exit=124") || strings.Contains(out, "read=") {
		t.Errorf("under exec, a read of the terminal on stdin should wait for the deadline:\n%s", out)
	}
}
