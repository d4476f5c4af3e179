package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/watchdog-run/watchdog/supervise"
)

// sweepCgroups ends what is left in task cgroups whose supervisor is gone
// (a run no registry recorded, or one whose record could not be read) and
// removes the empty ones. The cgroup's name says whose it is
// (supervise.CgroupName): one of a live supervisor, or of another PID
// namespace's, is never touched. Only this user's cgroups are listed (root:
// the watchdog's directory of the hierarchy; a user: their delegated
// subtree), and a run that keeps what its command leaves never has one.
//
// As for tagged processes: a run any registry of this user records is that
// registry's sweep's business (sweep --all, or a sweep there), and when a
// registry could not be read no populated cgroup is ended.
func sweepCgroups(c *census, o SweepOptions, rep *SweepReport) []SweepEvent {
	paths, err := supervise.TaskCgroups()
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("list task cgroups: %v", err))
		return nil
	}
	acted := map[string]bool{} // runs the registries' and the tag's sweeps took care of
	for _, ev := range rep.Actions {
		if ev.RunID != "" && ev.Error == "" {
			acted[ev.RunID] = true
		}
	}
	var evs []SweepEvent
	for _, p := range paths {
		run, sup, _ := supervise.ParseCgroupName(filepath.Base(p))
		cg := supervise.OpenCgroup(p)
		if !cg.Populated() {
			// Empty: nothing can enter it again but a process created into
			// it, which happens just after it is made. One empty for a
			// minute is a leftover, whoever made it (a supervisor that died,
			// or one of a PID namespace that is gone).
			if !o.DryRun && emptyFor(p, time.Minute) {
				_ = cg.Remove()
			}
			continue
		}
		if acted[run] || sup.Liveness() != supervise.Gone {
			continue // done above; alive, or not ours to judge
		}
		if !c.complete || c.runs[run] || c.knowsNow(run) {
			continue // recorded: for its registry's sweep
		}
		ev := SweepEvent{Action: "cgroup", RunID: run, DryRun: o.DryRun,
			Detail: fmt.Sprintf("processes of run %s outlived supervisor %d in cgroup %s", run, sup.PID, p),
			tree:   &supervise.Tree{Cgroup: cg}}
		if !o.DryRun {
			endEvent(&ev, o.Grace)
		}
		evs = append(evs, ev)
	}
	return evs
}

// emptyFor: the cgroup directory was made more than d ago. Only the
// start of its command creates a process into it, just after it is made;
// later, once empty, it stays empty.
func emptyFor(path string, d time.Duration) bool {
	fi, err := os.Stat(path)
	return err == nil && time.Since(fi.ModTime()) > d
}
