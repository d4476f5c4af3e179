package supervise

import (
	"os"
	"strings"
	"time"
)

// psLstart is the `ps -o lstart` layout of the earlier tool's start_time.
const psLstart = "Mon Jan _2 15:04:05 2006"

// FormatLstart renders start ticks as `ps -o lstart` does (local time).
func FormatLstart(ticks uint64) string {
	return StartWallTime(ticks).Local().Format(psLstart)
}

// Recorded is a task's processes as a record describes them, judged by
// someone who is not its supervisor (sweep, kill, list, exec's id check).
// The caller fills it from whatever record it keeps; this package does not
// know the registry.
type Recorded struct {
	Supervisor *SupervisorID // nil: none recorded (the earlier tool's entries)
	PID, PGID  int           // the command, and its group
	StartTicks uint64        // the command's precise start; 0 if unknown
	Lstart     string        // the earlier tool's `ps` start time, used when StartTicks is 0
	BootID     string        // the boot the pids belong to; "" if unknown
	RunTag     string        // WATCHDOG_RUN_ID=… of the run
	Keep       bool          // the run keeps what its command leaves behind
	Cgroup     string        // the task's cgroup, if its containment is one
}

// SupervisorLiveness judges the recorded supervisor from here. A task
// without one has none alive.
func (r Recorded) SupervisorLiveness() Liveness {
	if r.Supervisor == nil {
		return Gone
	}
	return r.Supervisor.Liveness()
}

// Elsewhere reports whether the task's pids mean nothing here: it was
// recorded on another host or in another PID namespace.
func (r Recorded) Elsewhere() bool { return r.SupervisorLiveness() == Elsewhere }

// CommandAlive reports whether the recorded command process is still the
// same live process: by precise start ticks where recorded, otherwise by
// the earlier tool's one-second `ps` start time.
func (r Recorded) CommandAlive() bool {
	_, ok := r.command()
	return ok
}

// command returns the command's live process, if the recorded one is still
// the one running under that pid.
func (r Recorded) command() (ProcStat, bool) {
	if r.PID <= 1 || !sameBoot(r.BootID) || r.Elsewhere() {
		return ProcStat{}, false
	}
	p, err := ReadProc(r.PID)
	if err != nil || p.Zombie() {
		return ProcStat{}, false
	}
	if r.StartTicks != 0 {
		return p, p.StartTicks == r.StartTicks
	}
	return p, lstartMatches(r.Lstart, p.StartTicks)
}

// Tree is the task's tree as seen from outside its supervisor: the
// recorded command if it is still the same process, its group while that
// leader is confirmed, and every process carrying the run's tag. The
// earlier tool's TASK_ID tag is not unique to a run, so it is never used to
// find processes.
//
// A run that keeps what its command leaves behind has only the command and
// the processes still below it: whatever left the command (reparented
// away, in its group or not) was left behind, and is kept.
func (r Recorded) Tree() *Tree {
	tr := &Tree{}
	p, ok := r.command()
	if ok {
		tr.Leader, tr.LeaderTicks = r.PID, p.StartTicks
		tr.NotBefore = p.StartTicks
	}
	if r.Keep {
		return tr
	}
	if ok {
		tr.PGID = r.PGID
		tr.GroupTrusted = r.PGID == r.PID // a live leader keeps its group id from being reused
	}
	if validRunTag(r.RunTag) && sameBoot(r.BootID) && !r.Elsewhere() {
		// A registry is a file anyone's repository may bring along: its
		// tag finds only this user's processes, and only a tag of the
		// watchdog's own form (not VICTIM=1, which any process may carry).
		tr.Tag, tr.OwnOnly = r.RunTag, true
		tr.Cgroup = r.cgroup()
	}
	return tr
}

// cgroup is the task's recorded cgroup if it is trusted (TaskCgroup): then
// it is the tree exactly, whatever its processes did with their
// environment, session or parents.
func (r Recorded) cgroup() *Cgroup {
	_, runID, ok := strings.Cut(r.RunTag, "=")
	if r.Cgroup == "" || r.Supervisor == nil || !ok {
		return nil
	}
	return TaskCgroup(r.Cgroup, runID, *r.Supervisor)
}

// validRunTag: EnvRunID=ID with an id of the form run ids have (letters,
// digits and dashes, 8 to 64 of them).
func validRunTag(tag string) bool {
	id, ok := strings.CutPrefix(tag, EnvRunID+"=")
	if !ok || len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// sameBoot reports whether a recorded boot id is this boot's (or unknown).
func sameBoot(recorded string) bool {
	return recorded == "" || BootID() == "" || recorded == BootID()
}

func sameHost(h string) bool {
	if h == "" {
		return true
	}
	me, err := os.Hostname()
	return err != nil || me == h
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
