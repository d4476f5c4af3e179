package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/watchdog-run/watchdog/supervise"
)

// readOnlyCommands are the commands the fuzz target may reach: none of them
// starts, signals or changes anything.
var readOnlyCommands = map[string]bool{
	"list": true, "ps": true, "check": true, "status": true, "stats": true, "report": true,
	"rehydrate": true, "completion": true, "help": true, "h": true,
}

// FuzzCommandLine: whatever follows a read-only command, the watchdog does
// not panic and ends with 0, 1 (no such task) or 125 (a usage error, a
// registry it cannot read) — a mistake on the command line is never a crash.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"list --json", "check T1 --json", "check T1 -- --json", "check --no-such-flag",
		"stats --registry", "--registry x.json list", "-registry=x.json ps -a",
		"completion fish", "completion", "help check", "list -", "rehydrate --since 5m",
		"check T1 --generate-bash-completion", "report --json extra", "--version", "--help",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"watchdog"}, strings.Fields(line)...)
		if c := subcommand(args); c != "" && !readOnlyCommands[c] {
			return
		}
		if strings.Contains(line, "sample") {
			return // report --sample 1h would measure for an hour
		}
		if i := commandIndex(args); i < len(args) && args[i] == "report" {
			// Measured over 1ms rather than the default 500ms: the
			// minimizer runs an input hundreds of times.
			args = slices.Insert(args, i+1, "--sample", "1ms")
		}
		t.Chdir(t.TempDir())
		os.Setenv("WATCHDOG_REGISTRY", filepath.Join(t.TempDir(), "r.json"))
		defer os.Unsetenv("WATCHDOG_REGISTRY")
		code, sig := run(args, io.Discard, io.Discard)
		if sig != 0 || (code != 0 && code != 1 && code != 125) {
			t.Fatalf("%q: exit %d (signal %d), want 0, 1 or 125", args, code, sig)
		}
	})
}

// TestRepeatedRunsStayIndependent: runs in one process share nothing that
// changes them. urfave/cli's own help command is one package-level value
// that makes itself its own subcommand when it runs; once the fuzz target
// had run `help`, writing the fish completion recursed until the stack
// overflowed (CI, stop 21).
func TestRepeatedRunsStayIndependent(t *testing.T) {
	t.Setenv("WATCHDOG_REGISTRY", filepath.Join(t.TempDir(), "r.json"))
	fish := func() string {
		var out strings.Builder
		if code, _ := run([]string{"watchdog", "completion", "fish"}, &out, io.Discard); code != 0 {
			t.Fatalf("completion fish: exit %d", code)
		}
		return out.String()
	}
	first := fish()
	for _, line := range []string{"help", "h check", "help help", "list", "check T1", "--help", "list --help", "shim help", "shim --help", "shim list help"} {
		run(append([]string{"watchdog"}, strings.Fields(line)...), io.Discard, io.Discard)
		if got := fish(); got != first {
			t.Fatalf("after %q the fish completion changed:\n%s\nwas:\n%s", line, got, first)
		}
	}
	var out strings.Builder
	if code, _ := run([]string{"watchdog", "check", "help"}, io.Discard, &out); code != 1 || !strings.Contains(out.String(), "no task "+supervise.Quote("help")) {
		t.Fatalf("check help: exit %d, %q; want the task named help looked up (exit 1)", code, out.String())
	}
}
