package launch

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// native runs a command as a process tree under a supervise.Supervisor.
type native struct {
	o     *Options
	m     Mode
	runID string
	tag   string // the run tag every process of the tree carries
	sup   *supervise.Supervisor
	// cgroup is the task's own cgroup, made by Prepare; nil: the tree.
	cgroup *supervise.Cgroup
	// record, set by Wait, records the end before the drop-in's final
	// KILL, which reaches the watchdog too.
	record func(supervise.Result)
	// output passes the output through the watchdog (--log,
	// --idle-timeout); nil: the command writes to the caller's streams.
	output *taskOutput
	// match watches the output for --ready-log; nil without it.
	match *logMatch
	// tied is closed when the process the task is tied to exits (--tie).
	tied <-chan struct{}
	// ended is closed when the task has ended.
	ended chan struct{}
}

var _ Runner = (*native)(nil)

func newNative(o *Options, runID string, m Mode) *native {
	return &native{o: o, m: m, runID: runID, tag: supervise.RunTag(runID), ended: make(chan struct{})}
}

// Prepare resolves the command like a shell (unless a PATH shim already
// did) and readies its supervisor.
func (n *native) Prepare() error {
	path := n.o.Path
	if path == "" {
		var err error
		if path, err = supervise.Resolve(n.o.Argv[0]); err != nil {
			return err
		}
	}
	keep := keepDescendants(n.o, n.m)
	if keep && n.o.Output.passesOutput() {
		return notStarted{Failf("run without --keep-descendants", "--log and --idle-timeout pass the output through the watchdog, and a kept process would lose its stdout when the watchdog exits")}
	}
	var err error
	if n.output, err = openOutput(n.o, n.m.Background != nil); err != nil {
		return err
	}
	if n.m.Background != nil && n.output != nil {
		// The background half's own messages go to the task's log.
		n.m.Background.logTo(n.output.pipes.Notes())
	}
	if re := n.o.Ready.Log; re != nil && n.output != nil {
		n.match = newLogMatch(re)
		n.output.pipes.Tap(n.match.tap)
	}
	if t := n.o.Tie; t != nil {
		if n.tied, err = supervise.WatchExit(t.PID, t.Ticks); errors.Is(err, supervise.ErrNotThatProcess) {
			return notStarted{Failf("", "--tie: process %d has already exited", t.PID)}
		} else if err != nil {
			return notStarted{Failf("", "--tie: cannot watch process %d: %v", t.PID, err)}
		}
	}
	if n.cgroup, err = n.newCgroup(keep); err != nil {
		return err // Abort closes the output
	}
	if n.output != nil {
		n.m.Stderr = n.output.stderr(n.m.Stderr)
	}
	var verbose io.Writer
	if n.o.Verbose {
		verbose = n.m.Stderr
	}
	env := os.Environ()
	if n.o.Output.NonInteractive {
		env = withNonInteractive(env)
	}
	cfg := supervise.Config{
		Spec: supervise.Spec{
			Path: path,
			Argv: n.o.Argv,
			Env:  supervise.Env(env, n.o.ID, n.runID, supervise.SelfTag(keep)),
		},
		Timeout:         n.o.Timeout,
		KillAfter:       n.o.KillAfter,
		Signal:          n.o.Signal,
		Foreground:      n.o.Foreground,
		KeepDescendants: keep,
		PreserveStatus:  n.o.Preserve,
		Verbose:         verbose,
		ProgName:        n.m.Prog,
		Tag:             n.tag,
		Fault:           FaultHook,
		Coreutils:       n.m.Coreutils,
		// A supervisor that is still waiting after a second will wait long:
		// give back the pages of code its start-up used. Quick commands
		// never pay for this.
		OnSettled: supervise.TrimResident,
		BeforeGroupKill: func(res supervise.Result) {
			if n.record != nil {
				n.record(res)
			}
		},
		Cgroup:         n.cgroup,
		CgroupRequired: n.o.Limits.Any(),
		NullStdin:      n.o.Output.NonInteractive,
		Notices:        n.m.Stderr,
	}
	if n.output != nil {
		cfg.Output = n.output.pipes
		cfg.IdleTimeout = n.o.Output.Idle
	}
	n.sup = supervise.New(cfg)
	return nil
}

// closeOutput closes the log and the copies of the caller's streams; a
// log that could not be completed is said to be so.
func (n *native) closeOutput() {
	if n.output == nil {
		return
	}
	err := n.output.close()
	if w := n.output.callerStderr; w != nil {
		n.m.Stderr = w // its copy is closed
	}
	if err != nil {
		n.m.Warn("the log %s may be incomplete: %v", supervise.Escape(n.o.Output.Log), err)
	}
	n.output = nil
}

