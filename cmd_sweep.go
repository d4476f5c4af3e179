package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/internal/cli"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

const sweepDescription = `Reaps what dead or stuck supervisors left behind:

  - running tasks whose supervisor is gone: their whole tree is ended (TERM,
    --grace, KILL) and they are marked failed (orphaned);
  - running tasks long past their deadline (deadline + kill-after + 30s)
    though the supervisor lives: their tree is ended, marked failed (timeout);
  - processes carrying a run tag whose supervisor is gone and that no
    registry recorded (the supervisor died between fork and write): ended;
  - running entries whose processes are all gone: marked failed (lost).

A pid whose start time does not match the record is a different process and
is never signalled; nor is a process of another user, pid 1, or the
watchdog and its ancestors. Entries of the earlier Rust tool (no supervisor)
are never signalled: if their process is gone they are marked lost.

Safe to run from cron every minute, beside running supervisors and beside
another sweep; quiet when there is nothing to do; exits 0 unless something
failed (an unusable registry, a process that survived KILL).`

var sweepFlags = []cli.Flag{
	&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "say what would be done; signal and write nothing"},
	&cli.BoolFlag{Name: "json", Usage: "report as JSON"},
	&cli.BoolFlag{Name: "all", Usage: "sweep every registry this user has used (the index under $XDG_STATE_HOME/watchdog/)"},
	&cli.StringFlag{Name: "grace", Usage: "`DURATION` between TERM and KILL", Value: "10s"},
	registryFlag,
}

var sweepCommand = &cli.Command{
	Name:         "sweep",
	Usage:        "end what dead supervisors left behind; close stale records",
	Description:  sweepDescription,
	Flags:        append([]cli.Flag{&cli.StringFlag{Name: "every", Usage: "sweep again every `DURATION` until interrupted"}}, sweepFlags...),
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		every := time.Duration(0)
		if c.IsSet("every") {
			d, err := supervise.ParseDuration(c.String("every"))
			if err != nil || d <= 0 {
				return failf("", "--every: invalid duration %q (use e.g. 30s or 1m)", c.String("every"))
			}
			every = d
		}
		return sweepLoop(c, every)
	},
}

var runCommand = &cli.Command{
	Name:         "run",
	Usage:        "sweep every --interval seconds (the earlier tool's daemon mode)",
	Description:  "Same as: watchdog sweep --every Ns.\n\n" + sweepDescription,
	Flags:        append([]cli.Flag{&cli.IntFlag{Name: "interval", Aliases: []string{"i"}, Usage: "seconds between sweeps", Value: 30}}, sweepFlags...),
	OnUsageError: usageError,
	Action: func(c *cli.Context) error {
		n := c.Int("interval")
		if n <= 0 {
			return failf("", "--interval must be a positive number of seconds, not %d", n)
		}
		return sweepLoop(c, time.Duration(n)*time.Second)
	},
}

type sweepOptions struct {
	dryRun bool
	all    bool
	grace  time.Duration
}

