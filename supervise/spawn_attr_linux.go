package supervise

import "syscall"

// sysProcAttr: the supervisor is the child's parent and reaper, so the pid
// cannot be recycled while it matters; no pidfd is needed for it. With a
// cgroup the child is created in it (clone3 CLONE_INTO_CGROUP): it runs
// no instruction of its own outside it.
func sysProcAttr(s Spec) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Setsid:  s.NewSession,
		Setpgid: s.NewGroup && !s.NewSession,
	}
	if s.CgroupFD > 0 {
		a.UseCgroupFD, a.CgroupFD = true, s.CgroupFD
	}
	return a
}
