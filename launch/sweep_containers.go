package launch

import (
	"errors"
	"fmt"
	"time"
)

// ContainerSweeper sweeps the watchdog's containers: stops and removes
// those whose supervisor is gone or whose deadline passed (or says what it
// would do). A *NoEngineError means no engine answered, or there is no way
// to ask one.
type ContainerSweeper func(dryRun bool, grace time.Duration) ([]ContainerEvent, error)

// NoEngineError is a container sweep that could not reach an engine.
type NoEngineError struct{ Reason string }

func (e *NoEngineError) Error() string { return e.Reason }

// containerSweep is the outcome of sweeping the engine's containers.
type containerSweep struct {
	reachable bool                      // an engine answered: absent containers are really gone
	byRun     map[string]ContainerEvent // by run id
}

// sweepContainers has o.Containers stop and remove the watchdog's
// containers whose supervisor is gone or whose deadline has passed,
// whether or not a registry recorded them. need says whether a missing
// engine deserves a warning (a registry holds running docker tasks, or
// DOCKER_HOST is set).
func sweepContainers(o SweepOptions, rep *SweepReport, need bool) *containerSweep {
	cs := &containerSweep{byRun: map[string]ContainerEvent{}}
	if o.Containers == nil {
		return cs
	}
	evs, err := o.Containers(o.DryRun, o.Grace)
	var ne *NoEngineError
	switch {
	case errors.As(err, &ne):
		if need {
			rep.warn("containers not swept: " + ne.Reason)
		}
		return cs
	case err != nil:
		rep.Errors = append(rep.Errors, "sweep containers: "+err.Error())
		return cs
	}
	cs.reachable = true
	for _, ev := range evs {
		cs.byRun[ev.RunID] = ev
		rep.Actions = append(rep.Actions, SweepEvent{Registry: ev.Registry, ID: ev.TaskID, RunID: ev.RunID,
			Action: "container-" + ev.Action, Detail: containerDetail(ev, o.DryRun), DryRun: o.DryRun, Error: ev.Error})
	}
	return cs
}

func containerDetail(ev ContainerEvent, dryRun bool) string {
	detail := fmt.Sprintf("container %s: %s", ev.ContainerName, ev.Detail)
	switch {
	case dryRun:
		detail += "; would stop and remove it"
	case ev.Removed:
		detail += "; stopped and removed"
	case ev.Stopped:
		detail += "; stopped (kept: --keep)"
	}
	return detail
}
