package launch

import (
	"fmt"
	"os"
	"time"

	"github.com/watchdog-run/watchdog/registry"
)

// Sweep's engine: `watchdog sweep` (and `watchdog run`, the earlier tool's
// loop of it) reaps what dead or stuck supervisors left behind. The files:
//
//	sweep.go            Sweep: the order of one sweep over every registry
//	sweep_census.go     the read-only census: which runs some registry records
//	sweep_plan.go       the plan: which running task gets which action (pure)
//	sweep_registry.go   SweepRegistry: plan, re-check, end trees, record
//	sweep_untracked.go  tagged processes no registry records
//	sweep_containers.go what the container sweep (watchdog-docker) found
//	sweep_report.go     the report and its JSON form

// SweepOptions says what a sweep may do.
type SweepOptions struct {
	DryRun bool          // say what would be done: signal nothing, write nothing
	All    bool          // every registry this user has used, not only the current one
	Grace  time.Duration // between TERM and KILL
	// Containers sweeps the engine's containers. Launch links no Docker:
	// the watchdog's runs the watchdog-docker helper. Nil sweeps none (a
	// warning when some registry holds a running docker task).
	Containers ContainerSweeper
}

// Sweep sweeps the registry at current (and, with o.All, every registry in
// this user's index) and reports what it did, or with o.DryRun what it
// would do. Failures are in the report's Errors, never fatal: one unusable
// registry does not stop the sweep of the others.
func Sweep(current string, o SweepOptions) SweepReport {
	rep := SweepReport{Time: registry.FormatTime(time.Now()), Actions: []SweepEvent{}}
	known, indexErr := registry.Known()
	if o.All && indexErr != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("read the registry index %s: %v", registry.IndexPath(), indexErr))
	}
	rep.Registries = registriesToSweep(current, known, o.All)

	// The census reads every registry this user has used, swept or not: a
	// run any of them records is not an untracked one.
	c := takeCensus(append(append([]string{}, rep.Registries...), known...))
	c.complete = c.complete && indexErr == nil

	// Containers first: the plan of a registry's docker tasks reads what
	// their sweep found.
	containers := sweepContainers(o, &rep, c.needDocker)
	for _, p := range rep.Registries {
		evs, err := SweepRegistry(p, o, containers, &rep)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		rep.Actions = append(rep.Actions, evs...)
	}
	// A registry that could not be read may record any run: only a
	// complete census may call a process untracked.
	if c.complete {
		rep.Actions = append(rep.Actions, sweepUntracked(c, o, &rep)...)
	}
	for _, ev := range rep.Actions {
		if ev.Error != "" {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s %s: %s", ev.Registry, ev.ID, ev.Error))
		}
	}
	return rep
}

// registriesToSweep is the current registry if it exists, and with all
// every other one the index lists.
func registriesToSweep(current string, known []string, all bool) []string {
	paths := []string{}
	if _, err := os.Lstat(current); err == nil {
		paths = append(paths, current)
	}
	if !all {
		return paths
	}
	for _, p := range known {
		if !samePath(p, current) {
			paths = append(paths, p)
		}
	}
	return paths
}

// samePath reports whether two paths name the same existing file.
func samePath(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
