package launch

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
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
	acted := map[string]bool{} // keys of the runs the registries' and the tag's sweeps took care of
	for _, ev := range rep.Actions {
		if ev.RunID != "" && ev.Error == "" {
			acted[supervise.RunKey(ev.RunID)] = true
		}
	}
	// A v1 cgroup (limits on a hybrid machine) whose v2 cgroup is gone
	// was held by a process when its task ended; once empty it goes.
	for _, p := range supervise.OrphanV1Cgroups() {
		if !o.DryRun && emptyFor(p, time.Minute) {
			_ = syscall.Rmdir(p) // fails while a process is still in it
		}
	}
	var evs []SweepEvent
	for _, p := range paths {
		key, sup, _ := supervise.ParseCgroupName(filepath.Base(p))
		cg := supervise.OpenCgroup(p)
		live := sup.Liveness()
		if !cg.Populated() {
			// Empty: nothing can enter it again but the command created
			// into it, just after it is made. One empty for a minute whose
			// supervisor is not alive here is a leftover (a supervisor that
			// died, or one of a PID namespace that is gone). A live
			// supervisor's may still be waiting for the registry's lock.
			if !o.DryRun && live != supervise.Alive && emptyFor(p, time.Minute) {
				_ = cg.Remove()
			}
			continue
		}
		if acted[key] || live != supervise.Gone {
			continue // done above; alive, or not ours to judge
		}
		if !c.complete || c.knowsKey(key) {
			continue // recorded: for its registry's sweep
		}
		ev := SweepEvent{Action: "cgroup", DryRun: o.DryRun,
			Detail: fmt.Sprintf("processes outlived supervisor %d in cgroup %s, and no registry records its run", sup.PID, p),
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
