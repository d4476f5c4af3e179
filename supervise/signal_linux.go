package supervise

import (
	"strconv"
	"strings"
	"syscall"
)

var osSignalNames = []sigName{
	{"STKFLT", 16},
	{"CHLD", syscall.SIGCHLD},
	{"CLD", syscall.SIGCHLD},
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
	{"POLL", syscall.SIGPOLL}, // before IO, as in gnulib's table: coreutils prints POLL
	{"IO", syscall.SIGIO},
	{"PWR", syscall.SIGPWR},
	{"SYS", syscall.SIGSYS},
}

// glibc reserves 32 and 33 for itself, so SIGRTMIN is 34 in C programs.
const (
	rtMin     = 34
	rtMax     = 64
	maxSignal = 64
)

func rtSignalByName(name string) (int, bool) {
	var base, sign int
	var rest string
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base, sign, rest = rtMin, 1, name[5:]
	case strings.HasPrefix(name, "RTMAX"):
		base, sign, rest = rtMax, -1, name[5:]
	default:
		return 0, false
	}
	if rest == "" {
		return base, true
	}
	if len(rest) < 2 || sign > 0 && rest[0] != '+' || sign < 0 && rest[0] != '-' {
		return 0, false
	}
	d, err := strconv.Atoi(rest[1:])
	if err != nil || d < 0 || d > rtMax-rtMin || rest[1] == '+' || rest[1] == '-' {
		return 0, false
	}
	return base + sign*d, true
}

func rtSignalName(sig syscall.Signal) (string, bool) {
	n := int(sig)
	if n < rtMin || n > rtMax {
		return "", false
	}
	name, base := "RTMAX", rtMax
	if n <= rtMin+(rtMax-rtMin)/2 {
		name, base = "RTMIN", rtMin
	}
	if d := n - base; d != 0 {
		name += strconv.FormatInt(int64(d), 10)
		if d > 0 {
			name = name[:5] + "+" + name[5:]
		}
	}
	return name, true
}
