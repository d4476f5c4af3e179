package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Limits and accounting through the task's cgroup. A controller is used
// where the cgroup v2 hierarchy has it (pure v2: memory.max, cpu.max,
// pids.max in the task's cgroup); on a hybrid machine, where it is only
// on a cgroup v1 hierarchy, a cgroup of the same name there holds the
// command too (enterV1, joinV1).

// cpuPeriod is the period a CPU limit is expressed in (the kernel's
// default CFS period, in microseconds).
const cpuPeriod = 100000

// limitControllers are the controllers of Limits, in the order applied.
var limitControllers = []string{"memory", "cpu", "pids"}

// SetLimits applies l to the task's cgroup. Any limit that cannot be
// applied is an error naming it and why: a limit is never silently
// dropped.
func (c *Cgroup) SetLimits(l Limits) error {
	mnt := cgroup2Mount()
	v2, _ := os.ReadFile(filepath.Join(mnt, "cgroup.controllers"))
	for _, ctrl := range limitControllers {
		if !l.wants(ctrl) {
			continue
		}
		var err error
		if hasWord(v2, ctrl) {
			err = c.setV2(mnt, ctrl, l)
		} else {
			err = c.setV1(ctrl, l)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", limitName(ctrl), err)
		}
	}
	return nil
}

func (l Limits) wants(ctrl string) bool {
	switch ctrl {
	case "memory":
		return l.Memory > 0
	case "cpu":
		return l.CPUs > 0
	case "pids":
		return l.PIDs > 0
	}
	return false
}

func limitName(ctrl string) string {
	if ctrl == "cpu" {
		return "--cpus"
	}
	return "--" + ctrl
}

func hasWord(b []byte, w string) bool {
	for _, f := range bytes.Fields(b) {
		if string(f) == w {
			return true
		}
	}
	return false
}

// setV2 enables ctrl on the way down to the task's cgroup and writes its
// limit there.
func (c *Cgroup) setV2(mnt, ctrl string, l Limits) error {
	var chain []string // from the hierarchy's root to the task's parent
	for d := filepath.Dir(c.Path); ; d = filepath.Dir(d) {
		chain = append([]string{d}, chain...)
		if d == mnt || d == "/" {
			break
		}
	}
	for _, d := range chain {
		f := filepath.Join(d, "cgroup.subtree_control")
		if b, _ := os.ReadFile(f); hasWord(b, ctrl) {
			continue
		}
		if err := os.WriteFile(f, []byte("+"+ctrl), 0); err != nil {
			return fmt.Errorf("cannot enable the %s controller in %s: %w (a cgroup with processes of its own cannot pass controllers down)", ctrl, d, err)
		}
	}
	switch ctrl {
	case "memory":
		if err := writeCgroupFile(c.Path, "memory.max", strconv.FormatInt(l.Memory, 10)); err != nil {
			return err
		}
		// No swap on top, so the cap is real; a kernel without swap
		// accounting has no such file.
		if err := writeCgroupFile(c.Path, "memory.swap.max", "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	case "cpu":
		return writeCgroupFile(c.Path, "cpu.max", fmt.Sprintf("%d %d", int64(l.CPUs*cpuPeriod), cpuPeriod))
	case "pids":
		return writeCgroupFile(c.Path, "pids.max", strconv.Itoa(l.PIDs))
	}
	return nil
}

// v1Mount is where ctrl's cgroup v1 hierarchy is mounted, "" if nowhere.
func v1Mount(ctrl string) string {
	names := []string{ctrl}
	if ctrl == "cpu" {
		names = append(names, "cpu,cpuacct", "cpuacct,cpu")
	}
	for _, n := range names {
		dir := filepath.Join("/sys/fs/cgroup", n)
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP_SUPER_MAGIC {
			if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err == nil {
				return dir
			}
		}
	}
	return ""
}

// setV1 makes the task's cgroup of the same name in ctrl's v1 hierarchy
// and writes its limit there.
func (c *Cgroup) setV1(ctrl string, l Limits) error {
	mnt := v1Mount(ctrl)
	if mnt == "" {
		return fmt.Errorf("no %s controller on this machine (neither on the cgroup v2 hierarchy nor on a v1 one)", ctrl)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("the %s controller is on a cgroup v1 hierarchy here, which only root can use", ctrl)
	}
	dir := filepath.Join(mnt, "watchdog", filepath.Base(c.Path))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c.v1 = append(c.v1, dir)
	switch ctrl {
	case "memory":
		c.v1mem = dir
		v := strconv.FormatInt(l.Memory, 10)
		if err := writeCgroupFile(dir, "memory.limit_in_bytes", v); err != nil {
			return err
		}
		if err := writeCgroupFile(dir, "memory.memsw.limit_in_bytes", v); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	case "cpu":
		if err := writeCgroupFile(dir, "cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
			return err
		}
		return writeCgroupFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(int64(l.CPUs*cpuPeriod), 10))
	case "pids":
		// Written once the supervisor has stepped out (enterV1).
		c.pidsMax = func() error { return writeCgroupFile(dir, "pids.max", strconv.Itoa(l.PIDs)) }
	}
	return nil
}

func writeCgroupFile(dir, name, value string) error {
	err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("write %s to %s: %w", value, pe.Path, pe.Err)
		}
	}
	return err
}

