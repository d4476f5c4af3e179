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

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

const sweepDescription = `Reaps what dead or stuck supervisors left behind:

  - running tasks whose supervisor is gone: their whole tree is ended (TERM,
    --grace, KILL) and they are marked failed (orphaned);
  - running tasks long past their deadline (deadline + kill-after + 30s)
    though the supervisor lives: their tree is ended, marked failed (timeout);
  - this user's processes carrying a run tag whose supervisor is gone and
    that no registry records (it died between fork and write): ended;
  - running entries whose processes are all gone: marked failed (lost).

Never signalled: a pid whose start time does not match the record (another
process now); what a run kept on purpose (--keep-descendants, the timeout
drop-in: of an orphaned kept run only the command is ended); another user's
process found by its run tag alone; a task whose supervisor is on another
host or in another PID namespace (a container); pid 1, the watchdog and its
ancestors. Entries of the earlier Rust tool (no supervisor) are never
signalled: if their process is gone they are marked lost.

Processes are found by process group, descent and run tag: once a
supervisor is dead, one that cleared its environment and left its session
cannot be seen (the report says so). --dry-run reads and writes nothing
beyond what it reports; a registry that does not parse is moved aside only
when sweep writes it, and that is reported.

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
				return launch.Failf("", "--every: invalid duration %q (use e.g. 30s or 1m)", c.String("every"))
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
			return launch.Failf("", "--interval must be a positive number of seconds, not %d", n)
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
	// Scope says how the processes were found, so nobody reads "ended"
	// as "ended everything": see the README on what a run tag cannot see.
	Scope string `json:"scope,omitempty"`
	Error string `json:"error,omitempty"`

	task     *registry.Task
	tree     *supervise.Tree
	recorded bool // the locked update wrote Status and Reason
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
		return launch.Fail(fmt.Errorf("--grace: %w", err), "")
	}
	o := sweepOptions{dryRun: c.Bool("dry-run"), all: c.Bool("all"), grace: grace}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for {
		rep := sweepOnce(registryPath(c), o)
		printSweep(c.App.Writer, c.App.ErrWriter, rep, c.Bool("json"))
		if every == 0 {
			if len(rep.Errors) > 0 {
				return launch.Exit(1)
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

	c := takeCensus(append(append([]string{}, paths...), known...))
	c.complete = c.complete && indexErr == nil
	containers := sweepContainers(o, &rep, c.needDocker)
	for _, p := range paths {
		evs, err := sweepRegistry(p, o, containers, &rep)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
		rep.Actions = append(rep.Actions, evs...)
	}
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

func samePath(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// census is what every registry this user has used knows, read without
// writing anything: a corrupt registry is left as it is (and makes the
// census incomplete), whatever the sweep was asked to do.
type census struct {
	paths      []string
	runs       map[string]bool // run ids in a registry or its history
	complete   bool            // every registry could be read
	needDocker bool            // some registry holds a running docker task
}

func takeCensus(paths []string) *census {
	c := &census{runs: map[string]bool{}, complete: true}
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		c.paths = append(c.paths, p)
		r, err := readRegistry(p)
		if err != nil {
			c.complete = false
			continue
		}
		for _, id := range r.IDs() {
			st, run, ok := r.Peek(id)
			if ok && run != "" {
				c.runs[run] = true
			}
			if ok && st == registry.StatusRunning && !c.needDocker {
				t, err := r.Get(id)
				c.needDocker = err == nil && t != nil && t.Mode == registry.ModeDocker
			}
		}
	}
	c.needDocker = c.needDocker || os.Getenv("DOCKER_HOST") != ""
	return c
}

// knowsNow reads the registries again and reports whether any of them
// records the run now. Called once a run's supervisor is seen dead, it is
// the final word: a dead supervisor writes nothing more.
func (c *census) knowsNow(run string) bool {
	for _, p := range c.paths {
		r, err := readRegistry(p)
		if err != nil {
			return true // cannot tell: the run may be there
		}
		for _, id := range r.IDs() {
			if _, got, ok := r.Peek(id); ok && got == run {
				return true
			}
		}
	}
	return false
}

// readRegistry reads a registry and its history without writing anything.
func readRegistry(path string) (*registry.Registry, error) {
	s, err := registry.OpenForReading(path)
	if err != nil {
		return nil, err
	}
	return s.ReadWithHistory()
}

// sweepRegistry plans and carries out the sweep of one registry: decisions
// from a fresh read, each re-checked against the registry just before its
// tree is signalled, tree kills outside the lock, then one locked update
// that records only what is still as it was seen. Only what that update
// recorded is reported as recorded.
func sweepRegistry(path string, o sweepOptions, containers *containerSweep, rep *sweepReport) ([]sweepEvent, error) {
	store, err := registry.OpenForReading(path)
	if err != nil {
		return nil, err
	}
	store.Warn = func(msg string) { rep.Warnings = append(rep.Warnings, msg) }
	var r *registry.Registry
	if o.dryRun {
		r, err = store.Read()
	} else {
		r, err = store.Load() // a registry that does not parse is moved aside, and that is reported
	}
	if err != nil {
		return nil, err
	}
	if !o.dryRun {
		for _, name := range store.RemoveStaleTemps(processAlive) {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("removed %s, left by a writer that died mid-write", name))
		}
	}
	evs := planRegistry(path, r, time.Now(), containers)
	if len(evs) == 0 || o.dryRun {
		for i := range evs {
			evs[i].DryRun = o.dryRun
		}
		return evs, nil
	}
	for i := range evs {
		ev := &evs[i]
		if ev.tree != nil && stillPlanned(store, ev) {
			endEvent(ev, o.grace)
		}
	}
	if launch.FaultHook != nil {
		launch.FaultHook("sweep-before-record") // moves into launch with the sweep engine
	}
	err = store.Update(func(r *registry.Registry) error {
		at := registry.FormatTime(time.Now())
		for i := range evs {
			ev := &evs[i]
			t, err := r.Get(ev.ID)
			if err != nil || t == nil || t.Status != registry.StatusRunning || t.RunID != ev.task.RunID {
				continue // finished or replaced meanwhile: its owner decided
			}
			t.Status, t.Reason = ev.Status, ev.Reason
			t.CompletedAt, t.Swept = at, at
			r.Put(ev.ID, t)
			ev.recorded = true
		}
		return nil
	})
	return reported(evs), err
}

// planRegistry decides, from one read of a registry, what sweep does with
// each of its running tasks.
func planRegistry(path string, r *registry.Registry, now time.Time, containers *containerSweep) []sweepEvent {
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
	return evs
}

// stillPlanned re-reads the task just before its tree is signalled: it must
// still be the same running run, and an orphan's supervisor still dead. A
// task its supervisor, `watchdog kill` or another sweep finished meanwhile
// is left alone.
func stillPlanned(store *registry.Store, ev *sweepEvent) bool {
	r, err := store.Read()
	if err != nil {
		return false
	}
	t, err := r.Get(ev.ID)
	if err != nil || t == nil || t.Status != registry.StatusRunning || t.RunID != ev.task.RunID {
		return false
	}
	return ev.Action != "orphaned" || launch.SupervisorLiveness(t) == supervise.Gone
}

// reported keeps what sweep did: events whose record it wrote, or whose
// processes it signalled. An event whose record someone else closed first
// keeps its signals but not the claim to have marked it.
func reported(evs []sweepEvent) []sweepEvent {
	out := evs[:0]
	for _, ev := range evs {
		if !ev.recorded {
			ev.Status, ev.Reason = "", ""
			if len(ev.Signalled) == 0 && len(ev.Killed) == 0 && ev.Error == "" {
				continue
			}
			ev.Detail += "; its record was closed by someone else meanwhile"
		}
		out = append(out, ev)
	}
	return out
}

// planTask decides what sweep does with one running task.
func planTask(t *registry.Task, now time.Time, containers *containerSweep) (sweepEvent, bool) {
	if t.Mode == registry.ModeDocker {
		return planContainerTask(t, containers)
	}
	if t.Native == nil {
		return sweepEvent{}, false // registered without a process: nothing to watch
	}
	if t.Supervisor == nil {
		// The earlier tool's entry: it has no supervisor to die. Its process
		// is left alone while it is the recorded one; the record is closed
		// when it is gone or the pid now belongs to someone else.
		if launch.CommandAlive(t) {
			return sweepEvent{}, false
		}
		return sweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Detail: fmt.Sprintf("pid %d is gone or is another process now; record closed, nothing signalled", pidOf(t))}, true
	}
	switch launch.SupervisorLiveness(t) {
	case supervise.Elsewhere:
		return sweepEvent{}, false // another host's or PID namespace's: its pids mean nothing here
	case supervise.Alive:
		if !t.Overdue(now, 30*time.Second) {
			return sweepEvent{}, false // healthy
		}
		return sweepEvent{Action: "overdue", Status: registry.StatusFailed, Reason: registry.ReasonTimeout, tree: launch.TaskTree(t),
			Detail: fmt.Sprintf("past its deadline %s though supervisor %d lives", t.Deadline, t.Supervisor.PID)}, true
	}
	tree := launch.TaskTree(t)
	kept := ""
	if t.KeepDescendants {
		kept = "; what its command left behind is kept (--keep-descendants or the timeout drop-in)"
	}
	live, _, err := tree.Members()
	if err == nil && len(live) == 0 {
		return sweepEvent{Action: "lost", Status: registry.StatusFailed, Reason: registry.ReasonLost,
			Detail: fmt.Sprintf("supervisor %d and all its processes are gone; record closed%s", t.Supervisor.PID, kept)}, true
	}
	return sweepEvent{Action: "orphaned", Status: registry.StatusFailed, Reason: registry.ReasonOrphaned, tree: tree,
		Detail: fmt.Sprintf("supervisor %d is gone%s", t.Supervisor.PID, kept)}, true
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
	ev.Scope = "tree"
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

// sweepUntracked ends this user's tagged processes whose supervisor is
// gone (judged in its own PID namespace only) and whose run no registry
// records: the supervisor died between fork and write. Runs that keep
// what they leave behind are never ended.
func sweepUntracked(c *census, o sweepOptions, rep *sweepReport) []sweepEvent {
	tagged, err := supervise.TaggedProcesses(supervise.EnvRunID, supervise.EnvTaskID, supervise.EnvSupervisor)
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("scan processes: %v", err))
		return nil
	}
	var evs []sweepEvent
	for run, g := range tagged {
		if c.runs[run] || g.Supervisor.Keep || g.Supervisor.Liveness() != supervise.Gone {
			continue // recorded, kept on purpose, alive, or not ours to judge
		}
		if c.knowsNow(run) {
			continue // recorded after the census: the registry's business
		}
		ev := sweepEvent{Action: "untracked", ID: g.TaskID, RunID: run, DryRun: o.dryRun,
			Detail: fmt.Sprintf("%d process(es) of run %s (task %s) outlived supervisor %d, and no registry records the run", len(g.Procs), run, g.TaskID, g.Supervisor.PID),
			tree:   &supervise.Tree{Tag: supervise.RunTag(run), OwnOnly: true}}
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
	if endedSome(rep) {
		fmt.Fprintln(stdout, "watchdog: sweep: processes were found by process group and run tag; one that cleared its environment and left its session cannot be seen (README: what containment covers)")
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "watchdog: sweep: warning: %s\n", w)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(stderr, "watchdog: sweep: %s\n", e)
	}
}

// endedSome reports whether the sweep signalled a process tree.
func endedSome(rep sweepReport) bool {
	for _, ev := range rep.Actions {
		if ev.Scope != "" && len(ev.Signalled) > 0 && !ev.DryRun {
			return true
		}
	}
	return false
}

// processAlive reports whether any live process has this pid (a writer's temp
// file is kept while it might still be renamed).
func processAlive(pid int) bool {
	p, err := supervise.ReadProc(pid)
	return err == nil && !p.Zombie()
}
