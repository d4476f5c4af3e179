package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// timeoutCases are command lines after "timeout". Each runs through GNU
// coreutils timeout and through the drop-in, both invoked as "timeout"
// from PATH; exit status (or the signal it died of), stdout and stderr must
// be identical. The point is that no script can tell the two apart.
var timeoutCases = []string{
	// operands missing, options wrong
	``, `1`, `--`, `-- 1`, `-v`, `--foreground`, `-k 1 1`,
	`--foo 1 true`, `-x 1 true`, `-k`, `-s`, `--kill-after`, `--signal`,
	`--v 1 true`, `--ver 1 true`, `--verbose=x 1 true`, `--help=x`, `--preserve-status=1 1 true`,
	// durations
	`0 true`, `1 true`, `.1 true`, `1.5 true`, `1e-1 true`, `0.5s true`, `0.01m true`, `1h true`, `1d true`,
	`inf true`, `infinity true`, `1e400 true`, `0x10 true`, `' 1' true`, `+1 true`,
	`-1 true`, `abc true`, `1x true`, `1.5.2 true`, `nan true`, `'' true`, `1ss true`, `- true`, `1e true`,
	`-k abc 1 true`, `-k -1 1 true`, `--kill-after=x 1 true`,
	// signals
	`-s TERM 1 true`, `-s SIGTERM 1 true`, `-s term 1 true`, `-s sigTerm 1 true`, `-s 15 1 true`, `-s 0 1 true`,
	`-s 64 1 true`, `-s RTMIN+1 1 true`, `-s RTMAX-2 1 true`, `-s CLD 1 true`, `-s IOT 1 true`,
	`-s 33 1 true`, `-s 65 1 true`, `-s FOO 1 true`, `-s 0x9 1 true`, `-s '' 1 true`, `-s SIG 1 true`, `--signal=FOO 1 true`,
	// commands that exit, fail, are not found or not executable
	`1 false`, `1 sh -c 'exit 3'`, `1 sh -c 'exit 255'`, `1 sh -c 'echo out; echo err >&2; exit 7'`,
	`1 /nonexistent`, `1 no-such-command-xyz`, `1 /etc`, `1 /etc/passwd`, `1 -- true`,
	// commands killed by a signal outside a timeout
	`1 sh -c 'kill -TERM $$'`, `1 sh -c 'kill -INT $$'`, `1 sh -c 'kill -HUP $$'`, `1 sh -c 'kill -KILL $$'`,
	`1 sh -c 'kill -USR1 $$'`,
	// timeouts
	`0.1 sleep 5`, `-v 0.1 sleep 5`, `--verbose 0.1 sleep 5`, `-s INT -v 0.1 sleep 5`, `-sHUP 0.1 sleep 5`,
	`--signal=KILL 0.1 sleep 5`, `-v -s KILL 0.1 sleep 5`, `-s 9 0.1 sleep 5`,
	`--preserve-status 0.1 sleep 5`, `--pres 0.1 sleep 5`, `--preserve-status -s KILL 0.1 sleep 5`,
	`0.5 wd-child -trap TERM -exit 0`, `--preserve-status 0.5 wd-child -trap TERM -exit 3`,
	`0.5 wd-child -ignore TERM -sleep 1s`, `-k 0 0.5 wd-child -ignore TERM -sleep 800ms`,
	`-v -k 0.1 0.5 wd-child -ignore TERM -hang`, `-vk0.1 0.5 wd-child -ignore TERM -hang`,
	`--kill-after=0.1 --preserve-status 0.5 wd-child -ignore TERM -hang`,
	`-s 0 0.1 sleep 0.3`, `-v -s 0 -k 0.2 0.1 sleep 5`,
	`--foreground 0.1 sleep 5`, `--fore -v 0.1 sleep 5`, `--foreground -k 0.1 0.5 wd-child -ignore TERM -hang`,
	`-v --foreground -k 0.1 -s INT 0.5 wd-child -ignore INT -hang`,
	`5 wd-child -exit 4`,
	// help
	`--help`, `--he`, `-v --help`,
}

func TestTimeoutDropInDifferential(t *testing.T) { runDifferential(t, timeoutCases, nil) }

// runDifferential runs each case (a command line after "timeout", in sh
// syntax: redirections are the shell's) through GNU timeout and through the
// drop-in, with env added to both environments, and compares the exit
// status, stdout and stderr byte for byte.
func runDifferential(t *testing.T, cases []string, env []string) {
	gnu, err := exec.LookPath("/usr/bin/timeout")
	if err != nil {
		t.Fatalf("GNU timeout is needed for this test: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	refDir, oursDir := filepath.Join(dir, "gnu"), filepath.Join(dir, "ours")
	for d, target := range map[string]string{refDir: gnu, oursDir: self} {
		os.MkdirAll(d, 0o755)
		if err := os.Symlink(target, filepath.Join(d, "timeout")); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644)
	reg := filepath.Join(dir, "reg", "process_registry.json")
	for _, c := range cases {
		c := c
		t.Run(strings.ReplaceAll(c, "/", "∕"), func(t *testing.T) {
			t.Parallel()
			want := runTimeout(t, refDir, dir, reg, c, env)
			got := runTimeout(t, oursDir, dir, reg, c, env)
			if got.status != want.status {
				t.Errorf("timeout %s: status %s, GNU %s\nstderr:\n%s", c, got.status, want.status, got.stderr)
			}
			if got.stdout != want.stdout {
				t.Errorf("timeout %s: stdout\n%q\nGNU\n%q", c, got.stdout, want.stdout)
			}
			if got.stderr != want.stderr {
				t.Errorf("timeout %s: stderr\n%q\nGNU\n%q", c, got.stderr, want.stderr)
			}
		})
	}
}

type outcome struct{ status, stdout, stderr string }

// runTimeout runs "timeout ARGS" through sh with dir first on PATH, so both
// are invoked by the same name as scripts do.
func runTimeout(t *testing.T, binDir, work, reg, args string, env []string) outcome {
	// exec replaces sh, so the status seen is timeout's own (or its signal).
	cmd := exec.Command("/bin/sh", "-c", "exec timeout "+args)
	cmd.Dir = work
	cmd.Env = append(append(os.Environ(), env...), "PATH="+binDir+":"+os.Getenv("PATH"), "WATCHDOG_REGISTRY="+reg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return outcome{statusOf(err), stdout.String(), stderr.String()}
}
