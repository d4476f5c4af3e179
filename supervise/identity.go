package supervise

import (
	"os"
	"strconv"
	"strings"
)

// Liveness is what this process can tell about a supervisor.
type Liveness int

const (
	// Gone: the supervisor is known dead here (its pid is free or is
	// another process, or it ran before this boot).
	Gone Liveness = iota
	// Alive: the very same process still runs.
	Alive
	// Elsewhere: it ran on another host or in another PID namespace (a
	// container, `unshare -p`), where its pid means something else. It is
	// never judged from here: only a sweep in its own namespace may.
	Elsewhere
)

// SupervisorID identifies a supervisor wherever it is recorded: in the
// registry, in the WATCHDOG_SUPERVISOR tag of its processes, in a
// container's labels. Zero fields are unknown.
type SupervisorID struct {
	PID    int
	Ticks  uint64 // start ticks in its own PID namespace's /proc
	PIDNS  uint64 // inode of its PID namespace (/proc/PID/ns/pid)
	Host   string
	BootID string
	// Keep: the run keeps what its command leaves behind
	// (--keep-descendants, the timeout drop-in). No sweep ends those.
	Keep bool
}

// Liveness judges the supervisor from this process's point of view. A
// supervisor whose PID namespace is not recorded is judged in ours: the
// records of older versions, which always ran in the sweeper's namespace
// or were wrongly judged from it.
func (s SupervisorID) Liveness() Liveness {
	switch {
	case s.Host != "" && !sameHost(s.Host):
		return Elsewhere
	case s.PIDNS != 0 && PIDNamespace() != 0 && s.PIDNS != PIDNamespace():
		return Elsewhere
	case !sameBoot(s.BootID):
		return Gone
	case s.PID <= 0 || s.Ticks == 0:
		return Gone
	case SameProcess(s.PID, s.Ticks):
		// pid 1 included: the watchdog may be a container's first process.
		return Alive
	}
	return Gone
}

// SelfID is this process as a supervisor.
func SelfID(keep bool) SupervisorID {
	pid, ticks := Self()
	host, _ := os.Hostname()
	return SupervisorID{PID: pid, Ticks: ticks, PIDNS: PIDNamespace(), Host: host, BootID: BootID(), Keep: keep}
}

// SelfTag renders this process as the WATCHDOG_SUPERVISOR value every
// process of its run inherits: "PID.TICKS pidns=INODE[ keep]". The first
// word is the format of earlier versions, which read nothing after it.
func SelfTag(keep bool) string {
	pid, ticks := Self()
	s := strconv.Itoa(pid) + "." + strconv.FormatUint(ticks, 10)
	if ns := PIDNamespace(); ns != 0 {
		s += " pidns=" + strconv.FormatUint(ns, 10)
	}
	if keep {
		s += " keep"
	}
	return s
}

// ParseSupervisorTag reads a WATCHDOG_SUPERVISOR value (or the container
// label holding the same). Words it does not know are ignored.
func ParseSupervisorTag(s string) (SupervisorID, bool) {
	var id SupervisorID
	words := strings.Fields(s)
	if len(words) == 0 {
		return id, false
	}
	p, t, found := strings.Cut(words[0], ".")
	pid, err1 := strconv.Atoi(p)
	ticks, err2 := strconv.ParseUint(t, 10, 64)
	if !found || err1 != nil || err2 != nil || pid <= 0 {
		return id, false
	}
	id.PID, id.Ticks = pid, ticks
	for _, w := range words[1:] {
		switch k, v, _ := strings.Cut(w, "="); k {
		case "pidns":
			id.PIDNS, _ = strconv.ParseUint(v, 10, 64)
		case "keep":
			id.Keep = true
		}
	}
	return id, true
}
