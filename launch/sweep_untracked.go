package launch

import (
	"fmt"
	"path/filepath"

	"github.com/watchdog-run/watchdog/supervise"
)

// sweepUntracked ends this user's tagged processes whose supervisor died
// between fork and write: no registry records their run. Only this user's
// (supervise.TaggedProcesses): another user's are for their own sweep,
// which can read their registries.
func sweepUntracked(c *census, o SweepOptions, rep *SweepReport) []SweepEvent {
	tagged, err := supervise.TaggedProcesses(supervise.EnvRunID, supervise.EnvTaskID, supervise.EnvSupervisor)
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("scan processes: %v", err))
		return nil
	}
	cgroups := runCgroups()
	var evs []SweepEvent
	for run, g := range tagged {
		if !c.untracked(run, g) {
			continue
		}
		ev := SweepEvent{Action: "untracked", ID: g.TaskID, RunID: run, DryRun: o.DryRun,
			Detail: fmt.Sprintf("%d process(es) of run %s (task %s) outlived supervisor %d, and no registry records the run", len(g.Procs), run, g.TaskID, g.Supervisor.PID),
			tree:   &supervise.Tree{Tag: supervise.RunTag(run), OwnOnly: true}}
		if cg := cgroups[supervise.RunKey(run)]; cg != nil && sameSupervisor(cg, g.Supervisor) {
			ev.tree = &supervise.Tree{Cgroup: cg} // the run's cgroup holds every process of it
		}
		if !o.DryRun {
			endEvent(&ev, o.Grace)
		}
		evs = append(evs, ev)
	}
	return evs
}

// untracked reports whether a run's tagged processes are an untracked
// orphan's: no registry records the run, it keeps nothing on purpose, and
// its supervisor is known dead (judged in its own PID namespace only).
func (c *census) untracked(run string, g *supervise.Tagged) bool {
	if c.runs[run] || g.Supervisor.Keep || g.Supervisor.Liveness() != supervise.Gone {
		return false // recorded, kept on purpose, alive, or not ours to judge
	}
	return !c.knowsNow(run) // recorded after the census: the registry's business
}

// runCgroups maps run keys (supervise.RunKey) to this user's task cgroups.
func runCgroups() map[string]*supervise.Cgroup {
	paths, _ := supervise.TaskCgroups()
	out := make(map[string]*supervise.Cgroup, len(paths))
	for _, p := range paths {
		if key, _, ok := supervise.ParseCgroupName(filepath.Base(p)); ok {
			out[key] = supervise.OpenCgroup(p)
		}
	}
	return out
}

// sameSupervisor: the cgroup was made by the supervisor the processes name.
func sameSupervisor(cg *supervise.Cgroup, sup supervise.SupervisorID) bool {
	_, named, ok := supervise.ParseCgroupName(filepath.Base(cg.Path))
	return ok && named.PID == sup.PID && named.Ticks == sup.Ticks && named.PIDNS == sup.PIDNS
}
