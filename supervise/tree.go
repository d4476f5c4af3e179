package supervise

import (
	"errors"
	"os"
	"strings"
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
	// Cgroup, when the task has one, holds every process the task
	// started (cgroup_linux.go). Its members are the tree's, and so are
	// the ones the rules above find: a process can leave the cgroup
	// (root, or a delegated user, may move it), not its run tag or its
	// descent. CgroupOnly asks the cgroup alone, for the supervisor, whose
	// subreaping finds the others (Supervisor.drain).
	Cgroup     *Cgroup
	CgroupOnly bool

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
	if t.Cgroup != nil && t.CgroupOnly {
		return t.cgroupMembers(nil)
	}
	all, err := Snapshot()
	if err != nil {
		return nil, nil, err
	}
	live, zombies = t.MembersIn(all)
	return live, zombies, nil
}

// Procs is one snapshot of the processes, indexed for matching many trees
// against it: the parent links are built once, and a process's environment
// is read at most once for each variable name asked, however many trees
// ask. A command that shows many tasks (list, report) reads the machine
// once, not once per task.
type Procs struct {
	All      []ProcStat
	children map[int][]int
	byPID    map[int]ProcStat
	env      map[envKey]envVal
}

type envKey struct {
	procKey
	name string
}

type envVal struct {
	value string
	found bool
}

// IndexProcs indexes a snapshot (Snapshot) for MembersOf.
func IndexProcs(all []ProcStat) *Procs {
	ps := &Procs{All: all, children: make(map[int][]int), byPID: make(map[int]ProcStat, len(all))}
	for _, p := range all {
		ps.children[p.PPID] = append(ps.children[p.PPID], p.PID)
		ps.byPID[p.PID] = p
	}
	return ps
}

// envValue is p's initial value of the variable name, read once.
func (ps *Procs) envValue(p ProcStat, name string) envVal {
	k := envKey{procKey{p.PID, p.StartTicks}, name}
	if v, ok := ps.env[k]; ok {
		return v
	}
	value, found := EnvValues(p.PID, name)[name]
	v := envVal{value, found}
	if ps.env == nil {
		ps.env = make(map[envKey]envVal)
	}
	ps.env[k] = v
	return v
}

// MembersOf is Members over an indexed snapshot shared by many trees.
func (t *Tree) MembersOf(ps *Procs) (live, zombies []ProcStat) {
	name, value, _ := strings.Cut(t.Tag, "=")
	hasTag := func(p ProcStat) bool {
		v := ps.envValue(p, name)
		return v.found && v.value == value
	}
	return t.withCgroup(ps, hasTag)
}

// withCgroup is the tree's members in a snapshot: the cgroup's, if it has
// one, and those the tree's rules find.
func (t *Tree) withCgroup(ps *Procs, hasTag func(ProcStat) bool) (live, zombies []ProcStat) {
	if t.Cgroup == nil {
		return t.members(ps, hasTag)
	}
	live, zombies, _ = t.cgroupMembers(ps)
	if t.CgroupOnly {
		return live, zombies
	}
	seen := make(map[int]bool, len(live)+len(zombies))
	for _, p := range append(live, zombies...) {
		seen[p.PID] = true
	}
	l, z := t.members(ps, hasTag)
	for _, p := range l {
		if !seen[p.PID] {
			live = append(live, p)
		}
	}
	for _, p := range z {
		if !seen[p.PID] {
			zombies = append(zombies, p)
		}
	}
	return live, zombies
}

func (t *Tree) members(ps *Procs, hasTag func(ProcStat) bool) (live, zombies []ProcStat) {
	in := t.match(ps, hasTag)
	for _, p := range ps.All {
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

func (t *Tree) match(ps *Procs, hasTag func(ProcStat) bool) map[int]bool {
	guard.init()
	in := make(map[int]bool)
	var addTree func(pid int)
	addTree = func(pid int) {
		if in[pid] || pid <= 1 || pid == guard.self || guard.ancestors[pid] {
			return
		}
		if p, ok := ps.byPID[pid]; !ok || p.StartTicks < t.NotBefore {
			return
		}
		in[pid] = true
		for _, c := range ps.children[pid] {
			addTree(c)
		}
	}
	if t.Root > 0 {
		for _, c := range ps.children[t.Root] {
			addTree(c)
		}
	}
	if p, ok := ps.byPID[t.Leader]; ok && t.Leader > 1 && p.StartTicks == t.LeaderTicks {
		addTree(t.Leader)
	}
	euid := os.Geteuid()
	for _, p := range ps.All {
		if in[p.PID] || p.StartTicks < t.NotBefore {
			continue
		}
		if t.GroupTrusted && t.PGID > 1 && p.PGID == t.PGID {
			addTree(p.PID)
			continue
		}
		if t.Tag != "" && (p.UID == euid || euid == 0 && !t.OwnOnly) && !p.Zombie() && hasTag(p) {
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
	if t.Cgroup != nil && t.CgroupOnly {
		return t.Cgroup.Signal(sig)
	}
	live, _, err := t.Members()
	if err != nil {
		return 0, err
	}
	if t.Cgroup != nil && sig == syscall.SIGKILL {
		_ = t.Cgroup.Kill() // at once, whatever forked since the read
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

// MembersIn is Members over a snapshot the caller took; environments are
// read through the tree's own cache (MembersOf shares them between trees).
func (t *Tree) MembersIn(all []ProcStat) (live, zombies []ProcStat) {
	return t.withCgroup(IndexProcs(all), t.hasTag)
}

// cgroupMembers is a cgroup's tree: every process in it, read from ps if
// given, else from /proc one by one. A cgroup that is gone has none.
func (t *Tree) cgroupMembers(ps *Procs) (live, zombies []ProcStat, err error) {
	pids, err := t.Cgroup.Members()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	guard.init()
	for _, pid := range pids {
		if pid <= 1 || pid == guard.self || guard.ancestors[pid] {
			continue
		}
		var p ProcStat
		var ok bool
		if ps != nil {
			p, ok = ps.byPID[pid]
		} else {
			var rerr error
			p, rerr = ReadProc(pid)
			ok = rerr == nil
		}
		switch {
		case !ok:
		case p.Zombie():
			zombies = append(zombies, p)
		default:
			live = append(live, p)
		}
	}
	return live, zombies, nil
}

// PageSize is the size of the pages RSSPages counts.
var PageSize = int64(os.Getpagesize())

// ClockTicks is the unit of CPUTicks per second.
const ClockTicks = clockTicks
