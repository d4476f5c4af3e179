package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A task's cgroup (Linux, cgroup v2): the command is started inside it
// (clone3 with CLONE_INTO_CGROUP), so every process it ever starts is in it
// too, whatever it does with its environment, session or parents. Its
// members are cgroup.procs; KILL is cgroup.kill; the end of the tree is
// "populated 0" in cgroup.events. No /proc scan is needed.
//
// Where: CgroupBase; as root, watchdog/ at the top of the cgroup2 hierarchy (pure v2:
// /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified); as another user, the
// cgroup this process is in, when it is delegated to that user (owned by
// it, cgroup.procs writable: systemd-run --user --scope -p Delegate=yes).
// Elsewhere there is none and containment is the tree (Tree).
//
// Names: CgroupName (cgroup.go).

// cgroup2Mount is where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup
// on a pure v2 system, /sys/fs/cgroup/unified on a hybrid one (v1
// controllers beside it); "" if neither. Two statfs calls, not a read of
// mountinfo, once per process.
var cgroup2Mount = sync.OnceValue(func() string {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir
		}
	}
	return ""
})

// ownCgroup is this process's cgroup v2 path ("/..."), "" if unknown.
func ownCgroup() string {
	b, err := readSmall("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// cgroupParent is the directory this process makes task cgroups in, and
// why there is none when it is "". A watchdog that runs inside a task's
// cgroup (exec under exec, a PATH shim in a supervised script) makes its
// task's cgroup inside that one, so the outer task's end (cgroup.kill is
// recursive) reaches the inner task too.
func cgroupParent() (string, error) {
	base, err := CgroupBase()
	if err != nil {
		return "", err
	}
	if own := filepath.Join(cgroup2Mount(), ownCgroup()); strings.HasPrefix(own, base+"/") && underTasks(base, own) {
		return own, nil
	}
	return base, nil
}

// CgroupBase is where this user's task cgroups live: as root, watchdog/ at
// the top of the cgroup2 hierarchy; as another user, the cgroup this
// process is in when it is delegated to them (less any task cgroups it is
// nested in).
func CgroupBase() (string, error) {
	mnt := cgroup2Mount()
	if mnt == "" {
		return "", errors.New("no cgroup v2 hierarchy is mounted")
	}
	if os.Geteuid() == 0 {
		return filepath.Join(mnt, "watchdog"), nil
	}
	own := ownCgroup()
	if own == "" || strings.Contains(own, "(deleted)") {
		return "", errors.New("this process's cgroup is unknown")
	}
	dir := filepath.Join(mnt, own)
	for ParseCgroupNameOK(filepath.Base(dir)) {
		dir = filepath.Dir(dir) // nested in a task of this user: its base is above
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return "", err
	}
	if int(st.Uid) != os.Geteuid() || unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK) != nil {
		return "", fmt.Errorf("the cgroup %s is not delegated to this user (run under systemd-run --user --scope -p Delegate=yes, or as root)", own)
	}
	return dir, nil
}

// underTasks reports whether every directory of path below base is a task
// cgroup's (CgroupName).
func underTasks(base, path string) bool {
	rest := strings.TrimPrefix(path, base+"/")
	for _, c := range strings.Split(rest, "/") {
		if !ParseCgroupNameOK(c) {
			return false
		}
	}
	return rest != ""
}

// ParseCgroupNameOK reports whether name is a task cgroup's.
func ParseCgroupNameOK(name string) bool {
	_, _, ok := ParseCgroupName(name)
	return ok
}

// NewCgroup makes the task's cgroup under cgroupParent and opens it for
// CLONE_INTO_CGROUP.
func NewCgroup(name string) (*Cgroup, error) {
	parent, err := cgroupParent()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(parent, name)
	err = syscall.Mkdir(path, 0o755)
	if errors.Is(err, syscall.ENOENT) { // the first task here: make the parent
		if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		err = syscall.Mkdir(path, 0o755)
	}
	if err != nil {
		return nil, &os.PathError{Op: "mkdir", Path: path, Err: err}
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		syscall.Rmdir(path)
		return nil, err
	}
	return &Cgroup{Path: path, fd: fd, made: true}, nil
}

// closeFD drops the descriptor once the command is started.
func (c *Cgroup) closeFD() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// Populated reports whether any process is in the cgroup or below it;
// false when the cgroup is gone.
func (c *Cgroup) Populated() bool {
	b, err := readSmall(filepath.Join(c.Path, "cgroup.events"))
	if err != nil {
		return false
	}
	return bytes.Contains(b, []byte("populated 1"))
}

// waitEmpty waits up to d for the cgroup to be unpopulated, calling each
// (reaping, for a supervisor) between looks: a process that just died of
// a signal is out of cgroup.procs a moment before the cgroup stops
// counting it. It reports whether the cgroup is empty.
func (c *Cgroup) waitEmpty(d time.Duration, each func()) bool {
	deadline := time.Now().Add(d)
	for c.Populated() {
		if time.Now().After(deadline) {
			return false
		}
		if each != nil {
			each()
		}
		time.Sleep(2 * time.Millisecond) // polling the kernel's count, with a deadline
	}
	return true
}

// Members lists the processes in the cgroup and its descendants.
func (c *Cgroup) Members() ([]int, error) {
	var pids []int
	err := filepath.WalkDir(c.Path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if p == c.Path {
				return err
			}
			return nil // a child cgroup removed meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids, err
}

// Signal sends sig to every member, each after checking, through a pidfd
// opened first, that the process is still in this cgroup. KILL goes
// through Kill.
func (c *Cgroup) Signal(sig syscall.Signal) (int, error) {
	if sig == syscall.SIGKILL {
		return 0, c.Kill()
	}
	pids, err := c.Members()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, pid := range pids {
		if guard.allowPID(pid) != nil {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // gone
		}
		if c.holds(pid) && unix.PidfdSendSignal(fd, sig, nil, 0) == nil {
			n++
		}
		unix.Close(fd)
	}
	return n, nil
}

// holds reports whether pid is in this cgroup or below it now.
func (c *Cgroup) holds(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	mnt := cgroup2Mount()
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			full := filepath.Join(mnt, p)
			return full == c.Path || strings.HasPrefix(full, c.Path+"/")
		}
	}
	return false
}

