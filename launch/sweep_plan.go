package launch

import (
	"fmt"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// Sweep's plan: which running task of a registry gets which action. It is a
// function of the record, the time, what became of the containers and what
// an observer answers about processes, so its rules are tested with a
// table (sweep_plan_test.go); a sweep's observer reads /proc.

// overdueSlack is how far past its deadline and grace a task with a live
// supervisor may run before sweep ends it: its supervisor should have.
const overdueSlack = 30 * time.Second

// observer is what the plan asks about a task's processes. It is asked
// lazily, in the plan's order, so that a healthy task costs one look.
type observer interface {
	// supervisor judges the task's recorded supervisor from here.
	supervisor(t *registry.Task) supervise.Liveness
	// commandAlive: the recorded command is still the same live process.
	commandAlive(t *registry.Task) bool
	// allGone: no process of the tree lives (false when it cannot tell).
	allGone(tr *supervise.Tree) bool
}

// procfs is the sweep's observer: the processes as they are now, each
// judged by its identity (pid and start time). The trees of one plan are
// matched against one snapshot, taken when the first is asked about: a
// registry of many orphaned tasks costs one read of the machine, not one
// per task. The plan only decides; every action reads again before it
// signals (endTree, the locked update).
type procfs struct {
	procs *supervise.Procs
	err   error
}

func (*procfs) supervisor(t *registry.Task) supervise.Liveness { return SupervisorLiveness(t) }
func (*procfs) commandAlive(t *registry.Task) bool             { return CommandAlive(t) }
func (o *procfs) allGone(tr *supervise.Tree) bool {
	if o.procs == nil && o.err == nil {
		var all []supervise.ProcStat
		if all, o.err = supervise.Snapshot(); o.err == nil {
			o.procs = supervise.IndexProcs(all)
		}
	}
	if o.err != nil {
		return false // cannot tell
	}
	live, _ := tr.MembersOf(o.procs)
	return len(live) == 0
}

// planRegistry decides, from one read of a registry, what sweep does with
// each of its running tasks; finished ones are never looked at.
func planRegistry(path string, r *registry.Registry, now time.Time, containers *containerSweep, look observer) []SweepEvent {
	var evs []SweepEvent
	for _, id := range r.IDs() {
		status, _, ok := r.Peek(id)
		if !ok || status != registry.StatusRunning {
			continue
		}
		t, err := r.Get(id)
		if err != nil || t == nil {
			continue
		}
		if ev, act := planTask(t, now, containers, look); act {
			ev.Registry, ev.ID, ev.RunID = path, id, t.RunID
			evs = append(evs, ev)
		}
	}
	return evs
}

// planTask decides what sweep does with one running task; false: nothing.
func planTask(t *registry.Task, now time.Time, containers *containerSweep, look observer) (SweepEvent, bool) {
	switch {
	case t.Mode == registry.ModeDocker:
		return planContainerTask(t, containers, look)
	case t.Native == nil:
		return SweepEvent{}, false // registered without a process: nothing to watch
	case t.Supervisor == nil:
		return planEarlierTool(t, look)
	}
	switch look.supervisor(t) {
	case supervise.Elsewhere:
		return SweepEvent{}, false // another host's or PID namespace's: its pids mean nothing here
	case supervise.Alive:
		return planOverdue(t, now)
	}
	return planOrphan(t, look)
}

// planEarlierTool: the earlier tool's entry has no supervisor to die. Its
// process is never signalled; the record is closed once the process is
// gone or its pid belongs to another process.
func planEarlierTool(t *registry.Task, look observer) (SweepEvent, bool) {
	if look.commandAlive(t) {
		return SweepEvent{}, false
	}
	return failed("lost", registry.ReasonLost, nil,
		"pid %d is gone or is another process now; record closed, nothing signalled", t.Native.PID), true
}

// planOverdue: a live supervisor should end its task at the deadline; one
// long past it (stopped, stuck) gets its tree ended for it.
func planOverdue(t *registry.Task, now time.Time) (SweepEvent, bool) {
	if !t.Overdue(now, overdueSlack) {
		return SweepEvent{}, false // healthy
	}
	return failed("overdue", registry.ReasonTimeout, TaskTree(t),
		"past its deadline %s though supervisor %d lives", t.Deadline, t.Supervisor.PID), true
}

// planOrphan: the supervisor is dead, so nothing else will end the tree.
// A run that keeps what its command leaves behind has only the command
// and what is still below it in its tree (supervise.Recorded.Tree).
func planOrphan(t *registry.Task, look observer) (SweepEvent, bool) {
	tree := TaskTree(t)
	kept := ""
	if t.KeepDescendants {
		kept = "; what its command left behind is kept (--keep-descendants or the timeout drop-in)"
	}
	if look.allGone(tree) {
		return failed("lost", registry.ReasonLost, nil,
			"supervisor %d and all its processes are gone; record closed%s", t.Supervisor.PID, kept), true
	}
	return failed("orphaned", registry.ReasonOrphaned, tree, "supervisor %d is gone%s", t.Supervisor.PID, kept), true
}

// planContainerTask decides what sweep records for a running docker task;
// its container was stopped (or not) by the container sweep before.
func planContainerTask(t *registry.Task, cs *containerSweep, look observer) (SweepEvent, bool) {
	sup := look.supervisor(t)
	if sup == supervise.Elsewhere {
		return SweepEvent{}, false
	}
	if ev, ok := cs.byRun[t.RunID]; ok && t.RunID != "" {
		reason := registry.ReasonOrphaned
		if ev.Action == "overdue" {
			reason = registry.ReasonTimeout
		}
		return failed(ev.Action, reason, nil, "container %s: %s", ev.ContainerName, ev.Detail), true
	}
	if sup == supervise.Alive || !cs.reachable {
		return SweepEvent{}, false // healthy, or the engine cannot tell us
	}
	name := ""
	if t.Docker != nil {
		name = t.Docker.ContainerName
	}
	return failed("lost", registry.ReasonLost, nil, "supervisor is gone and container %s no longer runs; record closed", name), true
}

// failed is a planned event that marks its task failed for reason, after
// ending tree if there is one.
func failed(action, reason string, tree *supervise.Tree, format string, args ...any) SweepEvent {
	return SweepEvent{Action: action, Status: registry.StatusFailed, Reason: reason, tree: tree,
		Detail: fmt.Sprintf(format, args...)}
}
