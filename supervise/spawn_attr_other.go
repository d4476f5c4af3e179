//go:build !linux

package supervise

import "syscall"

// sysProcAttr: the supervisor is the child's parent and reaper, so the pid
// cannot be recycled while it matters; no pidfd is needed for it.
func sysProcAttr(s Spec) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setsid:  s.NewSession,
		Setpgid: s.NewGroup && !s.NewSession,
	}
}
