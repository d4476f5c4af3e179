package launch

import (
	"fmt"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// sweepRegistry plans and carries out the sweep of one registry: decisions
// from a fresh read, each re-checked against the registry just before its
// tree is signalled, tree kills outside the lock, then one locked update
// that records only what is still as it was seen. Only what that update
// recorded is reported as recorded.
func sweepRegistry(path string, o SweepOptions, containers *containerSweep, rep *SweepReport) ([]SweepEvent, error) {
	store, err := registry.OpenForReading(path)
	if err != nil {
		return nil, err
	}
	store.Warn = func(msg string) { rep.Warnings = append(rep.Warnings, msg) }
	var r *registry.Registry
	if o.DryRun {
		r, err = store.Read()
	} else {
		r, err = store.Load() // a registry that does not parse is moved aside, and that is reported
	}
	if err != nil {
		return nil, err
	}
	if !o.DryRun {
		for _, name := range store.RemoveStaleTemps(processAlive) {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("removed %s, left by a writer that died mid-write", name))
		}
	}
	evs := planRegistry(path, r, time.Now(), containers)
	if len(evs) == 0 || o.DryRun {
		for i := range evs {
			evs[i].DryRun = o.DryRun
		}
		return evs, nil
	}
	for i := range evs {
		ev := &evs[i]
		if ev.tree != nil && stillPlanned(store, ev) {
			endEvent(ev, o.Grace)
		}
	}
	fault("sweep-before-record")
	err = store.Update(func(r *registry.Registry) error {
		at := registry.FormatTime(time.Now())
		for i := range evs {
			ev := &evs[i]
			t, err := r.Get(ev.ID)
			if err != nil || t == nil || t.Status != registry.StatusRunning || t.RunID != ev.task.RunID {
				continue // finished or replaced meanwhile: its owner decided
			}
			t.Status, t.Reason = ev.Status, ev.Reason
			t.CompletedAt, t.Swept = at, at
			r.Put(ev.ID, t)
			ev.recorded = true
		}
		return nil
	})
	return reported(evs), err
}

// planRegistry decides, from one read of a registry, what sweep does with
// each of its running tasks.
func planRegistry(path string, r *registry.Registry, now time.Time, containers *containerSweep) []SweepEvent {
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
		if ev, act := planTask(t, now, containers); act {
			ev.Registry, ev.ID, ev.RunID, ev.task = path, id, t.RunID, t
			evs = append(evs, ev)
		}
	}
	return evs
}

// stillPlanned re-reads the task just before its tree is signalled: it must
// still be the same running run, and an orphan's supervisor still dead. A
// task its supervisor, `watchdog kill` or another sweep finished meanwhile
// is left alone.
func stillPlanned(store *registry.Store, ev *SweepEvent) bool {
	r, err := store.Read()
	if err != nil {
		return false
	}
	t, err := r.Get(ev.ID)
	if err != nil || t == nil || t.Status != registry.StatusRunning || t.RunID != ev.task.RunID {
		return false
	}
	return ev.Action != "orphaned" || SupervisorLiveness(t) == supervise.Gone
}

// reported keeps what sweep did: events whose record it wrote, or whose
// processes it signalled. An event whose record someone else closed first
// keeps its signals but not the claim to have marked it.
func reported(evs []SweepEvent) []SweepEvent {
	out := evs[:0]
	for _, ev := range evs {
		if !ev.recorded {
			ev.Status, ev.Reason = "", ""
			if len(ev.Signalled) == 0 && len(ev.Killed) == 0 && ev.Error == "" {
				continue
			}
			ev.Detail += "; its record was closed by someone else meanwhile"
		}
		out = append(out, ev)
	}
	return out
}

