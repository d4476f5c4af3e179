package launch

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// seen answers the plan's questions about processes from a table, and
// notes which were asked.
type seen struct {
	sup     supervise.Liveness
	command bool // the recorded command is alive
	gone    bool // every process of the tree is gone
	asked   []string
}

func (s *seen) supervisor(*registry.Task) supervise.Liveness {
	s.asked = append(s.asked, "supervisor")
	return s.sup
}

func (s *seen) commandAlive(*registry.Task) bool {
	s.asked = append(s.asked, "command")
	return s.command
}

func (s *seen) allGone(*supervise.Tree) bool {
	s.asked = append(s.asked, "tree")
	return s.gone
}

// Sweep's plan for one running task: what the supervisor's liveness, the
// deadline, the task's processes and its container decide.
func TestPlanTask(t *testing.T) {
	t.Parallel()
	now := time.Now()
	past := registry.FormatTime(now.Add(-time.Hour))
	future := registry.FormatTime(now.Add(time.Hour))
	sup := &registry.Proc{PID: 2147483646, StartTicks: 5}
	native := &registry.Native{PID: 2147483640, PGID: 2147483640, StartTicks: 7, RunTag: "WATCHDOG_RUN_ID=plan-none"}
	docker := func(run string) registry.Task {
		return registry.Task{Mode: registry.ModeDocker, RunID: run, Supervisor: sup, Docker: &registry.Docker{ContainerName: "c-" + run}}
	}
	stopped := &containerSweep{reachable: true, byRun: map[string]ContainerEvent{
		"r-over": {RunID: "r-over", Action: "overdue", ContainerName: "c-over", Detail: "past its deadline"},
		"r-orph": {RunID: "r-orph", Action: "orphaned", ContainerName: "c-orph", Detail: "supervisor gone"},
	}}
	noEngine := &containerSweep{byRun: map[string]ContainerEvent{}}
	for _, c := range []struct {
		name   string
		task   registry.Task
		seen   seen
		cs     *containerSweep
		action string // "": nothing planned
		reason string
		ends   bool   // the plan ends a process tree
		detail string // in the event's detail
		asked  string // the questions asked, in order
	}{
		{name: "supervisor alive, before its deadline", task: registry.Task{Supervisor: sup, Native: native, Deadline: future},
			seen: seen{sup: supervise.Alive}, asked: "supervisor"},
		{name: "supervisor alive, no deadline", task: registry.Task{Supervisor: sup, Native: native},
			seen: seen{sup: supervise.Alive}, asked: "supervisor"},
		{name: "supervisor alive, overdue: its tree is ended", task: registry.Task{Supervisor: sup, Native: native, Deadline: past, KillAfter: 10},
			seen: seen{sup: supervise.Alive}, action: "overdue", reason: registry.ReasonTimeout, ends: true, detail: "though supervisor 2147483646 lives", asked: "supervisor"},
		{name: "supervisor elsewhere, overdue: never touched", task: registry.Task{Supervisor: sup, Native: native, Deadline: past},
			seen: seen{sup: supervise.Elsewhere}, asked: "supervisor"},
		{name: "supervisor gone, processes live: orphaned, tree ended", task: registry.Task{Supervisor: sup, Native: native},
			seen: seen{sup: supervise.Gone}, action: "orphaned", reason: registry.ReasonOrphaned, ends: true, detail: "supervisor 2147483646 is gone", asked: "supervisor tree"},
		{name: "supervisor gone, every process gone: lost", task: registry.Task{Supervisor: sup, Native: native},
			seen: seen{sup: supervise.Gone, gone: true}, action: "lost", reason: registry.ReasonLost, detail: "all its processes are gone", asked: "supervisor tree"},
		{name: "supervisor gone, kept run: orphaned, says kept", task: registry.Task{Supervisor: sup, Native: native, KeepDescendants: true},
			seen: seen{sup: supervise.Gone}, action: "orphaned", reason: registry.ReasonOrphaned, ends: true, detail: "left behind is kept", asked: "supervisor tree"},
		{name: "the earlier tool's entry, its process alive", task: registry.Task{Native: native},
			seen: seen{command: true}, asked: "command"},
		{name: "the earlier tool's entry, its process gone: lost, never signalled", task: registry.Task{Native: native},
			action: "lost", reason: registry.ReasonLost, detail: "nothing signalled", asked: "command"},
		{name: "registered without a process", task: registry.Task{Supervisor: sup}},
		{name: "docker, container stopped as overdue", task: docker("r-over"), cs: stopped,
			seen: seen{sup: supervise.Alive}, action: "overdue", reason: registry.ReasonTimeout, detail: "container c-over: past its deadline", asked: "supervisor"},
		{name: "docker, container stopped as orphaned", task: docker("r-orph"), cs: stopped,
			action: "orphaned", reason: registry.ReasonOrphaned, detail: "container c-orph", asked: "supervisor"},
		{name: "docker, supervisor elsewhere: never touched", task: docker("r-orph"), cs: stopped,
			seen: seen{sup: supervise.Elsewhere}, asked: "supervisor"},
		{name: "docker, supervisor alive", task: docker("r-live"), cs: stopped, seen: seen{sup: supervise.Alive}, asked: "supervisor"},
		{name: "docker, supervisor gone, container gone: lost", task: docker("r-gone"), cs: stopped,
			action: "lost", reason: registry.ReasonLost, detail: "container c-r-gone no longer runs", asked: "supervisor"},
		{name: "docker, supervisor gone, no engine to ask", task: docker("r-gone"), cs: noEngine, asked: "supervisor"},
	} {
		c.task.Status = registry.StatusRunning
		cs := c.cs
		if cs == nil {
			cs = noEngine
		}
		ev, act := planTask(&c.task, now, cs, &c.seen)
		if got := strings.Join(c.seen.asked, " "); got != c.asked {
			t.Errorf("%s: asked %q, want %q", c.name, got, c.asked)
		}
		if act != (c.action != "") {
			t.Errorf("%s: acts %v (%+v), want action %q", c.name, act, ev, c.action)
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

// An orphaned run's tree is the command, its group and every process with
// the run's tag; an orphaned kept run's is the command and what is still
// below it, nothing it left behind. This test process stands in for the
// command (nothing is signalled).
func TestPlanOrphanTree(t *testing.T) {
	t.Parallel()
	pid := os.Getpid()
	ticks, err := supervise.StartTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	task := func(keep bool) *registry.Task {
		return &registry.Task{Status: registry.StatusRunning, KeepDescendants: keep, RunID: "plan-tree",
			Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5},
			Native:     &registry.Native{PID: pid, PGID: pid, StartTicks: ticks, RunTag: "WATCHDOG_RUN_ID=plan-tree"}}
	}
	ev, _ := planTask(task(false), time.Now(), &containerSweep{}, &seen{sup: supervise.Gone})
	if tr := ev.tree; tr == nil || tr.Leader != pid || tr.PGID != pid || tr.Tag != "WATCHDOG_RUN_ID=plan-tree" || !tr.OwnOnly {
		t.Errorf("orphaned run: tree %+v, want the command %d, its group and the run's tag (this user's processes only)", tr, pid)
	}
	ev, _ = planTask(task(true), time.Now(), &containerSweep{}, &seen{sup: supervise.Gone})
	if tr := ev.tree; tr == nil || tr.Leader != pid || tr.PGID != 0 || tr.Tag != "" || tr.Root != 0 {
		t.Errorf("orphaned kept run: tree %+v, want only the command %d and what is below it", tr, pid)
	}
}

// Only running tasks are planned: a finished one is never looked at,
// whatever its pids.
func TestPlanRegistrySkipsFinished(t *testing.T) {
	t.Parallel()
	r, err := registry.Parse([]byte(`{"tasks":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{registry.StatusRunning, registry.StatusCompleted, registry.StatusFailed, registry.StatusCancelled} {
		r.Put(status, &registry.Task{Status: status, RunID: "run-" + status,
			Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5}, Native: &registry.Native{PID: 2147483640}})
	}
	look := &seen{sup: supervise.Gone, gone: true}
	evs := planRegistry("reg.json", r, time.Now(), &containerSweep{}, look)
	if len(evs) != 1 || evs[0].ID != registry.StatusRunning || evs[0].RunID != "run-running" || evs[0].Registry != "reg.json" {
		t.Fatalf("want one event, for the running task, got %+v", evs)
	}
	if len(look.asked) != 2 {
		t.Errorf("asked %v: finished tasks were looked at", look.asked)
	}
}

// The report claims a mark only where sweep's update wrote it; signals
// sent are reported either way.
func TestReported(t *testing.T) {
	t.Parallel()
	evs := []SweepEvent{
		{ID: "marked", Status: "failed", Reason: "orphaned", Detail: "d", recorded: true},
		{ID: "closed by another, nothing signalled", Status: "failed", Reason: "lost", Detail: "d"},
		{ID: "closed by another, signalled", Status: "failed", Reason: "orphaned", Detail: "d", Signalled: []int{42}},
	}
	got := reported(evs)
	ids := []string{}
	for _, ev := range got {
		ids = append(ids, ev.ID)
	}
	if !slices.Equal(ids, []string{"marked", "closed by another, signalled"}) {
		t.Fatalf("reported %v", ids)
	}
	if got[0].Status != "failed" || got[1].Status != "" || got[1].Reason != "" || !strings.Contains(got[1].Detail, "closed by someone else") {
		t.Errorf("reported %+v", got)
	}
}

// A registry may come from anyone's repository: its run tag finds
// processes only if it is the watchdog's tag of the record's own run, and
// then only this user's. Not VICTIM=1, which any process may carry, nor
// another run's tag.
func TestRecordedTagIsTheRunsOwn(t *testing.T) {
	t.Parallel()
	task := func(runID, tag string) *registry.Task {
		return &registry.Task{Status: registry.StatusRunning, RunID: runID,
			Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5},
			Native:     &registry.Native{PID: 2147483640, PGID: 2147483640, StartTicks: 7, RunTag: tag}}
	}
	for _, c := range []struct {
		runID, tag string
		want       bool
	}{
		{"run-00000001", "WATCHDOG_RUN_ID=run-00000001", true},
		{"run-00000001", "VICTIM=1", false},
		{"", "VICTIM=1", false},
		{"run-00000001", "WATCHDOG_RUN_ID=run-00000002", false},
		{"", "WATCHDOG_RUN_ID=run-00000002", false},
		{"x", "WATCHDOG_RUN_ID=x", false}, // not of a run id's form
		{"run 1 ", "WATCHDOG_RUN_ID=run 1 ", false},
	} {
		tr := TaskTree(task(c.runID, c.tag))
		if got := tr.Tag != ""; got != c.want || got && !tr.OwnOnly {
			t.Errorf("run %q, tag %q: tree tag %q (own only %v); want a tag: %v", c.runID, c.tag, tr.Tag, tr.OwnOnly, c.want)
		}
	}
}
