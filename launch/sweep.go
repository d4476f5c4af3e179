package launch

import (
	"fmt"
	"time"

	"github.com/watchdog-run/watchdog/registry"
)

// Sweep's engine: `watchdog sweep` (and `watchdog run`, the earlier tool's
// loop of it) reaps what dead or stuck supervisors left behind.
//
//	sweep.go            Sweep: one sweep, step by step, over every registry
//	sweep_census.go     the read-only census: which runs some registry records
//	sweep_plan.go       the plan: which running task gets which action (pure)
//	sweep_registry.go   one registry: read, plan, re-check, end trees, record
//	sweep_untracked.go  tagged processes of runs no registry records
//	sweep_containers.go the container part, through a ContainerSweeper
//	sweep_report.go     the report, its JSON form, and what it may claim

// SweepOptions says what a sweep may do.
type SweepOptions struct {
	DryRun bool          // say what would be done; signal and write nothing
	All    bool          // every registry this user has used, not only the current one
	Grace  time.Duration // between TERM and KILL
	// Containers sweeps the watchdog's containers; launch links no Docker,
	// so the caller supplies it. Nil leaves containers alone.
	Containers ContainerSweeper
}

// Sweep sweeps the registry at current (with o.All, every registry this
// user has used) and reports what it did. Nothing stops it half-way: what
// failed is in the report's Errors.
func Sweep(current string, o SweepOptions) SweepReport {
	rep := SweepReport{Time: registry.FormatTime(time.Now()), Actions: []SweepEvent{}}
	known, indexErr := registry.Known()
	if o.All && indexErr != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("read the registry index %s: %v", registry.IndexPath(), indexErr))
	}
	rep.Registries = registry.Select(current, known, o.All)

	// Every registry this user has used is counted, swept or not: a run
	// any of them records is not untracked. An unreadable one (or index)
	// may record any run, so then no process is called untracked.
	c := takeCensus(append(append([]string{}, rep.Registries...), known...))
	c.complete = c.complete && indexErr == nil

	// Containers first: the plan of a docker task reads what became of its
	// container.
	containers := sweepContainers(o, &rep, c.needDocker)
	for _, p := range rep.Registries {
		evs, err := sweepRegistry(p, o, containers, &rep)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		rep.Actions = append(rep.Actions, evs...)
	}
	if c.complete {
		rep.Actions = append(rep.Actions, sweepUntracked(c, o, &rep)...)
	}
	// Last: a task cgroup still populated now has no registry entry that
	// the sweeps above could act on.
	rep.Actions = append(rep.Actions, sweepCgroups(c, o, &rep)...)
	if o.All && !o.DryRun {
		// Registries that are gone (test runs, removed checkouts) leave
		// the index, so --all does not look for them again.
		if _, err := registry.PruneIndex(); err != nil {
			rep.warn(fmt.Sprintf("tidy the registry index %s: %v", registry.IndexPath(), err))
		}
	}
	for _, ev := range rep.Actions {
		if ev.Error != "" {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s %s: %s", ev.Registry, ev.ID, ev.Error))
		}
	}
	return rep
}
