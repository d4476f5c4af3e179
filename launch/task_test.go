package launch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// fakeRunner records what Run asked of it and answers as told.
type fakeRunner struct {
	prepErr  error
	startErr error
	res      supervise.Result
	waitErr  error
	during   func() // runs inside Wait, while the task "runs"
	calls    []string
}

func (f *fakeRunner) Prepare() error { f.calls = append(f.calls, "prepare"); return f.prepErr }
func (f *fakeRunner) Start() error   { f.calls = append(f.calls, "start"); return f.startErr }
func (f *fakeRunner) Abort()         { f.calls = append(f.calls, "abort") }

func (f *fakeRunner) Record(t *registry.Task) {
	f.calls = append(f.calls, "record")
	t.Mode = registry.ModeDocker
	t.Docker = &registry.Docker{ContainerID: "c0ffee", ContainerName: "fake", ResourceLimits: map[string]string{}}
}

func (f *fakeRunner) Wait(func(supervise.Result)) (supervise.Result, error) {
	f.calls = append(f.calls, "wait")
	if f.during != nil {
		f.during()
	}
	return f.res, f.waitErr
}

func newStore(t *testing.T) *registry.Store {
	t.Helper()
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // registry.Remember's index
	s, err := registry.Open(filepath.Join(t.TempDir(), "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entry(t *testing.T, s *registry.Store, id string) *registry.Task {
	t.Helper()
	r, err := s.Read()
	if err != nil {
		t.Fatal(err)
	}
	tk, err := r.Get(id)
	if err != nil || tk == nil {
		t.Fatalf("entry %s: %v %v", id, tk, err)
	}
	return tk
}

func run(t *testing.T, s *registry.Store, f *fakeRunner) (*ExitError, string) {
	t.Helper()
	var stderr bytes.Buffer
	o := &Options{ID: "T1", Argv: []string{"img", "arg"}}
	ee := Run(s, o, "run-1", f, Mode{Prog: "watchdog", Stderr: &stderr})
	return ee, stderr.String()
}

// A run: the start is recorded before Wait, with what the runner adds;
// the end after it.
func TestRunRecordsStartAndEnd(t *testing.T) {
	s := newStore(t)
	f := &fakeRunner{res: supervise.Result{Exited: true, CommandCode: 3, ExitCode: 3}}
	f.during = func() {
		tk := entry(t, s, "T1")
		if tk.Status != "running" || tk.RunID != "run-1" || tk.Mode != "docker" || tk.Docker.ContainerID != "c0ffee" ||
			tk.Supervisor == nil || tk.Command != "img arg" {
			t.Errorf("start record: %+v", tk)
		}
	}
	ee, stderr := run(t, s, f)
	if ee.Code != 3 || ee.Msg != "" || stderr != "" {
		t.Errorf("exit %+v, stderr %q", ee, stderr)
	}
	if want := []string{"prepare", "start", "record", "wait"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
	if tk := entry(t, s, "T1"); tk.Status != "failed" || tk.Reason != "exited" || *tk.ExitCode != 3 || tk.CompletedAt == "" {
		t.Errorf("end record: %+v", tk)
	}
}

// A running id is refused before anything starts, in the same words for
// every runner; what Prepare made is undone.
func TestRunRefusesRunningID(t *testing.T) {
	s := newStore(t)
	self := supervise.SelfID(false)
	err := s.Update(func(r *registry.Registry) error {
		r.Put("T1", &registry.Task{Mode: registry.ModeNative, Status: registry.StatusRunning, RunID: "other",
			Supervisor: &registry.Proc{PID: self.PID, StartTicks: self.Ticks, Host: self.Host, BootID: self.BootID, PIDNS: self.PIDNS}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRunner{}
	ee, _ := run(t, s, f)
	want := ExitError{Code: 125, Msg: "task " + supervise.Quote("T1") + " is already running (supervisor pid " + strconv.Itoa(self.PID) + ")",
		Hint: "choose another --id, or stop it first: watchdog kill T1"}
	if *ee != want {
		t.Errorf("exit %+v, want %+v", *ee, want)
	}
	if want := []string{"prepare", "abort"}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %v, want %v", f.calls, want)
	}
	if tk := entry(t, s, "T1"); tk.RunID != "other" {
		t.Errorf("the running task's record was replaced: %+v", tk)
	}
}

// A start that failed, before its record or after it, is recorded as
// such, with the runner's status, and nothing is waited for.
func TestRunStartFailures(t *testing.T) {
	noImage := &ExitError{Code: 125, Msg: `image "x" is not present`, Hint: "pull it"}
	denied := &ExitError{Code: 126, Msg: "start container: permission denied"}
	for _, c := range []struct {
		name  string
		f     *fakeRunner
		want  *ExitError
		calls []string
	}{
		{"prepare", &fakeRunner{prepErr: noImage}, noImage, []string{"prepare", "record", "abort"}},
		{"start", &fakeRunner{startErr: denied}, denied, []string{"prepare", "start", "record", "abort"}},
		{"in wait", &fakeRunner{waitErr: denied}, denied, []string{"prepare", "start", "record", "wait"}},
	} {
		s := newStore(t)
		ee, _ := run(t, s, c.f)
		if ee != c.want {
			t.Errorf("%s: exit %+v, want %+v", c.name, ee, c.want)
		}
		if !slices.Equal(c.f.calls, c.calls) {
			t.Errorf("%s: calls %v, want %v", c.name, c.f.calls, c.calls)
		}
		tk := entry(t, s, "T1")
		if tk.Status != "failed" || tk.Reason != "start-failed" || *tk.ExitCode != c.want.Code || tk.Error != c.want.Msg ||
			tk.CompletedAt == "" || tk.Docker == nil {
			t.Errorf("%s: record %+v", c.name, tk)
		}
	}
}

// How a run ended can be unknown (a lost engine): the record says lost
// when the task is known to be over, and stays running otherwise.
func TestRunEndUnknown(t *testing.T) {
	for _, gone := range []bool{true, false} {
		s := newStore(t)
		eu := &EndUnknown{Gone: gone, Exit: &ExitError{Code: 122, Msg: "lost the engine", Hint: "sweep"}}
		ee, _ := run(t, s, &fakeRunner{waitErr: fmt.Errorf("wait: %w", eu)})
		if ee != eu.Exit {
			t.Errorf("gone %v: exit %+v", gone, ee)
		}
		tk := entry(t, s, "T1")
		switch {
		case gone && (tk.Status != "failed" || tk.Reason != "lost" || *tk.ExitCode != 122 || tk.CompletedAt == ""):
			t.Errorf("gone: record %+v", tk)
		case !gone && (tk.Status != "running" || tk.Reason != "" || tk.ExitCode != nil || tk.CompletedAt != ""):
			t.Errorf("not gone: record %+v", tk)
		case tk.Error != "lost the engine":
			t.Errorf("gone %v: error %q", gone, tk.Error)
		}
	}
}

// The first final status wins: a task watchdog kill cancelled meanwhile
// stays cancelled.
func TestRunKeepsStatusRecordedMeanwhile(t *testing.T) {
	s := newStore(t)
	f := &fakeRunner{res: supervise.Result{Signal: syscall.SIGTERM, ExitCode: 143}}
	f.during = func() {
		err := s.Update(func(r *registry.Registry) error {
			tk, _ := r.Get("T1")
			tk.Status, tk.Reason = registry.StatusCancelled, registry.ReasonKilled
			r.Put("T1", tk)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run(t, s, f)
	if tk := entry(t, s, "T1"); tk.Status != "cancelled" || tk.Reason != "killed" || *tk.ExitCode != 143 || tk.Signal != "TERM" {
		t.Errorf("record %+v", tk)
	}
}

// Best effort without a registry: the task runs unrecorded.
func TestRunWithoutRegistry(t *testing.T) {
	f := &fakeRunner{res: supervise.Result{Exited: true}}
	ee := Run(nil, &Options{ID: "T1", Argv: []string{"x"}}, "run-1", f, Mode{Prog: "timeout", BestEffort: true})
	if ee.Code != 0 || !slices.Equal(f.calls, []string{"prepare", "start", "wait"}) {
		t.Errorf("exit %+v, calls %v", ee, f.calls)
	}
}

// A registry that cannot be locked ends the run before anything starts,
// and the hint does not claim a command was stopped.
func TestRunRegistryFailsBeforeStart(t *testing.T) {
	s := newStore(t)
	if err := os.RemoveAll(filepath.Dir(s.Path)); err != nil {
		t.Fatal(err)
	}
	f := &fakeRunner{res: supervise.Result{Exited: true}}
	ee, _ := run(t, s, f)
	if ee.Code != supervise.ExitInternal || slices.Contains(f.calls, "start") {
		t.Fatalf("exit %+v, calls %v", ee, f.calls)
	}
	if strings.Contains(ee.Hint, "stopped") || !strings.Contains(ee.Hint, "not started") {
		t.Errorf("hint %q: nothing was started", ee.Hint)
	}
}