// newCgroup makes the task's own cgroup where one can be made (root, or a
// delegated cgroup v2 subtree) and the run contains its whole tree: not a
// run that keeps what its command leaves (--keep-descendants, the drop-in)
// nor a foreground one. Where none can be made the containment is the
// tree, as everywhere before cgroups (the record says which).
//
// Limits need the cgroup: without one, or when a limit cannot be set in it,
// the run stops before anything starts (125), never silently unlimited.
func (n *native) newCgroup(keep bool) (*supervise.Cgroup, error) {
	limits := n.o.Limits
	if keep || n.o.Foreground || n.m.Coreutils {
		if limits.Any() {
			return nil, notStarted{Failf("run without --keep-descendants and --foreground", "--memory, --cpus and --pids need the task's own cgroup, which a run that keeps what its command leaves or runs in the foreground does not get")}
		}
		return nil, nil
	}
	cg, err := supervise.NewCgroup(supervise.CgroupName(n.runID, supervise.SelfID(false)))
	if err != nil {
		if limits.Any() {
			return nil, notStarted{Failf("run as root, or in a delegated cgroup: systemd-run --user --scope -p Delegate=yes watchdog exec ...",
				"--memory, --cpus and --pids need the task's own cgroup, and none can be made here: %v", err)}
		}
		return nil, nil // the tree's containment
	}
	if limits.Any() {
		if err := cg.SetLimits(limits); err != nil {
			_ = cg.Remove()
			return nil, notStarted{Failf("", "cannot apply %v", err)}
		}
	}
	return cg, nil
}

// Start forks the command in its new session, with its tags.
func (n *native) Start() error {
	_, err := n.sup.Start()
	if err != nil && n.cgroup != nil {
		_ = n.cgroup.RemoveWhenEmpty(time.Second, nil) // nothing runs in it
	}
	return err
}

// Record adds the started command: pid, group, precise start, tags and
// the deadline its supervisor keeps.
func (n *native) Record(t *registry.Task) {
	if n.sup == nil {
		return
	}
	st := n.sup.Started()
	if st.PID == 0 {
		return // not started
	}
	t.Native = &registry.Native{
		PID:        st.PID,
		PGID:       st.PGID,
		StartTime:  supervise.FormatLstart(st.StartTicks),
		EnvTag:     supervise.EnvTaskID + "=" + n.o.ID,
		StartTicks: st.StartTicks,
		BootID:     supervise.BootID(),
		RunTag:     n.tag,
		Cgroup:     st.Cgroup,
	}
	t.Native.ResourceLimits = n.o.LimitsGiven
	t.Log = n.o.Output.Log
	if tie := n.o.Tie; tie != nil {
		t.TiedTo = &registry.Proc{PID: tie.PID, StartTicks: tie.Ticks}
	}
	if n.o.Output.Idle > 0 {
		t.IdleTimeout = n.o.Output.Idle.Seconds()
	}
	if !st.Deadline.IsZero() {
		t.Deadline = registry.FormatTime(st.Deadline)
	}
}

func (n *native) Wait(record func(supervise.Result)) (supervise.Result, error) {
	n.record = record
	if n.tied != nil {
		go func() {
			select {
			case <-n.tied:
				n.sup.Stop(registry.ReasonCallerExited)
			case <-n.ended:
			}
		}()
	}
	res := n.sup.Wait()
	close(n.ended)
	if res.LogErr != nil {
		n.m.Warn("the log %s is incomplete: %v", supervise.Escape(n.o.Output.Log), res.LogErr)
	}
	n.closeOutput()
	return res, nil
}

// Members, Stop and Ended let a detached task's readiness be watched.
func (n *native) Members() []int         { return n.sup.Members() }
func (n *native) Stop(reason string)     { n.sup.Stop(reason) }
func (n *native) Ended() <-chan struct{} { return n.ended }
func (n *native) logMatch() *logMatch    { return n.match }
func (n *native) started() (int, string) { return n.sup.Started().PID, n.o.Output.Log }

// Abort kills the started tree without grace.
func (n *native) Abort() {
	if n.sup != nil {
		n.sup.Abort()
	}
	if n.cgroup != nil {
		_ = n.cgroup.RemoveWhenEmpty(time.Second, nil) // made by Prepare, perhaps never used
	}
	if n.output != nil && (n.sup == nil || n.sup.Started().PID == 0) {
		n.output.pipes.Abandon() // never started: nothing reads or writes them
	}
	n.closeOutput()
}
