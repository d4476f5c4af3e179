package launch

import (
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// Recorded is what a registry entry says about the task's processes, in
// the terms package supervise judges them by.
func Recorded(t *registry.Task) supervise.Recorded {
	r := supervise.Recorded{Keep: t.KeepDescendants}
	if s, ok := SupervisorOf(t); ok {
		r.Supervisor = &s
	}
	if n := t.Native; n != nil {
		r.PID, r.PGID = n.PID, n.PGID
		r.StartTicks, r.Lstart = n.StartTicks, n.StartTime
		r.BootID = n.BootID
		if t.RunID != "" && n.RunTag == supervise.RunTag(t.RunID) {
			r.RunTag = n.RunTag // the tag of this record's own run, nothing else
		}
		r.Cgroup = n.Cgroup
	}
	return r
}

// SupervisorOf is the task's recorded supervisor; false for entries
// without one (the earlier tool's).
func SupervisorOf(t *registry.Task) (supervise.SupervisorID, bool) {
	s := t.Supervisor
	if s == nil {
		return supervise.SupervisorID{}, false
	}
	return supervise.SupervisorID{PID: s.PID, Ticks: s.StartTicks, PIDNS: s.PIDNS, Host: s.Host, BootID: s.BootID,
		Keep: t.KeepDescendants}, true
}

// SupervisorLiveness judges the task's recorded supervisor from here.
func SupervisorLiveness(t *registry.Task) supervise.Liveness { return Recorded(t).SupervisorLiveness() }

// SupervisorAlive reports whether the task's recorded supervisor is still
// the same live process, seen from here.
func SupervisorAlive(t *registry.Task) bool { return SupervisorLiveness(t) == supervise.Alive }

// RecordedElsewhere reports whether the task's pids mean nothing here.
func RecordedElsewhere(t *registry.Task) bool { return SupervisorLiveness(t) == supervise.Elsewhere }

// CommandAlive reports whether the task's recorded command is still the
// same live process.
func CommandAlive(t *registry.Task) bool { return Recorded(t).CommandAlive() }

// TaskTree is the recorded task's tree as seen from outside its supervisor.
func TaskTree(t *registry.Task) *supervise.Tree { return Recorded(t).Tree() }