// sweepEvent is one thing sweep did (or would do). Its JSON form is part of
// the documented `sweep --json` schema.
type sweepEvent struct {
	Registry  string   `json:"registry,omitempty"`
	ID        string   `json:"id,omitempty"`
	RunID     string   `json:"run_id,omitempty"`
	Action    string   `json:"action"` // orphaned, overdue, lost, untracked
	Status    string   `json:"status,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Detail    string   `json:"detail"`
	Signalled []int    `json:"signalled,omitempty"`
	Killed    []int    `json:"killed,omitempty"`
	Stuck     []int    `json:"stuck,omitempty"`
	Zombies   []string `json:"zombies,omitempty"`
	DryRun    bool     `json:"dry_run,omitempty"`
	Error     string   `json:"error,omitempty"`

	task *registry.Task
	tree *supervise.Tree
}

type sweepReport struct {
	Time       string       `json:"time"`
	Registries []string     `json:"registries"`
	Actions    []sweepEvent `json:"actions"`
	Warnings   []string     `json:"warnings,omitempty"`
	Errors     []string     `json:"errors,omitempty"`
}

func sweepLoop(c *cli.Context, every time.Duration) error {
	grace, err := supervise.ParseDuration(c.String("grace"))
	if err != nil {
		return fail(fmt.Errorf("--grace: %w", err), "")
	}
	o := sweepOptions{dryRun: c.Bool("dry-run"), all: c.Bool("all"), grace: grace}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for {
		rep := sweepOnce(registryPath(c), o)
		printSweep(c.App.Writer, c.App.ErrWriter, rep, c.Bool("json"))
		if every == 0 {
			if len(rep.Errors) > 0 {
				return exitCode(1)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// registryPath is the registry named by --registry (either place),
// WATCHDOG_REGISTRY or the default.
func registryPath(c *cli.Context) string {
	path := registry.DefaultPath
	if v := os.Getenv("WATCHDOG_REGISTRY"); v != "" {
		path = v
	}
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("registry") {
			return ctx.String("registry")
		}
	}
	return path
}

func sweepOnce(current string, o sweepOptions) sweepReport {
	rep := sweepReport{Time: registry.FormatTime(time.Now()), Actions: []sweepEvent{}}
	paths := []string{}
	if _, err := os.Lstat(current); err == nil {
		paths = append(paths, current)
	}
	known, indexErr := registry.Known()
	if o.all {
		if indexErr != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("read the registry index %s: %v", registry.IndexPath(), indexErr))
		}
		for _, p := range known {
			if !samePath(p, current) {
				paths = append(paths, p)
			}
		}
	}
	rep.Registries = paths

	// Every run id any known registry holds: processes of those runs are
	// the registries' business, not the untracked scan's.
	runs := map[string]bool{}
	runsComplete := indexErr == nil
	loaded := map[string]*registry.Registry{}
	for _, p := range append(append([]string{}, paths...), known...) {
		if _, ok := loaded[p]; ok {
			continue
		}
		r, err := loadQuiet(p)
		if err != nil {
			runsComplete = false
			continue
		}
		loaded[p] = r
		for _, id := range r.IDs() {
			if _, run, ok := r.Peek(id); ok && run != "" {
				runs[run] = true
			}
		}
	}

	containers := sweepContainers(o, &rep, needDocker(loaded))
	for _, p := range paths {
		evs, err := sweepRegistry(p, loaded[p], o, containers)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		rep.Actions = append(rep.Actions, evs...)
	}
	if runsComplete {
		rep.Actions = append(rep.Actions, sweepUntracked(runs, o, &rep)...)
	}
	for _, ev := range rep.Actions {
		if ev.Error != "" {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s %s: %s", ev.Registry, ev.ID, ev.Error))
		}
	}
	return rep
}

func samePath(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func loadQuiet(path string) (*registry.Registry, error) {
	s, err := registry.Open(path)
	if err != nil {
		return nil, err
	}
	return s.Load()
}

// sweepRegistry plans and carries out the sweep of one registry: decisions
// from a lock-free read, tree kills outside the lock, then one locked update
// that records only what is still as it was seen.
func sweepRegistry(path string, r *registry.Registry, o sweepOptions, containers *containerSweep) ([]sweepEvent, error) {
	store, err := registry.Open(path)
	if err != nil {
		return nil, err
	}
	if r == nil {
		if r, err = store.Load(); err != nil {
			return nil, err
		}
	}
	if !o.dryRun {
		for _, name := range store.RemoveStaleTemps(processAlive) {
			fmt.Fprintf(os.Stderr, "watchdog: sweep: removed %s, left by a writer that died mid-write\n", name)
		}
	}
	now := time.Now()
	var evs []sweepEvent
	for _, id := range r.IDs() {
		status, _, ok := r.Peek(id)
		if !ok || status != registry.StatusRunning {
			continue
		}
		t, err := r.Get(id)
		if err != nil || t == nil {
			continue
		}
		if ev, act := planTask(t, now, containers); act {
			ev.Registry, ev.ID, ev.RunID, ev.task = path, id, t.RunID, t
			evs = append(evs, ev)
		}
	}
	if len(evs) == 0 {
		return nil, nil
	}
	for i := range evs {
		ev := &evs[i]
		ev.DryRun = o.dryRun
		if ev.tree != nil && !o.dryRun {
			endEvent(ev, o.grace)
		}
	}
	if o.dryRun {
		return evs, nil
	}
	err = store.Update(func(r *registry.Registry) error {
		at := registry.FormatTime(time.Now())
		for _, ev := range evs {
			t, err := r.Get(ev.ID)
			if err != nil || t == nil || t.Status != registry.StatusRunning || t.RunID != ev.task.RunID {
				continue // finished or replaced meanwhile: its owner decided
			}
			t.Status, t.Reason = ev.Status, ev.Reason
			t.CompletedAt, t.Swept = at, at
			r.Put(ev.ID, t)
		}
		return nil
	})
	return evs, err
}

// planTask decides what sweep does with one running task.
func planTask(t *registry.Task, now time.Time, containers *containerSweep) (sweepEvent, bool) {
	if t.Mode == registry.ModeDocker {
		return planContainerTask(t, containers)
	}
	if t.Native == nil {
		return sweepEvent{}, false // registered without a process: nothing to watch
	}
	if !supervise.SameHost(t) {
		return sweepEvent{}, false // another host's: its pids mean nothing here
	}
	if t.Supervisor == nil {
		// The earlier tool's entry: it has no supervisor to die. Its process
		// is left alone while it is the recorded one; the record is closed
		// when it is gone or the pid now belongs to someone else.
		if supervise.CommandAlive(t) {
			return sweepEvent{}, false
		}
		return sweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Detail: fmt.Sprintf("pid %d is gone or is another process now; record closed, nothing signalled", pidOf(t))}, true
	}
	tree := supervise.TaskTree(t)
	if supervise.SupervisorAlive(t) {
		if !supervise.Overdue(t, now, 30*time.Second) {
			return sweepEvent{}, false // healthy
		}
		return sweepEvent{Action: "overdue", Status: registry.StatusFailed, Reason: registry.ReasonTimeout, tree: tree,
			Detail: fmt.Sprintf("past its deadline %s though supervisor %d lives", t.Deadline, t.Supervisor.PID)}, true
	}
	live, _, err := tree.Members()
	if err == nil && len(live) == 0 {
		return sweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Detail: fmt.Sprintf("supervisor %d and all its processes are gone; record closed", t.Supervisor.PID)}, true
	}
	return sweepEvent{Action: "orphaned", Status: registry.StatusFailed, Reason: registry.ReasonOrphaned, tree: tree,
		Detail: fmt.Sprintf("supervisor %d is gone", t.Supervisor.PID)}, true
}

func pidOf(t *registry.Task) int {
	if t.Native != nil {
		return t.Native.PID
	}
	return 0
}

func endEvent(ev *sweepEvent, grace time.Duration) {
	r, err := supervise.EndTree(ev.tree, syscall.SIGTERM, grace)
	ev.Signalled, ev.Killed = r.Signalled, r.Killed
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

// sweepUntracked ends tagged processes whose supervisor is gone and whose
// run no registry knows.
func sweepUntracked(runs map[string]bool, o sweepOptions, rep *sweepReport) []sweepEvent {
	tagged, err := supervise.TaggedProcesses(launch.EnvRunID, launch.EnvTaskID, launch.EnvSupervisor)
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("scan processes: %v", err))
		return nil
	}
	var evs []sweepEvent
	for run, g := range tagged {
		if runs[run] {
			continue
		}
		pid, ticks, ok := supervise.ParseSupervisorTag(g.Supervisor)
		if !ok || supervise.SameProcess(pid, ticks) {
			continue // its supervisor lives (or cannot be judged): not ours to end
		}
		ev := sweepEvent{Action: "untracked", ID: g.TaskID, RunID: run, DryRun: o.dryRun,
			Detail: fmt.Sprintf("%d process(es) of run %s (task %s) outlived supervisor %d, which never recorded them", len(g.Procs), run, g.TaskID, pid),
			tree:   &supervise.Tree{Tag: launch.RunTag(run)}}
		if !o.dryRun {
			endEvent(&ev, o.grace)
		}
		evs = append(evs, ev)
	}
	return evs
}

func printSweep(stdout, stderr io.Writer, rep sweepReport, asJSON bool) {
	if asJSON {
		_ = writeJSON(stdout, rep)
		return
	}
	for _, ev := range rep.Actions {
		var b strings.Builder
		who := ev.ID
		if who == "" {
			who = "run " + ev.RunID
		}
		verb := "ended"
		if ev.DryRun {
			verb = "would end"
		}
		fmt.Fprintf(&b, "watchdog: sweep: %s: %s", who, ev.Detail)
		switch {
		case ev.DryRun && ev.tree != nil:
			live, _, _ := ev.tree.Members()
			fmt.Fprintf(&b, "; %s %d process(es)", verb, len(live))
		case len(ev.Signalled) > 0:
			fmt.Fprintf(&b, "; %s %d process(es)", verb, len(ev.Signalled))
			if len(ev.Killed) > 0 {
				fmt.Fprintf(&b, " (%d needed KILL)", len(ev.Killed))
			}
		}
		if ev.Status != "" {
			if ev.DryRun {
				fmt.Fprintf(&b, "; would mark %s (%s)", ev.Status, ev.Reason)
			} else {
				fmt.Fprintf(&b, "; marked %s (%s)", ev.Status, ev.Reason)
			}
		}
		fmt.Fprintln(stdout, b.String())
		for _, z := range ev.Zombies {
			fmt.Fprintf(stdout, "watchdog: sweep: %s: %s\n", who, z)
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "watchdog: sweep: warning: %s\n", w)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(stderr, "watchdog: sweep: %s\n", e)
	}
}

// processAlive reports whether any live process has this pid (a writer's temp
// file is kept while it might still be renamed).
func processAlive(pid int) bool {
	p, err := supervise.ReadProc(pid)
	return err == nil && !p.Zombie()
}