// Kill ends every process in the cgroup and below it at once: cgroup.kill
// (Linux 5.14); before that, freeze, KILL each member, thaw.
func (c *Cgroup) Kill() error {
	err := os.WriteFile(filepath.Join(c.Path, "cgroup.kill"), []byte("1"), 0)
	switch {
	case err == nil, !c.exists():
		return nil // killed, or gone with everything in it
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	freeze := filepath.Join(c.Path, "cgroup.freeze")
	if err := os.WriteFile(freeze, []byte("1"), 0); err != nil {
		return err
	}
	defer os.WriteFile(freeze, []byte("0"), 0)
	pids, err := c.Members()
	for _, pid := range pids {
		if guard.allowPID(pid) == nil {
			syscall.Kill(pid, syscall.SIGKILL) // frozen: none can leave or be recycled
		}
	}
	return err
}

func (c *Cgroup) exists() bool {
	_, err := os.Stat(c.Path)
	return err == nil
}

// Remove deletes the cgroup (and any cgroups the task made below it). It
// fails while a process is still counted in it; a cgroup that is already
// gone is not an error.
func (c *Cgroup) Remove() error {
	c.closeFD()
	err := syscall.Rmdir(c.Path) // the common case: one empty cgroup
	if err == nil || errors.Is(err, syscall.ENOENT) {
		return c.removeV1()
	}
	var dirs []string
	filepath.WalkDir(c.Path, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if len(dirs) <= 1 {
		return err // no cgroups below: still populated
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
			return err
		}
	}
	return c.removeV1()
}

// RemoveWhenEmpty removes the cgroup, waiting up to d for the kernel to
// stop counting processes that just died (calling each meanwhile). One
// that a process survived KILL in (uninterruptible sleep) stays: sweep
// removes it later.
func (c *Cgroup) RemoveWhenEmpty(d time.Duration, each func()) error {
	if c.Remove() == nil {
		return nil
	}
	c.waitEmpty(d, each)
	return c.Remove()
}

// TaskCgroups lists this user's top-level task cgroups (in CgroupBase);
// nested ones end with the task they are nested in.
func TaskCgroups() ([]string, error) {
	parent, err := CgroupBase()
	if err != nil {
		return nil, nil // no cgroups here: nothing to list
	}
	ents, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if _, _, ok := ParseCgroupName(e.Name()); ok && e.IsDir() {
			out = append(out, filepath.Join(parent, e.Name()))
		}
	}
	return out, nil
}

// readSmall reads a small kernel file (cgroupfs, /proc) with one open,
// read and close: os.ReadFile's stat and second read are three more
// system calls on every exec.
func readSmall(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		case n < len(buf):
			return buf[:n], nil // a kernel file that fits comes whole in one read
		}
		return os.ReadFile(path) // longer than a page: read it the usual way
	}
}
