package main

import (
	"os"
	"strings"
	"testing"
)

// The command starts with the signal dispositions GNU gives it: TTIN and
// TTOU at their default (timeout ignores them itself, as a background
// group's leader must), so a command reading the terminal from timeout's
// group is stopped until the deadline instead of failing with EIO.
func TestTimeoutDropInChildSignals(t *testing.T) {
	runDifferential(t, []string{
		`5 grep -E '^Sig(Ign|Blk)' /proc/self/status`,
		`--foreground 5 grep -E '^Sig(Ign|Blk)' /proc/self/status`,
		`5 sh -c 'grep -E "^Sig(Ign|Blk)" /proc/self/status'`,
		// cat in timeout's background group is stopped by TTIN; the
		// deadline's TERM and CONT end it: 124. (script gives both a
		// terminal; the inner timeout is the same one as the outer.)
		`10 script -qec 'timeout 0.3 cat; echo rc=$?' /dev/null`,
		`10 script -qec 'timeout -v 0.3 cat; echo rc=$?' /dev/null`,
	}, nil)
}

// Signals 32 and 34 (RTMIN) are left at their default by the Go runtime;
// sending one to its own group, the drop-in must still ignore it as GNU
// does, and exit 124 rather than die of it.
func TestTimeoutDropInReservedSignals(t *testing.T) {
	runDifferential(t, []string{
		`-s RTMIN .1 sleep 5`, `-s 34 .1 sleep 5`, `-v -s RTMIN .1 sleep 5`, `-s SIGRTMIN .1 sleep 5`,
		`--preserve-status -s RTMIN .1 sleep 5`, `-s RTMIN+1 .1 sleep 5`, `-s 35 .1 sleep 5`,
	}, nil)
}

// A command that dumps core: GNU says so, -v or not, then dies of the same
// signal (without a core of its own) or exits 124 after a deadline.
func TestTimeoutDropInCoreDump(t *testing.T) {
	// Each case dumps in a directory of its own, one process at a time:
	// the kernel unlinks an existing core before it creates its own
	// exclusively, so two dumps in one directory at once can lose one.
	cases := []string{
		`5 sh -c 'mkdir -p c1 && cd c1 && ulimit -c unlimited && kill -SEGV $$'`,
		`-v 5 sh -c 'mkdir -p c2 && cd c2 && ulimit -c unlimited && kill -QUIT $$'`,
		`-s ABRT .2 sh -c 'mkdir -p c3 && cd c3 && ulimit -c unlimited && exec sleep 5'`,
		`--preserve-status -s SEGV .2 sh -c 'mkdir -p c4 && cd c4 && ulimit -c unlimited && exec sleep 5'`,
	}
	// The comparison means something only where the kernel writes cores
	// (the core lands in the test's temporary directory).
	dir := t.TempDir()
	gnu := runTimeout(t, "/usr/bin", dir, dir+"/r.json", cases[0], nil)
	if !strings.Contains(gnu.stderr, "dumped core") {
		pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
		t.Fatalf("GNU timeout did not see a core dump (%q, core_pattern %q): this machine cannot test the message", gnu.stderr, strings.TrimSpace(string(pattern)))
	}
	runDifferential(t, cases, nil)
}
