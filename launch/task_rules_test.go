package launch

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// How a run's end becomes its record: one rule for native commands and
// containers.
func TestApplyEnd(t *testing.T) {
	t.Parallel()
	code := func(n int) *int { return &n }
	for _, c := range []struct {
		name       string
		before     registry.Task
		res        supervise.Result
		status     string
		reason     string
		exitCode   int
		signal     string
		completed  string // "" : set to now
		keepReason bool   // the reason recorded before stays
	}{
		{name: "exited 0", before: running(), res: supervise.Result{Exited: true}, status: "completed", reason: "exited"},
		{name: "exited 3", before: running(), res: supervise.Result{Exited: true, CommandCode: 3, ExitCode: 3}, status: "failed", reason: "exited", exitCode: 3},
		{name: "signaled", before: running(), res: supervise.Result{Signal: syscall.SIGTERM, ExitCode: 143, Reraise: syscall.SIGTERM},
			status: "failed", reason: "signaled", exitCode: 143, signal: "TERM"},
		{name: "timed out", before: running(), res: supervise.Result{TimedOut: true, Signal: syscall.SIGTERM, ExitCode: 124},
			status: "failed", reason: "timeout", exitCode: 124, signal: "TERM"},
		{name: "timed out, exited on TERM", before: running(), res: supervise.Result{TimedOut: true, Exited: true, CommandCode: 0, ExitCode: 124},
			status: "failed", reason: "timeout", exitCode: 124},
		{name: "killed after the grace", before: running(), res: supervise.Result{TimedOut: true, Killed: true, Signal: syscall.SIGKILL, ExitCode: 137},
			status: "failed", reason: "timeout", exitCode: 137, signal: "KILL"},
		{name: "cancelled by kill first", before: registry.Task{Status: "cancelled", Reason: "killed", CompletedAt: "2026-01-01T00:00:00Z"},
			res: supervise.Result{Signal: syscall.SIGTERM, ExitCode: 143}, status: "cancelled", reason: "killed", exitCode: 143, signal: "TERM",
			completed: "2026-01-01T00:00:00Z"},
		{name: "orphaned by sweep first, its exit code kept", before: registry.Task{Status: "failed", Reason: "orphaned", ExitCode: code(137)},
			res: supervise.Result{Exited: true, ExitCode: 0}, status: "failed", reason: "orphaned", exitCode: 137},
	} {
		tk := c.before
		ApplyEnd(&tk, c.res)
		if tk.Status != c.status || tk.Reason != c.reason || tk.ExitCode == nil || *tk.ExitCode != c.exitCode || tk.Signal != c.signal {
			t.Errorf("%s: status %s reason %s exit %v signal %q; want %s %s %d %q", c.name, tk.Status, tk.Reason,
				deref(tk.ExitCode), tk.Signal, c.status, c.reason, c.exitCode, c.signal)
		}
		if tk.CompletedAt == "" || c.completed != "" && tk.CompletedAt != c.completed {
			t.Errorf("%s: completed_at %q, want %q", c.name, tk.CompletedAt, c.completed)
		}
	}
}

