package supervise

import (
	"crypto/sha256"
	"encoding/hex"
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
// the run's key (RunKey), and the supervisor's pid, start ticks and PID
// namespace, so that sweep can judge from the name alone whether its
// supervisor lives (and never judges one of another PID namespace, a
// container's).
func CgroupName(runID string, sup SupervisorID) string {
	return fmt.Sprintf("%s%s.%d.%d.%d", CgroupPrefix, RunKey(runID), sup.PID, sup.Ticks, sup.PIDNS)
}

// RunKey stands for a run id where anyone can read it: cgroup names are
// listed in every process's /proc/PID/cgroup, and a run id is what lets a
// registry entry's run tag and cgroup be trusted. A hash (SHA-256, 64
// bits of it) says which run a cgroup is without saying its id.
func RunKey(runID string) string {
	h := sha256.Sum256([]byte(runID))
	return hex.EncodeToString(h[:8])
}

// ParseCgroupName reads back CgroupName: the run's key and the supervisor;
// ok is false for any other name.
func ParseCgroupName(name string) (runKey string, sup SupervisorID, ok bool) {
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
// watchdog made for that run under that supervisor: in CgroupBase, every
// directory on the way a task cgroup's (a task nested in another), and
// named for them (CgroupName). Whatever else a registry
// says (another cgroup of the machine, a path elsewhere, another run's) is
// nil: a registry anyone may write must not point a kill at a container's
// cgroup.
func TaskCgroup(path, runID string, sup SupervisorID) *Cgroup {
	base, err := CgroupBase()
	if err != nil || path == "" || filepath.Clean(path) != path || !strings.HasPrefix(path, base+"/") || !underTasks(base, path) {
		return nil // only this user's task cgroups, nested or not
	}
	key, named, ok := ParseCgroupName(filepath.Base(path))
	if !ok || key != RunKey(runID) || named.PID != sup.PID || named.Ticks != sup.Ticks || named.PIDNS != sup.PIDNS {
		return nil
	}
	return OpenCgroup(path)
}
