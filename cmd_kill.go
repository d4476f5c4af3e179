package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	Status    string   `json:"status,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Signalled []int    `json:"signalled"`
	Killed    []int    `json:"killed"`
	Stuck     []int    `json:"stuck,omitempty"`
	Zombies   []string `json:"zombies,omitempty"`
	ExitCode  *int     `json:"exit_code,omitempty"` // a task that had already ended: its exit code
	Error     string   `json:"error,omitempty"`     // why nothing was signalled (exit 1)
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
	// Reading first: a registry that is not there has no task to kill, and
	// kill must not create its directory.
	store, err := openStoreForReading(c)
	if err != nil {
		return err
	}
	var task *registry.Task
	if _, serr := os.Lstat(store.Path); errors.Is(serr, fs.ErrNotExist) {
		err = launch.ErrNoTask
	} else {
		task, err = launch.Cancel(store, id)
	}
	if err != nil {
		ended, err := cancelError(store, id, err)
		var ee *launch.ExitError
		if c.Bool("json") && errors.As(err, &ee) && ee.Code == 1 {
			// The answer is still JSON: the task, if any, and why nothing
			// was done.
			res := killResult{ID: id, Signalled: []int{}, Killed: []int{}, Error: "no such task"}
			if ended != nil {
				res.Status, res.Reason, res.ExitCode, res.Error = ended.Status, ended.Reason, ended.ExitCode, "not running"
			}
			if werr := writeJSON(c.App.Writer, res); werr != nil {
				return werr
			}
		}
		return err
	}
	res := killResult{ID: id, Status: task.Status, Reason: task.Reason, Signalled: []int{}, Killed: []int{}}
	if task.Mode == registry.ModeDocker {
		err = killContainer(c, task, sig, grace)
	} else {
		err = endNative(task, sig, grace, &res)
	}
	if err != nil {
		return err
	}
	if err := printKill(c, task, res); err != nil {
		return err
	}
	if len(res.Stuck) > 0 {
		return &launch.ExitError{Code: 1, Msg: fmt.Sprintf("%d process(es) survived KILL (uninterruptible sleep): %v", len(res.Stuck), res.Stuck)}
	}
	return nil
}

// cancelError is what kill says when launch.Cancel refused: exit 1 for a
// task that is not running (returned too) or not there, 125 for the
// watchdog's trouble.
func cancelError(store *registry.Store, id string, err error) (*registry.Task, error) {
	var nr *launch.NotRunningError
	switch {
	case errors.As(err, &nr):
		return nr.Task, notRunning(id, nr.Task)
	case errors.Is(err, launch.ErrNoTask):
		if old, _ := getTask(store, id); old != nil {
			return old, notRunning(id, old) // moved to the history: it finished long ago
		}
		return nil, &launch.ExitError{Code: 1, Msg: fmt.Sprintf("no task %s in %s", supervise.Quote(id), esc(store.Path)), Hint: "watchdog list shows the tasks there"}
	}
	return nil, launch.AsExit(err)
}

// notRunning is kill's answer for a task that has already ended: exit 1.
func notRunning(id string, t *registry.Task) error {
	return &launch.ExitError{Code: 1, Msg: fmt.Sprintf("task %s is not running (%s)", supervise.Quote(id), statusLine(newView(id, t, &snapshot{at: time.Now()}, false)))}
}

func endNative(task *registry.Task, sig syscall.Signal, grace time.Duration, res *killResult) error {
	rep, err := launch.EndNative(task, sig, grace)
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
	return nil
}

func printKill(c *cli.Context, task *registry.Task, res killResult) error {
	w := c.App.Writer
	switch {
	case c.Bool("json"):
		return writeJSON(w, res)
	case task.Mode == registry.ModeDocker:
		fmt.Fprintf(w, "watchdog: %s: cancelled; its container was stopped\n", res.ID)
	case task.Native == nil && task.Supervisor == nil:
		fmt.Fprintf(w, "watchdog: %s: cancelled; registered without a pid, it had no process to signal\n", res.ID)
	default:
		msg := fmt.Sprintf("watchdog: %s: cancelled; signalled %d process(es)", res.ID, len(res.Signalled))
		if len(res.Killed) > 0 {
			msg += fmt.Sprintf(", %d needed KILL", len(res.Killed))
		}
		fmt.Fprintln(w, msg)
		for _, z := range res.Zombies {
			fmt.Fprintf(w, "watchdog: %s: %s\n", res.ID, z)
		}
	}
	return nil
}
