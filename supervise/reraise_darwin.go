package supervise

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Reraise makes the watchdog die of sig where the runtime allows; otherwise
// it exits 128+sig, which is what a shell reports either way.
func Reraise(sig syscall.Signal) {
	signal.Reset(sig)
	_ = syscall.Kill(os.Getpid(), sig)
	time.Sleep(50 * time.Millisecond)
	os.Exit(128 + int(sig))
}

// ignore makes this process ignore sig.
func ignore(sig syscall.Signal) { signal.Ignore(sig) }
