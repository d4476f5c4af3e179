package supervise

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v3/process"
	"golang.org/x/sys/unix"
)

// ProcStat is what the watchdog reads about one process. On macOS
// StartTicks is the start time in microseconds since the epoch and CPUTicks
// are microseconds too. ReadProc and Snapshot leave CPUTicks and RSSPages
// zero and State coarse (the kernel's R, S, T or Z); FillFigures reads them.
type ProcStat struct {
	PID        int
	PPID       int
	PGID       int
	SID        int
	State      byte
	StartTicks uint64
	CPUTicks   uint64
	RSSPages   int64
	UID        int
}

// Zombie reports whether the process has exited and awaits its parent.
func (p ProcStat) Zombie() bool { return p.State == 'Z' }

// ReadProc reads one process's identity from the kernel: one sysctl, cheap
// enough for the loops that check identities. It leaves out the figures
// (see FillFigures).
func ReadProc(pid int) (ProcStat, error) {
	var p ProcStat
	if pid <= 0 {
		return p, syscall.ESRCH
	}
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return p, err
	}
	if int(k.Proc.P_pid) != pid {
		return p, syscall.ESRCH
	}
	p.PID = pid
	p.PPID = int(k.Eproc.Ppid)
	p.PGID = int(k.Eproc.Pgid)
	p.UID = int(k.Eproc.Ucred.Uid)
	p.State = kinfoState(k.Proc.P_stat)
	tv := k.Proc.P_starttime
	p.StartTicks = uint64(tv.Sec)*1e6 + uint64(tv.Usec)
	return p, nil
}

// StartTicks returns a live process's start time.
func StartTicks(pid int) (uint64, error) {
	p, err := ReadProc(pid)
	return p.StartTicks, err
}

// BootID is empty on macOS: start times there are wall-clock microseconds.
func BootID() string { return "" }

// StartWallTime converts start ticks (microseconds since the epoch here).
func StartWallTime(ticks uint64) time.Time { return time.UnixMicro(int64(ticks)) }

// Snapshot lists every process.
func Snapshot() ([]ProcStat, error) {
	ks, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, err
	}
	out := make([]ProcStat, 0, len(ks))
	for _, k := range ks {
		if p, err := ReadProc(int(k.Proc.P_pid)); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// HasEnv is not available on macOS: other processes' environments are not
// readable there without privileges, so tagged-process discovery is Linux-only.
func HasEnv(pid int, tag string) bool { return false }

func sendSignal(pid int, startTicks uint64, sig syscall.Signal) error {
	if err := guard.allowPID(pid); err != nil {
		return err
	}
	p, err := ReadProc(pid)
	if err != nil {
		return err
	}
	if startTicks != 0 && p.StartTicks != startTicks {
		return fmt.Errorf("pid %d: %w", pid, ErrNotSame)
	}
	return syscall.Kill(pid, sig)
}

// SameProcess reports whether pid is alive and started at startTicks.
func SameProcess(pid int, startTicks uint64) bool {
	p, err := ReadProc(pid)
	return err == nil && !p.Zombie() && (startTicks == 0 || p.StartTicks == startTicks)
}

func setSubreaper() error { return errors.New("child subreaper is Linux-only") }

func ancestors() map[int]bool {
	a := make(map[int]bool)
	pid := syscall.Getppid()
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

const treeSupported = false

// EnvValues is not available on macOS (see HasEnv).
func EnvValues(pid int, names ...string) map[string]string { return nil }

// clockTicks makes CPUTicks microseconds, the unit of StartTicks here.
const clockTicks = 1_000_000

func init() { readFigures = readGopsutilFigures }

// readGopsutilFigures reads CPU time, resident size and state through
// gopsutil. Built without cgo, each of them runs ps, hence only on request.
// The figures are kept only if the pid still belongs to the same process.
func readGopsutilFigures(p *ProcStat) {
	proc, err := process.NewProcess(int32(p.PID))
	if err != nil {
		return
	}
	var f ProcStat
	if t, err := proc.Times(); err == nil {
		f.CPUTicks = cpuTicks(t.User, t.System, clockTicks)
	}
	if m, err := proc.MemoryInfo(); err == nil {
		f.RSSPages = rssPages(m.RSS, PageSize)
	}
	f.State = p.State
	if st, err := proc.Status(); err == nil && len(st) > 0 {
		f.State = stateLetter(st[0], p.State)
	}
	if now, err := ReadProc(p.PID); err != nil || now.StartTicks != p.StartTicks {
		return
	}
	p.CPUTicks, p.RSSPages, p.State = f.CPUTicks, f.RSSPages, f.State
}

// PIDNamespace is 0 on macOS: there are no PID namespaces.
func PIDNamespace() uint64 { return 0 }

// ProcPIDNamespace is 0 on macOS: there are no PID namespaces.
func ProcPIDNamespace(pid int) (uint64, error) { return 0, nil }
