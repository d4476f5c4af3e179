package supervise

import (
	"os"
	"syscall"
	"testing"
)

// The early subscription leaves USR1, USR2 and ALRM until after the fork
// because the Go runtime ignores them while nobody subscribes to them
// (INT, TERM, HUP and QUIT it does not). If a Go release changed that,
// this test process would die here.
func TestRuntimeIgnoresUnsubscribedSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM} {
		// To this thread: the signal is handled before tgkill returns.
		if err := syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig); err != nil {
			t.Fatal(err)
		}
	}
}