func running() registry.Task { return registry.Task{Status: registry.StatusRunning} }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// A start that failed: the status recorded and the status to leave with.
func TestStartFailureStatus(t *testing.T) {
	t.Parallel()
	notFound := &supervise.StartError{Name: "nope", Err: syscall.ENOENT, Code: 127}
	for _, c := range []struct {
		name      string
		err       error
		coreutils bool
		recorded  int
		exit      ExitError
	}{
		{name: "not found", err: notFound, recorded: 127,
			exit: ExitError{Code: 127, Msg: "failed to run command " + supervise.Quote("nope") + ": No such file or directory"}},
		{name: "not executable", err: &supervise.StartError{Name: "/", Err: syscall.EACCES, Code: 126}, recorded: 126,
			exit: ExitError{Code: 126, Msg: "failed to run command " + supervise.Quote("/") + ": Permission denied"}},
		{name: "interrupted", err: &supervise.Interrupted{Signal: syscall.SIGINT}, recorded: 130,
			exit: ExitError{Code: 130, Signal: syscall.SIGINT, Msg: (&supervise.Interrupted{Signal: syscall.SIGINT}).Error()}},
		{name: "interrupted, drop-in", err: &supervise.Interrupted{Signal: syscall.SIGTERM}, coreutils: true, recorded: 143,
			exit: ExitError{Code: 143}},
		{name: "interrupted by USR1, drop-in", err: &supervise.Interrupted{Signal: syscall.SIGUSR1}, coreutils: true, recorded: 128 + int(syscall.SIGUSR1),
			exit: ExitError{Code: 128 + int(syscall.SIGUSR1), Signal: syscall.SIGUSR1, Msg: (&supervise.Interrupted{Signal: syscall.SIGUSR1}).Error()}},
		{name: "a runner's own status", err: &ExitError{Code: 126, Msg: "start container: permission denied"}, recorded: 126,
			exit: ExitError{Code: 126, Msg: "start container: permission denied"}},
		{name: "anything else", err: errors.New("fork: resource temporarily unavailable"), recorded: 125,
			exit: ExitError{Code: 125, Msg: "fork: resource temporarily unavailable"}},
	} {
		if got := startStatus(c.err); got != c.recorded {
			t.Errorf("%s: recorded status %d, want %d", c.name, got, c.recorded)
		}
		got := startExit(c.err, Mode{Coreutils: c.coreutils})
		if *got != c.exit {
			t.Errorf("%s: exit %+v, want %+v", c.name, *got, c.exit)
		}
	}
	// Names are quoted as GNU timeout quotes them (supervise.Quote).
	if got := startExit(notFound, Mode{}); got.Msg != "failed to run command "+supervise.Quote("nope")+": No such file or directory" {
		t.Errorf("quoted: %q", got.Msg)
	}
}

// One label rule for every command that records labels.
func TestParseLabels(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kvs       []string
		container bool
		err       string // "": accepted
	}{
		{kvs: nil},
		{kvs: []string{"owner=ci", "pr=42", "empty=", "k=a=b"}},
		{kvs: []string{"team/app.name-1_x=v"}},
		{kvs: []string{"note=café, 日本"}},
		{kvs: []string{"watchdog.mine=1"}}, // a native task's labels are its own
		{kvs: []string{"nokey"}, err: "want KEY=VALUE"},
		{kvs: []string{"=v"}, err: "want KEY=VALUE"},
		{kvs: []string{"a b=c"}, err: "invalid label key"},
		{kvs: []string{"k\x00=v"}, err: "invalid label key"},
		{kvs: []string{"clé=v"}, err: "invalid label key"},
		{kvs: []string{"k=col1\tcol2"}, err: "control characters"},
		{kvs: []string{"k=line\n"}, err: "control characters"},
		{kvs: []string{"k=\x1b[31mred"}, err: "control characters"},
		{kvs: []string{"k=\x7f"}, err: "control characters"},
		{kvs: []string{"k=\u0085"}, err: "control characters"},
		{kvs: []string{"k=\xff"}, err: "not valid UTF-8"},
		{kvs: []string{strings.Repeat("k", MaxLabelKey) + "=v"}},
		{kvs: []string{strings.Repeat("k", MaxLabelKey+1) + "=v"}, err: "too long"},
		{kvs: []string{"k=" + strings.Repeat("v", MaxLabelValue)}},
		{kvs: []string{"k=" + strings.Repeat("v", MaxLabelValue+1)}, err: "too long"},
		{kvs: []string{"team=infra"}, container: true},
		{kvs: []string{"watchdog.run-id=x"}, container: true, err: "the watchdog. namespace is the watchdog's own"},
		{kvs: []string{"k=\t"}, container: true, err: "control characters"},
	} {
		parse := ParseLabels
		if c.container {
			parse = ParseContainerLabels
		}
		m, err := parse(c.kvs)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q (container %v): %v", c.kvs, c.container, err)
		case c.err == "" && len(m) != len(c.kvs):
			t.Errorf("%q: parsed %v", c.kvs, m)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q (container %v): error %v, want %q", c.kvs, c.container, err, c.err)
		}
	}
	if m, _ := ParseLabels([]string{"k=a=b", "x="}); m["k"] != "a=b" || m["x"] != "" {
		t.Errorf("values: %v", m)
	}
}