// planTask decides what sweep does with one running task.
func planTask(t *registry.Task, now time.Time, containers *containerSweep) (SweepEvent, bool) {
	if t.Mode == registry.ModeDocker {
		return planContainerTask(t, containers)
	}
	if t.Native == nil {
		return SweepEvent{}, false // registered without a process: nothing to watch
	}
	if t.Supervisor == nil {
		// The earlier tool's entry: it has no supervisor to die. Its process
		// is left alone while it is the recorded one; the record is closed
		// when it is gone or the pid now belongs to someone else.
		if CommandAlive(t) {
			return SweepEvent{}, false
		}
		return SweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Detail: fmt.Sprintf("pid %d is gone or is another process now; record closed, nothing signalled", pidOf(t))}, true
	}
	switch SupervisorLiveness(t) {
	case supervise.Elsewhere:
		return SweepEvent{}, false // another host's or PID namespace's: its pids mean nothing here
	case supervise.Alive:
		if !t.Overdue(now, 30*time.Second) {
			return SweepEvent{}, false // healthy
		}
		return SweepEvent{Action: "overdue", Status: registry.StatusFailed, Reason: registry.ReasonTimeout, tree: TaskTree(t),
			Detail: fmt.Sprintf("past its deadline %s though supervisor %d lives", t.Deadline, t.Supervisor.PID)}, true
	}
	tree := TaskTree(t)
	kept := ""
	if t.KeepDescendants {
		kept = "; what its command left behind is kept (--keep-descendants or the timeout drop-in)"
	}
	live, _, err := tree.Members()
	if err == nil && len(live) == 0 {
		return SweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Detail: fmt.Sprintf("supervisor %d and all its processes are gone; record closed%s", t.Supervisor.PID, kept)}, true
	}
	return SweepEvent{Action: "orphaned", Status: registry.StatusFailed, Reason: registry.ReasonOrphaned, tree: tree,
		Detail: fmt.Sprintf("supervisor %d is gone%s", t.Supervisor.PID, kept)}, true
}

func pidOf(t *registry.Task) int {
	if t.Native != nil {
		return t.Native.PID
	}
	return 0
}

func endEvent(ev *SweepEvent, grace time.Duration) {
	r, err := supervise.EndTree(ev.tree, syscall.SIGTERM, grace)
	ev.Signalled, ev.Killed = r.Signalled, r.Killed
	ev.Scope = "tree"
	for _, p := range r.Stuck {
		ev.Stuck = append(ev.Stuck, p.PID)
	}
	for _, z := range r.Zombies {
		ev.Zombies = append(ev.Zombies, supervise.Zombie(z))
	}
	switch {
	case err != nil:
		ev.Error = err.Error()
	case len(ev.Stuck) > 0:
		ev.Error = fmt.Sprintf("%d process(es) survived KILL (uninterruptible sleep): %v", len(ev.Stuck), ev.Stuck)
	}
}

// sweepUntracked ends this user's tagged processes whose supervisor is
// gone (judged in its own PID namespace only) and whose run no registry
// records: the supervisor died between fork and write. Runs that keep
// what they leave behind are never ended.
func sweepUntracked(c *census, o SweepOptions, rep *SweepReport) []SweepEvent {
	tagged, err := supervise.TaggedProcesses(supervise.EnvRunID, supervise.EnvTaskID, supervise.EnvSupervisor)
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("scan processes: %v", err))
		return nil
	}
	var evs []SweepEvent
	for run, g := range tagged {
		if c.runs[run] || g.Supervisor.Keep || g.Supervisor.Liveness() != supervise.Gone {
			continue // recorded, kept on purpose, alive, or not ours to judge
		}
		if c.knowsNow(run) {
			continue // recorded after the census: the registry's business
		}
		ev := SweepEvent{Action: "untracked", ID: g.TaskID, RunID: run, DryRun: o.DryRun,
			Detail: fmt.Sprintf("%d process(es) of run %s (task %s) outlived supervisor %d, and no registry records the run", len(g.Procs), run, g.TaskID, g.Supervisor.PID),
			tree:   &supervise.Tree{Tag: supervise.RunTag(run), OwnOnly: true}}
		if !o.DryRun {
			endEvent(&ev, o.Grace)
		}
		evs = append(evs, ev)
	}
	return evs
}

// processAlive reports whether any live process has this pid (a writer's temp
// file is kept while it might still be renamed).
func processAlive(pid int) bool {
	p, err := supervise.ReadProc(pid)
	return err == nil && !p.Zombie()
}
