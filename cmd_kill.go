package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
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
	ArgsUsage: "ID | --port N",
	Description: `Sends --signal (default TERM) to every process of the task's tree (or
stops its container), waits up to --grace for them to end, then KILLs what
remains. The task is recorded as cancelled (reason killed) first, so a live
supervisor keeps that status instead of overwriting it. A pid whose start
time no longer matches the record is never signalled.

With --port N instead of an id, the task is the running task of the
registry one of whose processes listens on TCP port N. A process that no
running task started is never signalled: kill names it and exits 1.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "first `SIGNAL`", Value: "TERM"},
		&cli.StringFlag{Name: "grace", Aliases: []string{"g"}, Usage: "`DURATION` before KILL", Value: "10s"},
		&cli.IntFlag{Name: "port", Usage: "end the task whose processes listen on TCP port `N` (instead of an ID)"},
		jsonFlag, registryFlag,
	},
	OnUsageError: usageError,
	Action:       killAction,
}

type killResult struct {
	ID        string   `json:"id,omitempty"` // absent when --port found no task
	Status    string   `json:"status,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Signalled []int    `json:"signalled"`
	Killed    []int    `json:"killed"`
	Stuck     []int    `json:"stuck,omitempty"`
	Zombies   []string `json:"zombies,omitempty"`
	ExitCode  *int     `json:"exit_code,omitempty"` // a task that had already ended: its exit code
	Error     string   `json:"error,omitempty"`     // why nothing was signalled (exit 1)
	// --port that found no single task to end: the port, who listens on
	// it, the tasks that do when there are several.
	Port      int            `json:"port,omitempty"`
	Listeners []listenerView `json:"listeners,omitempty"`
	Tasks     []string       `json:"tasks,omitempty"`
}

// listenerView is a listening socket in kill --port's JSON.
type listenerView struct {
	Addr string `json:"addr"`
	PID  int    `json:"pid,omitempty"` // absent: a process this user cannot see
	Comm string `json:"comm,omitempty"`
}

func killAction(c *cli.Context) error {
	id, port, err := killTarget(c)
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
	if port != 0 {
		if id, err = taskOnPort(c, store, port); err != nil {
			return err
		}
	}
	return killTask(c, store, id, sig, grace)
}

// killTarget is what kill was asked to end: a task id, or (--port) the
// task listening on a port.
func killTarget(c *cli.Context) (id string, port int, err error) {
	if !c.IsSet("port") {
		id, err = oneID(c)
		return id, 0, err
	}
	if port = c.Int("port"); port < 1 || port > 65535 {
		return "", 0, launch.Failf("", "--port: %d is not a TCP port (1-65535)", port)
	}
	if c.NArg() > 0 {
		return "", 0, launch.Failf("watchdog kill ID, or watchdog kill --port N", "kill takes a task id or --port, not both")
	}
	return "", port, nil
}

// killTask ends one task: `watchdog kill ID`, and --port once it has found
// the task.
func killTask(c *cli.Context, store *registry.Store, id string, sig syscall.Signal, grace time.Duration) error {
	var task *registry.Task
	var err error
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

// taskOnPort is the running task of the registry one of whose processes
// (its tree, as list and check find it) listens on port. Anything else
// exits 1 and signals nothing: no task listens there (kill names who does:
// a process no task started is never kill's to end), or several do.
func taskOnPort(c *cli.Context, store *registry.Store, port int) (string, error) {
	native := func(t *registry.Task) bool {
		return t.Status == registry.StatusRunning && t.Native != nil && t.Mode != registry.ModeDocker
	}
	views, err := loadViews(store, native, true, false)
	if err != nil {
		return "", launch.Fail(err, "")
	}
	var ids []string
	for _, v := range views {
		pids := make([]int, len(v.Processes))
		for i, p := range v.Processes {
			pids[i] = p.PID
		}
		if supervise.ListensOn(pids, port) {
			ids = append(ids, v.ID)
		}
	}
	if len(ids) == 1 {
		return ids[0], nil
	}
	res := killResult{Port: port, Signalled: []int{}, Killed: []int{}}
	var fail *launch.ExitError
	if len(ids) == 0 {
		ls, err := supervise.Listeners(port)
		if err != nil {
			return "", launch.Fail(fmt.Errorf("who listens on port %d: %w", port, err), "")
		}
		res.Error = "no task listens"
		for _, l := range ls {
			res.Listeners = append(res.Listeners, listenerView{Addr: l.Addr.String(), PID: l.PID, Comm: l.Comm})
		}
		fail = &launch.ExitError{Code: 1, Msg: notOnPort(port, ls, store.Path)}
	} else {
		sort.Strings(ids)
		res.Error, res.Tasks = "several tasks listen", ids
		quoted := make([]string, len(ids))
		for i, id := range ids {
			quoted[i] = supervise.Quote(id)
		}
		fail = &launch.ExitError{Code: 1, Msg: fmt.Sprintf("port %d is held by %d tasks: %s; not killing any", port, len(ids), strings.Join(quoted, ", ")),
			Hint: "kill the one you mean by its id: watchdog kill " + esc(ids[0])}
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return "", err
		}
	}
	return "", fail
}

// notOnPort says who holds a port that no running task listens on.
func notOnPort(port int, ls []supervise.Listener, registryPath string) string {
	if len(ls) == 0 {
		return fmt.Sprintf("nothing listens on port %d", port)
	}
	var who []string
	seen := map[int]bool{}
	hidden := false
	for _, l := range ls {
		switch {
		case l.PID == 0:
			hidden = true
		case !seen[l.PID]:
			seen[l.PID] = true
			if l.Comm != "" {
				who = append(who, fmt.Sprintf("pid %d (%s)", l.PID, esc(l.Comm)))
			} else {
				who = append(who, fmt.Sprintf("pid %d", l.PID))
			}
		}
	}
	if hidden {
		who = append(who, "a process this user cannot see")
	}
	it := "it"
	if len(who) > 1 {
		it = "them"
	}
	return fmt.Sprintf("port %d is held by %s, which no running task of %s started: not killing %s", port, strings.Join(who, " and "), esc(registryPath), it)
}
