package supervise

import (
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is the kernel's struct sigaction on amd64 and arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// Reraise makes the watchdog die of sig, as coreutils `timeout` does when
// its command was killed by a signal, so the caller sees the same wait
// status. Core dumps are disabled first. The Go runtime would turn some
// signals into a stack dump, so the default action is restored with a raw
// rt_sigaction. If the process survives (a signal whose default is to be
// ignored), it exits 128+sig.
func Reraise(sig syscall.Signal) {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	var sa kernelSigaction // SIG_DFL
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	set := uint64(1) << (uint(sig) - 1)
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 1 /* SIG_UNBLOCK */, uintptr(unsafe.Pointer(&set)), 0, 8, 0, 0)
	_ = syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig)
	time.Sleep(50 * time.Millisecond) // delivery is asynchronous for a few signals
	os.Exit(128 + int(sig))
}

// ignore makes this process ignore sig. The Go runtime leaves signals 32
// and 34 at their default action, reserved for C libraries' threads, and
// os/signal cannot change them; a `timeout -s RTMIN` must still survive the
// signal it sends to its own group, so for those two the disposition is
// set with rt_sigaction directly.
func ignore(sig syscall.Signal) {
	if sig == 32 || sig == 34 {
		sa := kernelSigaction{handler: 1} // SIG_IGN
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
		return
	}
	signal.Ignore(sig)
}
