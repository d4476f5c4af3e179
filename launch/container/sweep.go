package container

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/supervise"
)

// Found is one of the watchdog's containers, as its labels describe it.
type Found struct {
	ID         string        `json:"container_id"`
	Name       string        `json:"container_name"`
	TaskID     string        `json:"id"`
	RunID      string        `json:"run_id"`
	Registry   string        `json:"registry,omitempty"`
	Supervisor string        `json:"supervisor,omitempty"`
	Host       string        `json:"host,omitempty"`
	BootID     string        `json:"boot_id,omitempty"`
	Deadline   time.Time     `json:"-"`
	KillAfter  time.Duration `json:"-"`
	Keep       bool          `json:"keep,omitempty"`
	State      string        `json:"state"`
}

// Ours lists every container carrying the watchdog's run label, running or
// not. Containers without it are never returned, so never touched.
func Ours(ctx context.Context, cli *client.Client) ([]Found, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRunID))})
	if err != nil {
		return nil, err
	}
	var out []Found
	for _, c := range list {
		l := c.Labels
		if l[LabelRunID] == "" {
			continue
		}
		f := Found{ID: c.ID, TaskID: l[LabelTaskID], RunID: l[LabelRunID], Registry: l[LabelRegistry],
			Supervisor: l[LabelSupervisor], Host: l[LabelHost], BootID: l[LabelBootID], Keep: l[LabelKeep] == "true", State: c.State}
		if len(c.Names) > 0 {
			f.Name = trimSlash(c.Names[0])
		}
		if d, err := time.Parse(time.RFC3339Nano, l[LabelDeadline]); err == nil {
			f.Deadline = d
		}
		if s, err := strconv.ParseFloat(l[LabelKillAfter], 64); err == nil {
			f.KillAfter = time.Duration(s * float64(time.Second))
		}
		out = append(out, f)
	}
	return out, nil
}

func trimSlash(s string) string {
	if len(s) > 0 && s[0] == '/' {
		return s[1:]
	}
	return s
}

// supervisorName is the supervisor as people know it, "pid N": the label
// also holds its start time in clock ticks, which identifies it but means
// nothing to a reader.
func (f Found) supervisorName() string {
	if sup, ok := supervise.ParseSupervisorTag(f.Supervisor); ok {
		return fmt.Sprintf("pid %d", sup.PID)
	}
	return f.Supervisor
}

// SupervisorState says whether a container's supervisor is known alive,
// known gone, or cannot be judged from here (another host, or another PID
// namespace: a supervisor inside a container on this very host).
func (f Found) SupervisorState() string {
	sup, ok := supervise.ParseSupervisorTag(f.Supervisor)
	if !ok {
		return "elsewhere"
	}
	sup.Host, sup.BootID = f.Host, f.BootID
	switch sup.Liveness() {
	case supervise.Alive:
		return "alive"
	case supervise.Gone:
		return "gone"
	}
	return "elsewhere"
}

// event is the report of what the sweep does about f.
func (f Found) event(action, detail string) launch.ContainerEvent {
	return launch.ContainerEvent{ContainerID: f.ID, ContainerName: f.Name, TaskID: f.TaskID, RunID: f.RunID,
		Registry: f.Registry, Action: action, Detail: detail}
}

// Sweep stops and removes the watchdog's containers whose supervisor is
// gone or whose deadline (plus grace plus slack) has passed, and removes
// exited ones a dead supervisor left (unless they were started with --keep).
func Sweep(ctx context.Context, cli *client.Client, grace time.Duration, dryRun bool) ([]launch.ContainerEvent, error) {
	found, err := Ours(ctx, cli)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var evs []launch.ContainerEvent
	for _, f := range found {
		running := f.State == "running" || f.State == "paused" || f.State == "restarting"
		sup := f.SupervisorState()
		var ev launch.ContainerEvent
		switch {
		case sup == "gone" && running:
			ev = f.event("orphaned", fmt.Sprintf("supervisor %s is gone", f.supervisorName()))
		case running && !f.Deadline.IsZero() && now.After(f.Deadline.Add(f.KillAfter+30*time.Second)):
			ev = f.event("overdue", fmt.Sprintf("past its deadline %s", f.Deadline.Format(time.RFC3339)))
		case sup == "gone" && !running && !f.Keep:
			ev = f.event("leftover", fmt.Sprintf("exited; supervisor %s is gone", f.supervisorName()))
		default:
			continue
		}
		if !dryRun {
			if running {
				if err := Stop(ctx, cli, f.ID, 15, grace); err != nil {
					ev.Error = err.Error()
				} else {
					ev.Stopped = true
				}
			}
			if !f.Keep {
				if err := cli.ContainerRemove(ctx, f.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !client.IsErrNotFound(err) {
					ev.Error = err.Error()
				} else {
					ev.Removed = true
				}
			}
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// Stop sends sig, waits up to grace for the container to exit, then KILLs.
func Stop(ctx context.Context, cli *client.Client, id string, sig int, grace time.Duration) error {
	waitC, errC := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	if err := cli.ContainerKill(ctx, id, strconv.Itoa(sig)); err != nil {
		if client.IsErrNotFound(err) {
			return nil
		}
		// Not running any more: nothing to stop.
		if info, ierr := cli.ContainerInspect(ctx, id); ierr == nil && info.State != nil && !info.State.Running {
			return nil
		}
		return err
	}
	select {
	case <-waitC:
		return nil
	case err := <-errC:
		return err
	case <-time.After(grace):
	}
	if err := cli.ContainerKill(ctx, id, "KILL"); err != nil && !client.IsErrNotFound(err) {
		return err
	}
	select {
	case <-waitC:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("container %s did not stop after KILL", id)
	}
	return nil
}
