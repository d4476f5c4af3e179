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

// SupervisorOf is the task's recorded supervisor; false for entries
// without one (the earlier tool's).
func SupervisorOf(t *registry.Task) (SupervisorID, bool) {
	s := t.Supervisor
	if s == nil {
		return SupervisorID{}, false
	}
	return SupervisorID{PID: s.PID, Ticks: s.StartTicks, PIDNS: s.PIDNS, Host: s.Host, BootID: s.BootID,
		Keep: t.KeepDescendants}, true
}

// SupervisorLiveness judges the task's recorded supervisor from here.
// Entries without a supervisor have none alive.
func SupervisorLiveness(t *registry.Task) Liveness {
	s, ok := SupervisorOf(t)
	if !ok {
		return Gone
	}
	return s.Liveness()
}

// SupervisorAlive reports whether the task's recorded supervisor is still
// the same live process, seen from here.
func SupervisorAlive(t *registry.Task) bool { return SupervisorLiveness(t) == Alive }

// RecordedElsewhere reports whether the task's pids mean nothing here: it was
// recorded on another host or in another PID namespace.
func RecordedElsewhere(t *registry.Task) bool { return SupervisorLiveness(t) == Elsewhere }

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
	if RecordedElsewhere(t) {
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
//
// A run that keeps what its command leaves behind has only the command
// and the processes still below it: whatever left the command (reparented
// away, in its group or not) was left behind, and is kept.
func TaskTree(t *registry.Task) *Tree {
	tr := &Tree{}
	n := t.Native
	if n == nil {
		return tr
	}
	p, ok := commandIdentity(t)
	if ok {
		tr.Leader, tr.LeaderTicks = n.PID, p.StartTicks
		tr.NotBefore = p.StartTicks
	}
	if t.KeepDescendants {
		return tr
	}
	if ok {
		tr.PGID = n.PGID
		tr.GroupTrusted = n.PGID == n.PID // a live leader keeps its group id from being reused
	}
	if n.RunTag != "" && sameBoot(n.BootID) && !RecordedElsewhere(t) {
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
