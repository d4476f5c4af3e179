package supervise

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Self is the watchdog's own pid and start ticks.
var Self = sync.OnceValues(func() (int, uint64) {
	pid := os.Getpid()
	ticks, _ := StartTicks(pid)
	return pid, ticks
})

// EndReport says what ending a tree did.
type EndReport struct {
	Signalled []int      // pids that got the first signal
	Killed    []int      // pids that needed KILL
	Stuck     []ProcStat // alive even after KILL (uninterruptible sleep)
	Zombies   []ProcStat // exited, waiting for a parent that is not the watchdog to reap them
}

// Zombie describes a zombie for a report: it cannot be killed, only reaped
// by its parent.
func Zombie(p ProcStat) string {
	return fmt.Sprintf("pid %d is a zombie: its parent %d must reap it", p.PID, p.PPID)
}

// EndTree ends every process of a tree it does not own: sig to each
// member, up to grace for them to go, then KILL, then up to killWait for
// KILL to take effect. Members are re-read on every poll, so processes
// forked meanwhile are caught too.
func EndTree(t *Tree, sig syscall.Signal, grace time.Duration) (EndReport, error) {
	const killWait = 5 * time.Second
	var rep EndReport
	live, _, err := t.Members()
	if err != nil {
		return rep, err
	}
	if len(live) == 0 {
		_, rep.Zombies, _ = t.Members()
		t.removeCgroup()
		return rep, nil
	}
	for _, p := range live {
		if sendSignal(p.PID, p.StartTicks, sig) == nil {
			rep.Signalled = append(rep.Signalled, p.PID)
		}
		_ = sendSignal(p.PID, p.StartTicks, syscall.SIGCONT)
	}
	killAt := time.Now().Add(grace)
	var giveUp, zombieWait time.Time
	for {
		live, zombies, err := t.Members()
		if err != nil {
			return rep, err
		}
		now := time.Now()
		if len(live) == 0 {
			// A zombie whose parent is a live supervisor is reaped a moment
			// later; report only those that stay. Init's are not waited for.
			if reaping(zombies) && zombieWait.IsZero() {
				zombieWait = now.Add(500 * time.Millisecond)
			}
			if !reaping(zombies) || now.After(zombieWait) {
				rep.Zombies = zombies
				t.removeCgroup()
				return rep, nil
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		switch {
		case giveUp.IsZero() && !now.Before(killAt):
			cgroupKilled := t.Cgroup != nil && t.Cgroup.Kill() == nil // all at once, whatever forked since live was read
			for _, p := range live {
				// Members outside the cgroup (moved out) by their identity.
				if sendSignal(p.PID, p.StartTicks, syscall.SIGKILL) == nil || cgroupKilled {
					rep.Killed = append(rep.Killed, p.PID)
				}
			}
			giveUp = now.Add(killWait)
		case !giveUp.IsZero() && !now.Before(giveUp):
			rep.Stuck, rep.Zombies = live, zombies
			return rep, nil
		}
		time.Sleep(10 * time.Millisecond) // polling /proc: the processes are not our children
	}
}

// removeCgroup removes the tree's cgroup once nothing is in it: its
// supervisor, if it lives, would have, and if it is dead nobody else will.
func (t *Tree) removeCgroup() {
	if t.Cgroup != nil {
		_ = t.Cgroup.RemoveWhenEmpty(time.Second, nil)
	}
}

// Tagged is a group of processes carrying one run's tag.
type Tagged struct {
	RunID  string
	TaskID string
	// Supervisor is read from WATCHDOG_SUPERVISOR. A tag of an earlier
	// version names no PID namespace: the processes' own is taken, the
	// one their supervisor passed on to them.
	Supervisor SupervisorID
	Procs      []ProcStat
}

// TaggedProcesses finds every live process of this user that carries a
// watchdog run tag and a readable supervisor tag, grouped by run id. Only
// this user's, for root too: another user's processes are for their own
// sweep, which can read their registries.
func TaggedProcesses(runEnv, taskEnv, supEnv string) (map[string]*Tagged, error) {
	all, err := Snapshot()
	if err != nil {
		return nil, err
	}
	guard.init()
	euid := os.Geteuid()
	out := make(map[string]*Tagged)
	for _, p := range all {
		if p.PID <= 1 || p.PID == guard.self || guard.ancestors[p.PID] || p.Zombie() || p.UID != euid {
			continue
		}
		env := EnvValues(p.PID, runEnv, taskEnv, supEnv)
		run := env[runEnv]
		if run == "" {
			continue
		}
		sup, ok := ParseSupervisorTag(env[supEnv])
		if !ok {
			continue // no supervisor to judge: never ours to end
		}
		if sup.PIDNS == 0 {
			if sup.PIDNS, err = ProcPIDNamespace(p.PID); err != nil {
				continue
			}
		}
		g := out[run]
		if g == nil {
			g = &Tagged{RunID: run, TaskID: env[taskEnv], Supervisor: sup}
			out[run] = g
		}
		g.Procs = append(g.Procs, p)
	}
	return out, nil
}

// reaping reports whether some zombie has a parent other than init, which
// is likely to reap it soon.
func reaping(zombies []ProcStat) bool {
	for _, z := range zombies {
		if z.PPID > 1 {
			return true
		}
	}
	return false
}
