package supervise

import (
	"os"
	"time"

	"github.com/watchdog-run/watchdog/registry"
)

// psLstart is the `ps -o lstart` layout of the earlier tool's start_time.
const psLstart = "Mon Jan _2 15:04:05 2006"

// FormatLstart renders start ticks as `ps -o lstart` does (local time).
func FormatLstart(ticks uint64) string {
	return StartWallTime(ticks).Local().Format(psLstart)
}

// sameBoot reports whether a recorded boot id is this boot's (or unknown).
func sameBoot(recorded string) bool {
	return recorded == "" || BootID() == "" || recorded == BootID()
}

// SupervisorAlive reports whether the task's recorded supervisor is still
// the same live process on this host. Entries without a supervisor (the
// earlier tool's) have none alive.
func SupervisorAlive(t *registry.Task) bool {
	s := t.Supervisor
	if s == nil || s.PID <= 1 || s.StartTicks == 0 || !sameBoot(s.BootID) || !sameHost(s.Host) {
		return false
	}
	return SameProcess(s.PID, s.StartTicks)
}

func sameHost(h string) bool {
	if h == "" {
		return true
	}
	me, err := os.Hostname()
	return err != nil || me == h
}

// CommandAlive reports whether the task's recorded command process is still
// the same live process: by precise start ticks where recorded, otherwise
// by the earlier tool's one-second `ps` start time.
func CommandAlive(t *registry.Task) bool {
	_, ok := commandIdentity(t)
	return ok
}

// commandIdentity returns the command's live pid and start ticks, if the
// recorded process is still the one running under that pid.
func commandIdentity(t *registry.Task) (ProcStat, bool) {
	n := t.Native
	if n == nil || n.PID <= 1 || !sameBoot(n.BootID) {
		return ProcStat{}, false
	}
	if t.Supervisor != nil && !sameHost(t.Supervisor.Host) {
		return ProcStat{}, false
	}
	p, err := ReadProc(n.PID)
	if err != nil || p.Zombie() {
		return ProcStat{}, false
	}
	if n.StartTicks != 0 {
		return p, p.StartTicks == n.StartTicks
	}
	return p, lstartMatches(n.StartTime, p.StartTicks)
}

// lstartMatches compares an earlier-tool start time (local time, whole
// seconds) with start ticks, allowing the second of rounding either way.
// An empty or unreadable start time never matches: without an identity a
// pid is not trusted.
func lstartMatches(lstart string, ticks uint64) bool {
	if lstart == "" {
		return false
	}
	want, err := time.ParseInLocation(psLstart, lstart, time.Local)
	if err != nil {
		// Some writers pad differently; accept the RFC 3339 form too.
		if want, err = time.Parse(time.RFC3339Nano, lstart); err != nil {
			return false
		}
	}
	got := StartWallTime(ticks)
	d := got.Sub(want)
	return d > -2*time.Second && d < 2*time.Second
}

// TaskTree is the tree of a recorded native task as seen by someone who is
// not its supervisor (sweep, kill): the recorded command if it is still the
// same process, its group while that leader is confirmed, and every process
// carrying the run's tag. The earlier tool's TASK_ID tag is not unique to a
// run, so it is never used to find processes.
func TaskTree(t *registry.Task) *Tree {
	tr := &Tree{}
	n := t.Native
	if n == nil {
		return tr
	}
	if p, ok := commandIdentity(t); ok {
		tr.Leader, tr.LeaderTicks = n.PID, p.StartTicks
		tr.PGID = n.PGID
		tr.GroupTrusted = n.PGID == n.PID // a live leader keeps its group id from being reused
		tr.NotBefore = p.StartTicks
	}
	if n.RunTag != "" && sameBoot(n.BootID) {
		tr.Tag = n.RunTag
	}
	return tr
}

// Overdue reports whether a running task is past its deadline plus its
// grace plus slack: its supervisor should have ended it by now.
func Overdue(t *registry.Task, now time.Time, slack time.Duration) bool {
	d := t.DeadlineTime()
	if d.IsZero() {
		return false
	}
	grace := time.Duration(t.KillAfter * float64(time.Second))
	return now.After(d.Add(grace + slack))
}

// SameHost reports whether the task was recorded on this host (or does not
// say).
func SameHost(t *registry.Task) bool {
	return t.Supervisor == nil || sameHost(t.Supervisor.Host)
}
