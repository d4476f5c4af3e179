package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times. It is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// ProcStat is what the watchdog reads about one process.
type ProcStat struct {
	PID        int
	PPID       int
	PGID       int
	SID        int
	State      byte   // R, S, D, Z, T, ...
	StartTicks uint64 // clock ticks after boot
	CPUTicks   uint64 // user + system time
	RSSPages   int64
	UID        int
}

// Zombie reports whether the process has exited and awaits its parent.
func (p ProcStat) Zombie() bool { return p.State == 'Z' || p.State == 'X' }

// ReadProc reads /proc/PID/stat. Not gopsutil: this needs exact start ticks
// and process groups, read in tight loops, where gopsutil is much slower.
func ReadProc(pid int) (ProcStat, error) {
	var buf [512]byte
	return readProc(pid, buf[:])
}

func readProc(pid int, buf []byte) (ProcStat, error) {
	var p ProcStat
	if pid <= 0 {
		return p, syscall.ESRCH
	}
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if err == syscall.ENOENT {
			return p, syscall.ESRCH
		}
		return p, err
	}
	n, err := syscall.Read(fd, buf)
	var st syscall.Stat_t
	if err == nil {
		err = syscall.Fstat(fd, &st)
	}
	syscall.Close(fd)
	if err != nil {
		if err == syscall.ESRCH {
			return p, syscall.ESRCH
		}
		return p, err
	}
	p, err = parseStat(buf[:n])
	p.UID = int(st.Uid)
	return p, err
}

// parseStat parses the content of /proc/PID/stat. The command name in
// parentheses may itself contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (ProcStat, error) {
	var p ProcStat
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open || end+2 >= len(b) {
		return p, errors.New("malformed /proc stat")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return p, errors.New("malformed /proc stat")
	}
	p.PID = pid
	f := bytes.Fields(b[end+2:])
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 22 {
		return p, errors.New("malformed /proc stat")
	}
	p.State = f[0][0]
	p.PPID = atoi(f[1])
	p.PGID = atoi(f[2])
	p.SID = atoi(f[3])
	p.CPUTicks = atou(f[11]) + atou(f[12])
	p.StartTicks = atou(f[19])
	p.RSSPages = int64(atou(f[21]))
	return p, nil
}

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}

func atou(b []byte) uint64 {
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}

// StartTicks returns a live process's start time in clock ticks after boot.
func StartTicks(pid int) (uint64, error) {
	p, err := ReadProc(pid)
	return p.StartTicks, err
}

// BootID identifies the current boot, so that start times recorded before
// a reboot are never taken for today's processes.
var BootID = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})

// bootTime is when the machine booted, to the second as /proc/stat's btime
// says it, but computed from two clock reads instead of reading that file
// (large on machines with many CPUs) on every start.
var bootTime = sync.OnceValue(func() time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Time{}
	}
	since := time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec)
	return time.Now().Add(-since).Truncate(time.Second)
})

// StartWallTime converts start ticks to wall-clock time. It is precise to
// about a second (the boot time's precision).
func StartWallTime(ticks uint64) time.Time {
	bt := bootTime()
	if bt.IsZero() {
		return time.Time{}
	}
	return bt.Add(time.Duration(ticks) * (time.Second / clockTicks))
}

// ListPIDs returns every pid in /proc.
func ListPIDs() ([]int, error) {
	f, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Snapshot reads every process once.
func Snapshot() ([]ProcStat, error) {
	pids, err := ListPIDs()
	if err != nil {
		return nil, err
	}
	var buf [512]byte
	out := make([]ProcStat, 0, len(pids))
	for _, pid := range pids {
		p, err := readProc(pid, buf[:])
		if err != nil {
			continue // gone since the listing
		}
		out = append(out, p)
	}
	return out, nil
}

// HasEnv reports whether the process's initial environment holds the
// exact entry tag ("NAME=VALUE"). Unreadable environments report false.
func HasEnv(pid int, tag string) bool {
	name, value, ok := strings.Cut(tag, "=")
	if !ok {
		return false
	}
	v, found := EnvValues(pid, name)[name]
	return found && v == value
}

// sendSignal signals one process after confirming its identity. A pidfd is
// opened first and the start time checked after, so the pid cannot be
// recycled between the check and the signal.
func sendSignal(pid int, startTicks uint64, sig syscall.Signal) error {
	if err := guard.allowPID(pid); err != nil {
		return err
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ENOSYS || err == unix.EINVAL {
		fd = -1
	} else if err != nil {
		return err
	}
	if fd >= 0 {
		defer unix.Close(fd)
	}
	p, err := ReadProc(pid)
	if err != nil {
		return err
	}
	if startTicks != 0 && p.StartTicks != startTicks {
		return fmt.Errorf("pid %d: %w", pid, ErrNotSame)
	}
	if fd >= 0 {
		return unix.PidfdSendSignal(fd, sig, nil, 0)
	}
	return syscall.Kill(pid, sig)
}

// SameProcess reports whether pid is alive (not a zombie) and started at
// startTicks.
func SameProcess(pid int, startTicks uint64) bool {
	if pid <= 0 {
		return false
	}
	p, err := ReadProc(pid)
	return err == nil && !p.Zombie() && (startTicks == 0 || p.StartTicks == startTicks)
}

func setSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// ancestors returns the pids above this process, up to pid 1.
func ancestors() map[int]bool {
	a := make(map[int]bool)
	pid := os.Getppid()
	for i := 0; pid > 1 && i < 4096 && !a[pid]; i++ {
		a[pid] = true
		p, err := ReadProc(pid)
		if err != nil {
			break
		}
		pid = p.PPID
	}
	return a
}

// ErrNotSame means a pid now belongs to a different process than recorded.
var ErrNotSame = errors.New("pid belongs to a different process now (start time differs)")

const treeSupported = true

// EnvValues returns the values of the named variables in the process's
// initial environment (those present). Unreadable environments give nil.
func EnvValues(pid int, names ...string) map[string]string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(b) == 0 {
		return nil
	}
	var out map[string]string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		var e []byte
		if i < 0 {
			e, b = b, nil
		} else {
			e, b = b[:i], b[i+1:]
		}
		for _, n := range names {
			if len(e) > len(n) && e[len(n)] == '=' && string(e[:len(n)]) == n {
				if out == nil {
					out = make(map[string]string, len(names))
				}
				out[n] = string(e[len(n)+1:])
			}
		}
	}
	return out
}

// PIDNamespace is the inode of this process's PID namespace: two
// processes with the same pid number are the same process only if this
// is equal too.
var PIDNamespace = sync.OnceValue(func() uint64 {
	ns, _ := ProcPIDNamespace(0)
	return ns
})

// ProcPIDNamespace returns the inode of a process's PID namespace (0: this
// process). It needs the right to inspect the process (same user, or root).
func ProcPIDNamespace(pid int) (uint64, error) {
	path := "/proc/self/ns/pid"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/ns/pid"
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
