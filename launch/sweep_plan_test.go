package launch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// Sweep's plan for one running task, by the liveness of its supervisor and
// its processes. The processes are real or certainly absent: this test
// process stands in for a live supervisor, pids above pid_max for dead
// ones, so no plan here can point at anyone else's process.
func TestPlanTask(t *testing.T) {
	self := supervise.SelfID(false)
	live := func() *registry.Proc {
		return &registry.Proc{PID: self.PID, StartTicks: self.Ticks, PIDNS: self.PIDNS, Host: self.Host, BootID: self.BootID}
	}
	dead := func() *registry.Proc { return &registry.Proc{PID: 2147483646, StartTicks: 5} }
	elsewhere := func() *registry.Proc {
		p := live()
		p.PIDNS = self.PIDNS + 1 // another PID namespace: a container's
		return p
	}
	gone := &registry.Native{PID: 2147483640, PGID: 2147483640, StartTicks: 7, RunTag: "WATCHDOG_RUN_ID=plan-test-none"}
	now := time.Now()
	past := registry.FormatTime(now.Add(-time.Hour))
	future := registry.FormatTime(now.Add(time.Hour))
	cases := []struct {
		name       string
		task       registry.Task
		containers *containerSweep
		act        bool
		action     string
		reason     string
		ends       bool // the plan ends a process tree
		detail     string
	}{
		{name: "supervisor alive, within its deadline", task: registry.Task{Supervisor: live(), Native: gone, Deadline: future}},
		{name: "supervisor alive, overdue", task: registry.Task{Supervisor: live(), Native: gone, Deadline: past, KillAfter: 10},
			act: true, action: "overdue", reason: registry.ReasonTimeout, ends: true},
		{name: "supervisor in another PID namespace, overdue", task: registry.Task{Supervisor: elsewhere(), Native: gone, Deadline: past}},
		{name: "supervisor gone, every process gone", task: registry.Task{Supervisor: dead(), Native: gone},
			act: true, action: "lost", reason: registry.ReasonLost, detail: "all its processes are gone"},
		{name: "supervisor gone, kept run", task: registry.Task{Supervisor: dead(), Native: gone, KeepDescendants: true},
			act: true, action: "lost", reason: registry.ReasonLost, detail: "is kept"},
		{name: "the earlier tool's entry, its process gone", task: registry.Task{Native: gone},
			act: true, action: "lost", reason: registry.ReasonLost, detail: "nothing signalled"},
		{name: "registered without a process", task: registry.Task{Supervisor: dead()}},
		{name: "docker task its container sweep stopped, overdue", task: registry.Task{Mode: registry.ModeDocker, RunID: "r1", Supervisor: live()},
			containers: &containerSweep{reachable: true, byRun: map[string]ContainerEvent{"r1": {RunID: "r1", Action: "overdue", ContainerName: "c"}}},
			act:        true, action: "overdue", reason: registry.ReasonTimeout},
		{name: "docker task, supervisor gone, container gone", task: registry.Task{Mode: registry.ModeDocker, RunID: "r2", Supervisor: dead()},
			containers: &containerSweep{reachable: true, byRun: map[string]ContainerEvent{}},
			act:        true, action: "lost", reason: registry.ReasonLost},
		{name: "docker task, supervisor gone, no engine to ask", task: registry.Task{Mode: registry.ModeDocker, RunID: "r3", Supervisor: dead()},
			containers: &containerSweep{byRun: map[string]ContainerEvent{}}},
	}
	for _, c := range cases {
		c.task.Status = registry.StatusRunning
		cs := c.containers
		if cs == nil {
			cs = &containerSweep{byRun: map[string]ContainerEvent{}}
		}
		ev, act := planTask(&c.task, now, cs)
		if act != c.act {
			t.Errorf("%s: acts %v, want %v (%+v)", c.name, act, c.act, ev)
			continue
		}
		if !act {
			continue
		}
		if ev.Action != c.action || ev.Status != registry.StatusFailed || ev.Reason != c.reason {
			t.Errorf("%s: %s %s (%s), want %s failed (%s)", c.name, ev.Action, ev.Status, ev.Reason, c.action, c.reason)
		}
		if (ev.tree != nil) != c.ends {
			t.Errorf("%s: ends a tree: %v, want %v", c.name, ev.tree != nil, c.ends)
		}
		if !strings.Contains(ev.Detail, c.detail) {
			t.Errorf("%s: detail %q does not say %q", c.name, ev.Detail, c.detail)
		}
	}
}

// A finished task is never planned, whatever its pids; a dry run reports
// the plan and changes no byte of the registry.
func TestSweepRegistryDryRunAndFinished(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	orphan := &registry.Task{Mode: registry.ModeNative, Status: registry.StatusRunning, RunID: "run-o", ConstitutionRules: []string{},
		Native:     &registry.Native{PID: 2147483640, PGID: 2147483640, StartTicks: 7, RunTag: "WATCHDOG_RUN_ID=run-o-none"},
		Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5}}
	done := *orphan
	code := 0
	done.Status, done.Reason, done.ExitCode, done.RunID = registry.StatusCompleted, registry.ReasonExited, &code, "run-d"
	if err := s.Update(func(r *registry.Registry) error { r.Put("o", orphan); r.Put("d", &done); return nil }); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	var rep SweepReport
	evs, err := sweepRegistry(reg, SweepOptions{DryRun: true, Grace: time.Second}, &containerSweep{}, &rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "o" || !evs[0].DryRun || evs[0].Reason != registry.ReasonLost {
		t.Fatalf("dry run: want one event for o (lost, dry run), got %+v", evs)
	}
	after, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("a dry run changed the registry:\n%s\n---\n%s", before, after)
	}
	evs, err = sweepRegistry(reg, SweepOptions{Grace: time.Second}, &containerSweep{}, &rep)
	if err != nil || len(evs) != 1 || evs[0].ID != "o" {
		t.Fatalf("sweep: want one event for o, got %+v, %v", evs, err)
	}
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Get("d"); got.Status != registry.StatusCompleted || got.Swept != "" {
		t.Fatalf("the finished task was touched: %+v", got)
	}
}
