package main

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "end a running task and everything it started",
	ArgsUsage: "ID",
	Description: `Sends --signal (default TERM) to every process of the task's tree (or
stops its container), waits up to --grace for them to end, then KILLs what
remains. The task is recorded as cancelled (reason killed) first, so a live
supervisor keeps that status instead of overwriting it. A pid whose start
time no longer matches the record is never signalled.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "first `SIGNAL`", Value: "TERM"},
		&cli.StringFlag{Name: "grace", Aliases: []string{"g"}, Usage: "`DURATION` before KILL", Value: "10s"},
		jsonFlag, registryFlag,
	},
	OnUsageError: usageError,
	Action:       killAction,
}

type killResult struct {
	ID        string   `json:"id"`
	Status    string   `json:"status"`
	Reason    string   `json:"reason"`
	Signalled []int    `json:"signalled"`
	Killed    []int    `json:"killed"`
	Stuck     []int    `json:"stuck,omitempty"`
	Zombies   []string `json:"zombies,omitempty"`
}

var errNoTask = errors.New("no such task")

// notRunning is kill's answer for a task that has already ended: exit 1.
func notRunning(id string, t *registry.Task) error {
	return &launch.ExitError{Code: 1, Msg: fmt.Sprintf("task %q is not running (%s)", id, statusLine(newView(id, t, &snapshot{at: time.Now()}, false)))}
}

func killAction(c *cli.Context) error {
	id, err := oneID(c)
	if err != nil {
		return err
	}
	sig, err := supervise.ParseSignal(c.String("signal"))
	if err != nil {
		return launch.Fail(fmt.Errorf("--signal: %w", err), "")
	}
	grace, err := supervise.ParseDuration(c.String("grace"))
	if err != nil {
		return launch.Fail(fmt.Errorf("--grace: %w", err), "")
	}
	store, err := openStore(c)
	if err != nil {
		return err
	}
	// Record the decision first: a live supervisor that sees its command
	// die afterwards keeps "cancelled".
	var task *registry.Task
	err = store.Update(func(r *registry.Registry) error {
		t, err := r.Get(id)
		if err != nil {
			return launch.Fail(err, "")
		}
		if t == nil {
			return errNoTask
		}
		if t.Status != registry.StatusRunning {
			return notRunning(id, t)
		}
		if t.Mode != registry.ModeDocker && launch.RecordedElsewhere(t) {
			return &launch.ExitError{Code: supervise.ExitInternal,
				Msg:  fmt.Sprintf("task %q runs on another host or in another PID namespace (a container): its pids mean other processes here", id),
				Hint: "run watchdog kill where it runs (docker exec, nsenter)"}
		}
		t.Status, t.Reason = registry.StatusCancelled, registry.ReasonKilled
		t.CompletedAt = registry.FormatTime(time.Now())
		r.Put(id, t)
		task = t
		return nil
	})
	if err == errNoTask {
		if old, _ := getTask(store, id); old != nil {
			return notRunning(id, old) // moved to the history: it finished long ago
		}
		return &launch.ExitError{Code: 1, Msg: fmt.Sprintf("no task %q in %s", id, store.Path), Hint: "watchdog list shows the tasks there"}
	}
	if err != nil {
		if _, ok := err.(*launch.ExitError); ok {
			return err
		}
		return launch.Fail(err, "")
	}
	res := killResult{ID: id, Status: task.Status, Reason: task.Reason, Signalled: []int{}, Killed: []int{}}
	switch {
	case task.Mode == registry.ModeDocker:
		if err := killContainer(c, task, sig, grace); err != nil {
			return err
		}
	case task.Native != nil:
		rep, err := supervise.EndTree(launch.TaskTree(task), syscall.Signal(sig), grace)
		res.Signalled, res.Killed = append(res.Signalled, rep.Signalled...), append(res.Killed, rep.Killed...)
		for _, p := range rep.Stuck {
			res.Stuck = append(res.Stuck, p.PID)
		}
		for _, z := range rep.Zombies {
			res.Zombies = append(res.Zombies, supervise.Zombie(z))
		}
		if err != nil {
			return launch.Fail(err, "")
		}
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else if task.Mode == registry.ModeDocker {
		fmt.Fprintf(c.App.Writer, "watchdog: %s: cancelled; its container was stopped\n", id)
	} else {
		msg := fmt.Sprintf("watchdog: %s: cancelled; signalled %d process(es)", id, len(res.Signalled))
		if len(res.Killed) > 0 {
			msg += fmt.Sprintf(", %d needed KILL", len(res.Killed))
		}
		fmt.Fprintln(c.App.Writer, msg)
		for _, z := range res.Zombies {
			fmt.Fprintf(c.App.Writer, "watchdog: %s: %s\n", id, z)
		}
	}
	if len(res.Stuck) > 0 {
		return &launch.ExitError{Code: 1, Msg: fmt.Sprintf("%d process(es) survived KILL (uninterruptible sleep): %v", len(res.Stuck), res.Stuck)}
	}
	return nil
}
