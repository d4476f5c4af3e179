package supervise

import "syscall"

var osSignalNames = []sigName{
	{"CHLD", syscall.SIGCHLD},
	{"CONT", syscall.SIGCONT},
	{"STOP", syscall.SIGSTOP},
	{"TSTP", syscall.SIGTSTP},
	{"TTIN", syscall.SIGTTIN},
	{"TTOU", syscall.SIGTTOU},
	{"URG", syscall.SIGURG},
	{"XCPU", syscall.SIGXCPU},
	{"XFSZ", syscall.SIGXFSZ},
	{"VTALRM", syscall.SIGVTALRM},
	{"PROF", syscall.SIGPROF},
	{"WINCH", syscall.SIGWINCH},
	{"IO", syscall.SIGIO},
	{"SYS", syscall.SIGSYS},
	{"EMT", syscall.SIGEMT},
	{"INFO", syscall.SIGINFO},
}

const maxSignal = 31

func rtSignalByName(string) (int, bool)          { return 0, false }
func rtSignalName(syscall.Signal) (string, bool) { return "", false }
