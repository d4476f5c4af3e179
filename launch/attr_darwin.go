package launch

import "syscall"

func sysProcAttr(s Spec, _ *int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setsid:  s.NewSession,
		Setpgid: s.NewGroup && !s.NewSession,
	}
}
