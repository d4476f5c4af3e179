package launch

import (
	"fmt"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// sweepRegistry sweeps one registry:
//
//  1. read it: a dry run only reads; a sweep loads (a registry that does
//     not parse is moved aside, and that is reported) and removes the
//     temporary files of writers that died mid-write;
//  2. plan from that one read;
//  3. end each planned tree, outside the lock (it takes up to the grace),
//     once a fresh read shows its task still as planned;
//  4. record, in one locked update, only what is still as it was seen;
//  5. report as marked only what that update wrote.
func sweepRegistry(path string, o SweepOptions, containers *containerSweep, rep *SweepReport) ([]SweepEvent, error) {
	store, r, err := readForSweep(path, o.DryRun, rep)
	if err != nil {
		return nil, err
	}
	evs := planRegistry(path, r, time.Now(), containers, &procfs{})
	if o.DryRun {
		for i := range evs {
			evs[i].DryRun = true
		}
		return evs, nil
	}
	if len(evs) == 0 {
		return evs, nil
	}
	endPlanned(store, evs, o.Grace)
	fault("sweep-before-record")
	err = recordPlanned(store, evs)
	return reported(evs), err
}

// readForSweep opens and reads the registry to plan from.
func readForSweep(path string, dryRun bool, rep *SweepReport) (*registry.Store, *registry.Registry, error) {
	store, err := registry.OpenForReading(path)
	if err != nil {
		return nil, nil, err
	}
	store.Warn = rep.warn // a quarantine or skipped history lines go in the report, not to stderr
	if dryRun {
		r, err := store.Read()
		return store, r, err
	}
	r, err := store.Load()
	if err != nil {
		return nil, nil, err
	}
	for _, name := range store.RemoveStaleTemps(processAlive) {
		rep.warn(fmt.Sprintf("removed %s, left by a writer that died mid-write", name))
	}
	return store, r, nil
}

// endPlanned ends the tree of every planned event still as planned.
func endPlanned(store *registry.Store, evs []SweepEvent, grace time.Duration) {
	for i := range evs {
		ev := &evs[i]
		if ev.tree != nil && stillPlanned(store, ev) {
			endEvent(ev, grace)
		}
	}
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
	t, ok := sameRun(r, ev)
	return ok && (ev.Action != "orphaned" || SupervisorLiveness(t) == supervise.Gone)
}

// recordPlanned writes each event's status and reason in one locked
// update, on entries still running the run that was planned for.
func recordPlanned(store *registry.Store, evs []SweepEvent) error {
	return store.Update(func(r *registry.Registry) error {
		at := registry.FormatTime(time.Now())
		for i := range evs {
			ev := &evs[i]
			t, ok := sameRun(r, ev)
			if !ok {
				continue // finished or replaced meanwhile: its owner decided
			}
			t.Status, t.Reason = ev.Status, ev.Reason
			t.CompletedAt, t.Swept = at, at
			r.Put(ev.ID, t)
			ev.recorded = true
		}
		return nil
	})
}

// sameRun is the entry ev was planned for, if r still holds it running
// the same run.
func sameRun(r *registry.Registry, ev *SweepEvent) (*registry.Task, bool) {
	t, err := r.Get(ev.ID)
	if err != nil || t == nil || t.Status != registry.StatusRunning || t.RunID != ev.RunID {
		return nil, false
	}
	return t, true
}

// endEvent ends the event's tree (TERM, grace, KILL) and notes what that
// did in the event.
func endEvent(ev *SweepEvent, grace time.Duration) {
	r, err := supervise.EndTree(ev.tree, syscall.SIGTERM, grace)
	ev.Signalled, ev.Killed = r.Signalled, r.Killed
	ev.Scope = "tree"
	if ev.tree.Cgroup != nil {
		ev.Scope = "cgroup" // every process of the task, exactly
	}
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

// processAlive reports whether any live process has this pid (a writer's temp
// file is kept while it might still be renamed).
func processAlive(pid int) bool {
	p, err := supervise.ReadProc(pid)
	return err == nil && !p.Zombie()
}