// enterV1 moves the supervisor into the task's v1 cpu and pids cgroups
// for the fork, and returns how to step out again: the command starts in
// them. Stepping out sets the pids limit (the supervisor's own threads
// must not count); its error means that limit is not in place. The memory
// cgroup is joined after the fork instead (joinV1): inside it the
// supervisor could be the one the OOM killer chooses.
func (c *Cgroup) enterV1() (leave func() error, err error) {
	if len(c.v1) == 0 {
		return func() error { return nil }, nil
	}
	own, _ := os.ReadFile("/proc/self/cgroup")
	pid := strconv.Itoa(os.Getpid())
	var back []string
	leave = func() error {
		for _, d := range back {
			_ = os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(pid), 0)
		}
		if c.pidsMax != nil {
			return c.pidsMax()
		}
		return nil
	}
	for _, dir := range c.v1 {
		if dir == c.v1mem {
			continue
		}
		mnt := filepath.Dir(filepath.Dir(dir)) // MNT/watchdog/NAME
		orig := v1CgroupOf(own, filepath.Base(mnt))
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pid), 0); err != nil {
			leave()
			return nil, fmt.Errorf("enter %s: %w", dir, err)
		}
		back = append(back, filepath.Join(mnt, orig))
	}
	return leave, nil
}

// v1CgroupOf is this process's cgroup in the v1 hierarchy mounted as
// name ("memory", "cpu,cpuacct"), from /proc/self/cgroup.
//
// The mount's name may be a symlink's ("cpu" for "cpu,cpuacct", as systemd
// makes them): the line whose controllers include its first is the one.
func v1CgroupOf(own []byte, name string) string {
	first, _, _ := strings.Cut(name, ",")
	for _, line := range strings.Split(string(own), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == first {
				return parts[2]
			}
		}
	}
	return "/"
}

// joinV1 moves the just-started command into the task's v1 memory
// cgroup, microseconds after its exec: a command cannot be created into a
// v1 cgroup, and the supervisor must not step into this one (the OOM
// killer could choose it and the run's record would be lost). A process
// the command forks before that stays outside the memory limit, though
// inside the task's v2 cgroup.
func (c *Cgroup) joinV1(pid int) error {
	if c.v1mem == "" {
		return nil
	}
	if err := os.WriteFile(filepath.Join(c.v1mem, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("cannot apply --memory: move the command into %s: %w", c.v1mem, err)
	}
	return nil
}

// removeV1 removes the task's v1 cgroups; with probe (a cgroup read from a
// record or found by sweep) the ones of its name in every hierarchy.
func (c *Cgroup) removeV1() error {
	dirs := c.v1
	if !c.made { // read from a record or found by sweep: look for them
		for _, ctrl := range limitControllers {
			if m := v1Mount(ctrl); m != "" {
				dirs = append(dirs, filepath.Join(m, "watchdog", filepath.Base(c.Path)))
			}
		}
	}
	var first error
	for _, d := range dirs {
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) && first == nil {
			first = err
		}
	}
	return first
}

// Usage is what the task used, read from its cgroup at its end.
type Usage struct {
	OOMKills   int     // processes the kernel's OOM killer ended under --memory
	PeakMemory int64   // bytes; 0 when no memory controller counted it
	CPUSeconds float64 // user and system time of every process; 0 if unknown
}

// Usage reads the task's figures: CPU time from the v2 cgroup (cpu.stat
// is there without any controller), memory from wherever its memory
// controller is.
func (c *Cgroup) Usage() Usage {
	var u Usage
	if b, err := readSmall(filepath.Join(c.Path, "cpu.stat")); err == nil {
		if v, ok := statValue(b, "usage_usec"); ok {
			u.CPUSeconds = float64(v) / 1e6
		}
	}
	if b, err := readSmall(filepath.Join(c.Path, "memory.events")); err == nil {
		v, _ := statValue(b, "oom_kill")
		u.OOMKills = int(v)
		if p, err := readInt(filepath.Join(c.Path, "memory.peak")); err == nil {
			u.PeakMemory = p
		}
	}
	for _, d := range c.v1 {
		if _, err := os.Stat(filepath.Join(d, "memory.oom_control")); err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "memory.oom_control")); err == nil {
			v, _ := statValue(b, "oom_kill")
			u.OOMKills = int(v)
		}
		if p, err := readInt(filepath.Join(d, "memory.max_usage_in_bytes")); err == nil {
			u.PeakMemory = p
		}
	}
	return u
}

// statValue reads "key N" from a flat-keyed cgroup file.
func statValue(b []byte, key string) (int64, bool) {
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 2 && string(f[0]) == key {
			v, err := strconv.ParseInt(string(f[1]), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// OrphanV1Cgroups lists this user's task cgroups left on v1 hierarchies
// whose v2 cgroup is gone (a process held one when its task ended): root's
// only, as only root makes them.
func OrphanV1Cgroups() []string {
	if os.Geteuid() != 0 {
		return nil
	}
	base, err := CgroupBase()
	if err != nil {
		return nil
	}
	var out []string
	for _, ctrl := range limitControllers {
		m := v1Mount(ctrl)
		if m == "" {
			continue
		}
		ents, _ := os.ReadDir(filepath.Join(m, "watchdog"))
		for _, e := range ents {
			if !e.IsDir() || !ParseCgroupNameOK(e.Name()) {
				continue
			}
			if _, err := os.Stat(filepath.Join(base, e.Name())); errors.Is(err, os.ErrNotExist) {
				out = append(out, filepath.Join(m, "watchdog", e.Name()))
			}
		}
	}
	return out
}
