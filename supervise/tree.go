package supervise

import (
	"errors"
	"os"
	"syscall"
)

// Tree says which processes belong to one task. A process belongs to it if
// it descends from Root, is the Leader (same start time) or descends from
// it, is in PGID while the group is known to be the task's, or carries Tag
// in its environment. Processes started before NotBefore never belong.
type Tree struct {
	Root        int    // include every descendant of this pid (the supervisor as subreaper); 0: none
	Leader      int    // the command's pid
	LeaderTicks uint64 // its start time
	PGID        int    // the command's process group
	// GroupTrusted means the group id cannot have been recycled: the
	// caller holds the leader unreaped, or confirmed the leader's identity.
	GroupTrusted bool
	Tag          string // NAME=VALUE every process of the task inherits
	// OwnOnly limits the tag to this user's processes, for root too.
	OwnOnly   bool
	NotBefore uint64 // start ticks of the earliest possible member

	// tagged remembers, per pid and start time, whether a process carries
	// Tag: environments are read once, not on every poll of an escalation.
	tagged map[procKey]bool
}

type procKey struct {
	pid   int
	ticks uint64
}

// hasTag reads (once) whether p carries the tree's tag.
func (t *Tree) hasTag(p ProcStat) bool {
	k := procKey{p.PID, p.StartTicks}
	if v, ok := t.tagged[k]; ok {
		return v
	}
	v := HasEnv(p.PID, t.Tag)
	if t.tagged == nil {
		t.tagged = make(map[procKey]bool)
	}
	t.tagged[k] = v
	return v
}

// Members returns the task's live processes and its zombies.
func (t *Tree) Members() (live, zombies []ProcStat, err error) {
	all, err := Snapshot()
	if err != nil {
		return nil, nil, err
	}
	live, zombies = t.MembersIn(all)
	return live, zombies, nil
}

func (t *Tree) match(all []ProcStat) map[int]bool {
	guard.init()
	children := make(map[int][]int)
	byPID := make(map[int]ProcStat, len(all))
	for _, p := range all {
		children[p.PPID] = append(children[p.PPID], p.PID)
		byPID[p.PID] = p
	}
	in := make(map[int]bool)
	var addTree func(pid int)
	addTree = func(pid int) {
		if in[pid] || pid <= 1 || pid == guard.self || guard.ancestors[pid] {
			return
		}
		if p, ok := byPID[pid]; !ok || p.StartTicks < t.NotBefore {
			return
		}
		in[pid] = true
		for _, c := range children[pid] {
			addTree(c)
		}
	}
	if t.Root > 0 {
		for _, c := range children[t.Root] {
			addTree(c)
		}
	}
	if p, ok := byPID[t.Leader]; ok && t.Leader > 1 && p.StartTicks == t.LeaderTicks {
		addTree(t.Leader)
	}
	euid := os.Geteuid()
	for _, p := range all {
		if in[p.PID] || p.StartTicks < t.NotBefore {
			continue
		}
		if t.GroupTrusted && t.PGID > 1 && p.PGID == t.PGID {
			addTree(p.PID)
			continue
		}
		if t.Tag != "" && (p.UID == euid || euid == 0 && !t.OwnOnly) && !p.Zombie() && t.hasTag(p) {
			addTree(p.PID)
		}
	}
	return in
}

// Signal sends sig to every live member, each after an identity check, and
// to the whole group when it is trusted. It returns how many processes it
// signalled; processes that vanished meanwhile are not errors.
func (t *Tree) Signal(sig syscall.Signal) (int, error) {
	if t.GroupTrusted && t.PGID > 1 {
		if err := signalGroup(t.PGID, sig); err != nil && !errors.Is(err, syscall.ESRCH) && !errors.Is(err, ErrForbidden) {
			return 0, err
		}
	}
	live, _, err := t.Members()
	if err != nil {
		return 0, err
	}
	return signalEach(live, sig)
}

func signalEach(procs []ProcStat, sig syscall.Signal) (int, error) {
	n := 0
	var firstErr error
	for _, p := range procs {
		err := sendSignal(p.PID, p.StartTicks, sig)
		switch {
		case err == nil:
			n++
		case errors.Is(err, syscall.ESRCH), errors.Is(err, ErrNotSame):
		default:
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return n, firstErr
}

// MembersIn is Members over a snapshot taken once for many trees.
func (t *Tree) MembersIn(all []ProcStat) (live, zombies []ProcStat) {
	in := t.match(all)
	for _, p := range all {
		switch {
		case !in[p.PID]:
		case p.Zombie():
			zombies = append(zombies, p)
		default:
			live = append(live, p)
		}
	}
	return live, zombies
}

// PageSize is the size of the pages RSSPages counts.
var PageSize = int64(os.Getpagesize())

// ClockTicks is the unit of CPUTicks per second.
const ClockTicks = clockTicks
