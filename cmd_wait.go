package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var waitCommand = &cli.Command{
	Name:      "wait",
	Usage:     "block until tasks end, then exit with their status",
	ArgsUsage: "ID...",
	Description: `Blocks until every task named has ended (with --any, until the first has)
and exits with its status: the exit code its record holds (a record without
one: 0 if completed, else 1). For several tasks: 0 if all completed, else
the status of the first, in the order given, that did not. A task that has
already ended returns at once; an unknown id exits 1 before anything is
waited for. If --timeout passes first, wait exits 124 and the tasks run on
(a task that timed out itself also ends 124: the message on stderr, or
--json, tells which). INT or TERM ends wait, never the tasks.

How it waits, without polling: for a task whose supervisor runs here, on a
pidfd of that supervisor (macOS: kqueue), which records the end just before
it exits; for any other task, on an inotify watch of the registry's
directory, until the task's record says it ended (macOS: the registry is
read every 250 ms). Such a task is one whose supervisor was killed with
SIGKILL (its record says running until ` + "`watchdog sweep`" + ` marks it failed,
orphaned or lost), an entry of the earlier tool or one registered without a
supervisor, or one whose supervisor is in another PID namespace (a
container): wait ends when a sweep, a ` + "`watchdog kill`" + ` or that supervisor
closes its record.

--json prints one object per task, in the order given: id, status, reason,
exit_code, elapsed_seconds (to its end, or to now while it runs) and
log_tail (the last 20 lines of its --log, if it kept one). A task whose id a
new run took over before wait could read how it ended is "unknown"
(reason "replaced"), exit 1.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "timeout", Usage: "give up after `DURATION` and exit 124, leaving the tasks running (0: never)"},
		&cli.BoolFlag{Name: "any", Usage: "return when the first task ends, with its status"},
		jsonFlag, registryFlag,
	},
	OnUsageError: usageError,
	Action:       waitAction,
}

const (
	// waitLogLines is how much of a task's --log the JSON answer carries.
	waitLogLines = 20
	// registryPollInterval is how often the registry is read for the tasks
	// no event announces: on macOS, and where inotify cannot watch.
	registryPollInterval = 250 * time.Millisecond
)

// waited is one task wait waits for.
type waited struct {
	id   string
	run  *registry.Task // as first read: the run waited for
	task *registry.Task // as last read
	// watched: its supervisor is watched, and the task ends when that
	// exits (after recording the end). `watchdog kill` closes the record
	// first and then ends the tree: the supervisor's exit says it is over.
	watched bool
	// replaced: a new run of the id replaced the record before the end of
	// this one was read.
	replaced bool
}

func (w *waited) ended() bool { return !w.watched && (w.replaced || w.task.Finished()) }

// wakeup is why the wait set woke up.
type wakeup struct {
	exited   []int // the keys of watched supervisors that exited
	registry bool  // the registry may have changed
	timeout  bool  // the deadline passed
}

// waitResult is one task in wait's --json answer.
type waitResult struct {
	ID             string   `json:"id"`
	Status         string   `json:"status"`
	Reason         string   `json:"reason,omitempty"`
	ExitCode       *int     `json:"exit_code,omitempty"`
	ElapsedSeconds float64  `json:"elapsed_seconds"`
	LogTail        []string `json:"log_tail,omitzero"` // absent without a log; [] for an empty one
}

func waitAction(c *cli.Context) error {
	ids, err := waitIDs(c)
	if err != nil {
		return err
	}
	var deadline time.Time
	if c.IsSet("timeout") {
		d, err := supervise.ParseDuration(c.String("timeout"))
		if err != nil {
			return launch.Fail(fmt.Errorf("--timeout: %w", err), "")
		}
		if d > 0 {
			deadline = time.Now().Add(d)
		}
	}
	store, err := openStoreForReading(c)
	if err != nil {
		return err
	}
	set := newWaitSet(store.Path)
	defer set.close()
	tasks := make([]*waited, len(ids))
	for i, id := range ids {
		t, err := getTask(store, id)
		if err != nil {
			return err
		}
		tasks[i] = &waited{id: id, run: t, task: t}
	}
	for i, w := range tasks {
		// A record closed by `watchdog kill` has no exit code until its
		// supervisor, still ending the tree, writes it: wait for that too.
		if s, ok := launch.SupervisorOf(w.task); ok && (!w.task.Finished() || w.task.ExitCode == nil) {
			w.watched = set.watch(i, s)
		}
	}
	timedOut, err := waitLoop(c, store, set, tasks, deadline)
	if err != nil {
		return err
	}
	if err := printWait(c, tasks); err != nil {
		return err
	}
	if timedOut {
		var running []string
		for _, w := range tasks {
			if !w.ended() {
				running = append(running, w.id)
			}
		}
		return &launch.ExitError{Code: supervise.ExitTimedOut,
			Msg: fmt.Sprintf("--timeout %s passed; still running: %s", esc(c.String("timeout")), strings.Join(running, ", "))}
	}
	if code := waitStatus(tasks, c.Bool("any")); code != 0 {
		return launch.Exit(code)
	}
	return nil
}

// waitIDs takes the task ids, each once, in the order given.
func waitIDs(c *cli.Context) ([]string, error) {
	if c.NArg() == 0 {
		return nil, launch.Failf("watchdog wait T001 [T002...]", "name at least one task id")
	}
	var ids []string
	for _, id := range c.Args().Slice() {
		if err := registry.ValidateID(id); err != nil {
			return nil, launch.Fail(err, "")
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// waitLoop sleeps on the wait set until the tasks have ended (with --any,
// one has) or the deadline passes (true). The registry is read again
// only when something happened: a supervisor exited, or the registry
// changed while a task was waited for through it.
func waitLoop(c *cli.Context, store *registry.Store, set *waitSet, tasks []*waited, deadline time.Time) (bool, error) {
	warned := false
	for !waitDone(tasks, c.Bool("any")) {
		throughRegistry := slices.ContainsFunc(tasks, func(w *waited) bool { return !w.ended() && !w.watched })
		if throughRegistry && set.watchRegistry() {
			// A change written before the watch began woke no one: look now.
			if err := reread(store, tasks); err != nil {
				return false, err
			}
			continue
		}
		if throughRegistry && set.noWatch != nil && !warned {
			fmt.Fprintf(c.App.ErrWriter, "watchdog: warning: %s; reading the registry every %v instead\n", esc(set.noWatch.Error()), registryPollInterval)
			warned = true
		}
		wk, err := set.next(deadline, throughRegistry)
		if err != nil {
			return false, launch.Fail(err, "")
		}
		if wk.timeout {
			return true, nil
		}
		for _, k := range wk.exited {
			tasks[k].watched = false
		}
		if err := reread(store, tasks); err != nil {
			return false, err
		}
	}
	return false, nil
}

func waitDone(tasks []*waited, any bool) bool {
	if any {
		return slices.ContainsFunc(tasks, (*waited).ended)
	}
	return !slices.ContainsFunc(tasks, func(w *waited) bool { return !w.ended() })
}

// reread takes the records of the tasks still waited for from the
// registry. A task no longer in it was moved to the history, or removed
// (exit 1, as check says).
func reread(store *registry.Store, tasks []*waited) error {
	r, err := store.Load()
	if err != nil {
		return launch.Fail(err, "")
	}
	for _, w := range tasks {
		if w.ended() {
			continue
		}
		t, err := r.Get(w.id)
		if err != nil {
			return launch.Fail(err, "")
		}
		if t == nil {
			if t, err = getTask(store, w.id); err != nil {
				return err
			}
		}
		if t.RunID != w.run.RunID || t.StartedAt != w.run.StartedAt {
			w.replaced = true
			continue
		}
		w.task = t
	}
	return nil
}

// waitStatus is wait's exit status once the tasks have ended: with --any,
// the status of the first (in the order given) that has; else the status
// of the first that did not complete, 0 if all did.
func waitStatus(tasks []*waited, any bool) int {
	for _, w := range tasks {
		if !w.ended() {
			continue
		}
		if code := endStatus(w); any || code != 0 {
			return code
		}
	}
	return 0
}

// endStatus is the status exec returned for the task: its recorded exit
// code; without one (an orphan sweep closed, the earlier tool's entry) 0
// for completed, 1 for any other end.
func endStatus(w *waited) int {
	t := w.task
	switch {
	case w.replaced:
		return 1
	case t.ExitCode != nil && *t.ExitCode >= 0 && *t.ExitCode <= 255:
		return *t.ExitCode
	case t.Status == registry.StatusCompleted:
		return 0
	}
	return 1
}

func waitResults(tasks []*waited, withLog bool) []waitResult {
	now := time.Now()
	out := make([]waitResult, 0, len(tasks))
	for _, w := range tasks {
		t := w.task
		res := waitResult{ID: w.id, Status: t.Status, Reason: t.Reason, ExitCode: t.ExitCode}
		end := now
		if w.replaced {
			res.Status, res.Reason, res.ExitCode = "unknown", "replaced", nil
		} else if c := t.Completed(); t.Finished() && !c.IsZero() {
			end = c
		}
		if start := w.run.Started(); !start.IsZero() && end.After(start) {
			res.ElapsedSeconds = round1(end.Sub(start).Seconds())
		}
		if withLog && t.Log != "" {
			res.LogTail = logTail(t.Log, waitLogLines)
		}
		out = append(out, res)
	}
	return out
}

// printWait says how each task stands: JSON, or a line each.
func printWait(c *cli.Context, tasks []*waited) error {
	if c.Bool("json") {
		return writeJSON(c.App.Writer, waitResults(tasks, true))
	}
	for _, w := range tasks {
		line := statusLine(taskView{Status: w.task.Status, Reason: w.task.Reason, ExitCode: w.task.ExitCode, Signal: w.task.Signal})
		if w.replaced {
			line = "unknown: a new run took its id over before its end was read"
		}
		if _, err := fmt.Fprintf(c.App.Writer, "%s: %s\n", w.id, esc(line)); err != nil {
			return err
		}
	}
	return nil
}

// logTail is the last n lines of the task's log; nil (left out) when it
// cannot be read.
func logTail(path string, n int) []string {
	lines, _, err := tasklog.Tail(path, n)
	if err != nil {
		return nil
	}
	if lines == nil {
		lines = []string{}
	}
	return lines
}

// pollTimeout is how long the wait set may sleep, in milliseconds: until
// deadline (zero: no limit, -1), and at most registryPollInterval when the
// registry is read that way. It rounds up: waking just before the deadline
// would only sleep again.
func pollTimeout(deadline time.Time, readEvery bool) int {
	timeout := -1
	if !deadline.IsZero() {
		timeout = int(max(0, (time.Until(deadline)+time.Millisecond-1)/time.Millisecond))
	}
	if every := int(registryPollInterval / time.Millisecond); readEvery && (timeout < 0 || timeout > every) {
		timeout = every
	}
	return timeout
}
