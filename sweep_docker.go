package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
)

// containerEvent is what watchdog-docker's sweep reports for one container.
type containerEvent struct {
	ContainerID   string `json:"container_id"`
	ContainerName string `json:"container_name"`
	TaskID        string `json:"id"`
	RunID         string `json:"run_id"`
	Registry      string `json:"registry"`
	Action        string `json:"action"` // orphaned, overdue, leftover
	Detail        string `json:"detail"`
	Stopped       bool   `json:"stopped"`
	Removed       bool   `json:"removed"`
	Error         string `json:"error"`
}

// containerSweep is the outcome of sweeping the engine's containers.
type containerSweep struct {
	reachable bool                      // an engine answered: absent containers are really gone
	byRun     map[string]containerEvent // by run id
}

// sweepContainers runs watchdog-docker's sweep: containers with the
// watchdog's labels whose supervisor is gone or whose deadline has passed
// are stopped and removed, whether or not a registry recorded them.
func sweepContainers(o sweepOptions, rep *sweepReport, need bool) *containerSweep {
	cs := &containerSweep{byRun: map[string]containerEvent{}}
	helper, err := dockerHelper()
	if err != nil {
		if need {
			rep.Warnings = append(rep.Warnings, "containers not swept: "+err.Error())
		}
		return cs
	}
	args := []string{"sweep", "--grace", o.grace.String()}
	if o.dryRun {
		args = append(args, "--dry-run")
	}
	cmd := exec.Command(helper, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 3: // no engine
		if need {
			rep.Warnings = append(rep.Warnings, "containers not swept: "+strings.TrimSpace(strings.TrimPrefix(stderr.String(), "watchdog: ")))
		}
		return cs
	case err != nil:
		rep.Errors = append(rep.Errors, fmt.Sprintf("sweep containers: %v: %s", err, strings.TrimSpace(stderr.String())))
		return cs
	}
	var out struct {
		Actions []containerEvent `json:"actions"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("sweep containers: bad report: %v", err))
		return cs
	}
	cs.reachable = true
	for _, ev := range out.Actions {
		cs.byRun[ev.RunID] = ev
		detail := fmt.Sprintf("container %s: %s", ev.ContainerName, ev.Detail)
		switch {
		case o.dryRun:
			detail += "; would stop and remove it"
		case ev.Removed:
			detail += "; stopped and removed"
		case ev.Stopped:
			detail += "; stopped (kept: --keep)"
		}
		rep.Actions = append(rep.Actions, sweepEvent{Registry: ev.Registry, ID: ev.TaskID, RunID: ev.RunID,
			Action: "container-" + ev.Action, Detail: detail, DryRun: o.dryRun, Error: ev.Error})
	}
	return cs
}

// planContainerTask decides what sweep records for a running docker task;
// the containers themselves were handled by sweepContainers.
func planContainerTask(t *registry.Task, cs *containerSweep) (sweepEvent, bool) {
	if launch.RecordedElsewhere(t) {
		return sweepEvent{}, false
	}
	if ev, ok := cs.byRun[t.RunID]; ok && t.RunID != "" {
		reason := registry.ReasonOrphaned
		if ev.Action == "overdue" {
			reason = registry.ReasonTimeout
		}
		return sweepEvent{Action: ev.Action, Status: registry.StatusFailed, Reason: reason,
			Detail: fmt.Sprintf("container %s: %s", ev.ContainerName, ev.Detail)}, true
	}
	if launch.SupervisorAlive(t) || !cs.reachable {
		return sweepEvent{}, false // healthy, or the engine cannot tell us
	}
	name := ""
	if t.Docker != nil {
		name = t.Docker.ContainerName
	}
	return sweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
		Detail: fmt.Sprintf("supervisor is gone and container %s no longer runs; record closed", name)}, true
}
