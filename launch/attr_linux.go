package launch

import "syscall"

func sysProcAttr(s Spec, pidfd *int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setsid:  s.NewSession,
		Setpgid: s.NewGroup && !s.NewSession,
		PidFD:   pidfd,
	}
}
