package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Limits and accounting through the task's cgroup. A controller is used
// where the cgroup v2 hierarchy has it (pure v2: memory.max, cpu.max,
// pids.max in the task's cgroup); on a hybrid machine, where it is only
// on a cgroup v1 hierarchy, a cgroup of the same name there holds the
// command too (EnterAndExec).

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

// v1Parent is where a task's v1 cgroup goes: inside this process's own
// v1 cgroup when that is a task's (exec under exec: the outer task's
// limits still bind the inner one), else watchdog/ at the top.
func v1Parent(mnt, ctrl string) string {
	own, _ := readSmall("/proc/self/cgroup")
	for _, line := range strings.Split(string(own), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !slices.Contains(strings.Split(parts[1], ","), ctrl) {
			continue
		}
		if p := filepath.Join(mnt, parts[2]); ParseCgroupNameOK(filepath.Base(p)) && strings.HasPrefix(p, filepath.Join(mnt, "watchdog")+"/") {
			return p
		}
	}
	return filepath.Join(mnt, "watchdog")
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
	dir := filepath.Join(v1Parent(mnt, ctrl), filepath.Base(c.Path))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c.v1 = append(c.v1, dir)
	switch ctrl {
	case "memory":
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
		return writeCgroupFile(dir, "pids.max", strconv.Itoa(l.PIDs))
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

// EnterArg, as the first argument of the watchdog's own binary, makes it
// the command's first step on a hybrid machine (EnterAndExec). A command
// cannot be created into a v1 cgroup as into the v2 one, and neither the
// supervisor stepping in for the fork (the OOM killer may choose it, a
// tight --cpus slows it, its threads count against --pids) nor moving the
// command in after its exec (a shell forks first) holds a limit exactly.
const EnterArg = "__enter-cgroups"

// enterSpec is spec started through EnterAndExec, which moves itself into
// the task's v1 cgroups and then executes the command: the same process,
// in them before the command's first instruction. It costs an exec of
// the watchdog's binary, and only runs with limits on v1 hierarchies.
func (c *Cgroup) enterSpec(spec Spec) Spec {
	if len(c.v1) == 0 {
		return spec
	}
	argv := append([]string{"watchdog", EnterArg}, c.v1...)
	argv = append(append(argv, "--", spec.Path), spec.Argv...)
	spec.Path, spec.Argv = "/proc/self/exe", argv
	return spec
}

// EnterAndExec is the command's first step (enterSpec): args are the v1
// cgroup directories, "--", the command's path and its argv. It moves
// this process into each cgroup (cpu last: what is left to run before the
// command is the exec) and executes the command; it returns only on
// failure, with the exit status to use: 125 if a cgroup would not take
// it, 126 or 127 if the command cannot run.
func EnterAndExec(args []string, stderr io.Writer) int {
	i := slices.Index(args, "--")
	if i < 0 || len(args) < i+3 {
		fmt.Fprintf(stderr, "watchdog: %s: bad arguments\n", EnterArg)
		return ExitInternal
	}
	dirs, path, argv := args[:i], args[i+1], args[i+2:]
	slices.SortStableFunc(dirs, func(a, b string) int { return boolInt(isCPU(a)) - boolInt(isCPU(b)) })
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte("0"), 0); err != nil {
			fmt.Fprintf(stderr, "watchdog: cannot apply the limits: enter %s: %v\n", d, err)
			return ExitInternal
		}
	}
	err := syscall.Exec(path, argv, os.Environ())
	if err == syscall.ENOEXEC { // as Start does, and execvp(3)
		err = syscall.Exec("/bin/sh", append([]string{"/bin/sh", path}, argv[1:]...), os.Environ())
	}
	code := ExitNotExecutable
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		code = ExitNotFound
	}
	fmt.Fprintf(stderr, "watchdog: failed to run command %s: %s\n", Quote(argv[0]), Strerror(err))
	return code
}

// isCPU: dir is in the cpu controller's hierarchy (MNT/watchdog/...).
func isCPU(dir string) bool {
	mnt, _, _ := strings.Cut(dir, "/watchdog/")
	return slices.Contains(strings.Split(filepath.Base(mnt), ","), "cpu")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// removeV1 removes the task's v1 cgroups; with probe (a cgroup read from a
// record or found by sweep) the ones of its name in every hierarchy.
func (c *Cgroup) removeV1() error {
	dirs := c.v1
	if !c.made { // read from a record or found by sweep: look for them
		rel := filepath.Base(c.Path)
		if base, err := CgroupBase(); err == nil && strings.HasPrefix(c.Path, base+"/") {
			rel = strings.TrimPrefix(c.Path, base+"/") // nested: wd-outer/wd-inner
		}
		for _, ctrl := range limitControllers {
			if m := v1Mount(ctrl); m != "" {
				dirs = append(dirs, filepath.Join(m, "watchdog", rel))
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
