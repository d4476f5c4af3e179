package launch

import (
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
}

var _ Runner = (*native)(nil)

func newNative(o *Options, runID string, m Mode) *native {
	return &native{o: o, m: m, runID: runID, tag: supervise.RunTag(runID)}
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
	var err error
	if n.cgroup, err = n.newCgroup(keep); err != nil {
		return err
	}
	var verbose io.Writer
	if n.o.Verbose {
		verbose = n.m.Stderr
	}
	n.sup = supervise.New(supervise.Config{
		Spec: supervise.Spec{
			Path: path,
			Argv: n.o.Argv,
			Env:  supervise.Env(os.Environ(), n.o.ID, n.runID, supervise.SelfTag(keep)),
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
		OnIdle: supervise.TrimResident,
		BeforeGroupKill: func(res supervise.Result) {
			if n.record != nil {
				n.record(res)
			}
		},
		Cgroup:         n.cgroup,
		CgroupRequired: n.o.Limits.Any(),
	})
	return nil
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
	if !st.Deadline.IsZero() {
		t.Deadline = registry.FormatTime(st.Deadline)
	}
}

func (n *native) Wait(record func(supervise.Result)) (supervise.Result, error) {
	n.record = record
	return n.sup.Wait(), nil
}

// Abort kills the started tree without grace.
func (n *native) Abort() {
	if n.sup != nil {
		n.sup.Abort()
	}
	if n.cgroup != nil {
		_ = n.cgroup.RemoveWhenEmpty(time.Second, nil) // made by Prepare, perhaps never used
	}
}
