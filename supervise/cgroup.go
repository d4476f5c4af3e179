package supervise

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Cgroup is one task's cgroup (Linux, cgroup v2; cgroup_linux.go). Where
// none can be made, a task has none and its containment is the tree.
type Cgroup struct {
	Path string   // the directory in the cgroup2 filesystem
	fd   int      // the directory opened for CLONE_INTO_CGROUP; -1 once closed
	v1   []string // cgroups of the same name on v1 hierarchies, for limits (hybrid machines)
	// pidsMax sets a v1 pids limit once the supervisor is out (limits_linux.go).
	pidsMax func() error
	// made: this process made it (NewCgroup), so its v1 cgroups are v1;
	// one read from a record or found by sweep may have any.
	made bool
}

// OpenCgroup is a recorded task's cgroup, for sweep, kill and list.
func OpenCgroup(path string) *Cgroup { return &Cgroup{Path: path, fd: -1} }

// FD is the directory's descriptor for SysProcAttr.CgroupFD; -1 if none.
func (c *Cgroup) FD() int { return c.fd }

// CgroupPrefix starts the name of every task cgroup.
const CgroupPrefix = "wd-"

// CgroupName is the name of the cgroup of run runID under supervisor sup:
// the run, and the supervisor's pid, start ticks and PID namespace, so
// that sweep can judge from the name alone whether its supervisor lives
// (and never judges one of another PID namespace, a container's).
func CgroupName(runID string, sup SupervisorID) string {
	return fmt.Sprintf("%s%s.%d.%d.%d", CgroupPrefix, runID, sup.PID, sup.Ticks, sup.PIDNS)
}

// ParseCgroupName reads back CgroupName; ok is false for any other name.
func ParseCgroupName(name string) (runID string, sup SupervisorID, ok bool) {
	rest, found := strings.CutPrefix(name, CgroupPrefix)
	if !found {
		return "", sup, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 || parts[0] == "" {
		return "", sup, false
	}
	pid, err1 := strconv.Atoi(parts[1])
	ticks, err2 := strconv.ParseUint(parts[2], 10, 64)
	ns, err3 := strconv.ParseUint(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || pid <= 0 {
		return "", sup, false
	}
	return parts[0], SupervisorID{PID: pid, Ticks: ticks, PIDNS: ns}, true
}

// TaskCgroup is a recorded cgroup, trusted only if it is one this user's
// watchdog made for that run under that supervisor: directly in
// CgroupParent and named for them (CgroupName). Whatever else a registry
// says (another cgroup of the machine, a path elsewhere, another run's) is
// nil: a registry anyone may write must not point a kill at a container's
// cgroup.
func TaskCgroup(path, runID string, sup SupervisorID) *Cgroup {
	parent, err := CgroupParent()
	if err != nil || path == "" || filepath.Dir(path) != parent {
		return nil
	}
	run, named, ok := ParseCgroupName(filepath.Base(path))
	if !ok || run != runID || named.PID != sup.PID || named.Ticks != sup.Ticks || named.PIDNS != sup.PIDNS {
		return nil
	}
	return OpenCgroup(path)
}
