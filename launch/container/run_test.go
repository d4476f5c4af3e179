package container

import (
	"syscall"
	"testing"
)

// The engine reports a process killed by signal N as 128+N: the end
// record reads it as a shell does, and docker-run exits with the status.
func TestSupervisedResult(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		res    Result
		code   int
		signal syscall.Signal
	}{
		{Result{StatusCode: 0, ExitCode: 0}, 0, 0},
		{Result{StatusCode: 3, ExitCode: 3}, 3, 0},
		{Result{StatusCode: 128, ExitCode: 128}, 128, 0},
		{Result{StatusCode: 137, ExitCode: 137}, 0, syscall.SIGKILL},
		{Result{StatusCode: 143, ExitCode: 124, TimedOut: true}, 0, syscall.SIGTERM},
		{Result{StatusCode: 192, ExitCode: 192}, 0, syscall.Signal(64)},
		{Result{StatusCode: 193, ExitCode: 193}, 193, 0},
		{Result{StatusCode: 255, ExitCode: 255}, 255, 0},
	} {
		s := c.res.supervised()
		if s.CommandCode != c.code || s.Signal != c.signal || s.Exited != (c.signal == 0) || s.ExitCode != c.res.ExitCode ||
			s.Reraise != 0 || s.TimedOut != c.res.TimedOut {
			t.Errorf("%+v: %+v", c.res, s)
		}
	}
}
