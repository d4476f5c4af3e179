package supervise

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

type sigName struct {
	name string
	num  syscall.Signal
}

// signalNames follows gnulib's sig2str table order, so that a number
// with two names (ABRT/IOT, CHLD/CLD, IO/POLL) prints as coreutils prints it.
var signalNames = append([]sigName{
	{"EXIT", 0},
	{"HUP", syscall.SIGHUP},
	{"INT", syscall.SIGINT},
	{"QUIT", syscall.SIGQUIT},
	{"ILL", syscall.SIGILL},
	{"TRAP", syscall.SIGTRAP},
	{"ABRT", syscall.SIGABRT},
	{"IOT", syscall.SIGIOT},
	{"BUS", syscall.SIGBUS},
	{"FPE", syscall.SIGFPE},
	{"KILL", syscall.SIGKILL},
	{"USR1", syscall.SIGUSR1},
	{"SEGV", syscall.SIGSEGV},
	{"USR2", syscall.SIGUSR2},
	{"PIPE", syscall.SIGPIPE},
	{"ALRM", syscall.SIGALRM},
	{"TERM", syscall.SIGTERM},
}, osSignalNames...)

// ParseSignal reads a signal the way coreutils does: a number (an exit
// status above 128 of a signalled process means its signal), or a name with
// or without "SIG", in any case ("9", "KILL", "sigkill", "RTMIN+2").
func ParseSignal(s string) (syscall.Signal, error) {
	n := -1
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		if v, err := strconv.ParseInt(s, 10, 32); err == nil {
			i := int(v)
			if ws := syscall.WaitStatus(i); i > 0 && ws.Signaled() {
				n = int(ws.Signal())
			} else {
				n = i
			}
		}
	} else {
		up := strings.ToUpper(s)
		if v, ok := signalByName(up); ok {
			n = v
		} else if rest, ok := strings.CutPrefix(up, "SIG"); ok {
			if v, ok := signalByName(rest); ok {
				n = v
			}
		}
	}
	// As coreutils: a signal is valid only if it has a name (so 32 and 33,
	// which glibc keeps for itself, are not).
	if n < 0 || n > maxSignal || !hasName(syscall.Signal(n)) {
		return 0, fmt.Errorf("%s: invalid signal", Quote(s))
	}
	return syscall.Signal(n), nil
}

func signalByName(name string) (int, bool) {
	for _, sn := range signalNames {
		if sn.name == name {
			return int(sn.num), true
		}
	}
	return rtSignalByName(name)
}

// SignalName is the name coreutils prints for a signal ("TERM", "RTMIN+2"),
// or its number when it has none.
func SignalName(sig syscall.Signal) string {
	for _, sn := range signalNames {
		if sn.num == sig {
			return sn.name
		}
	}
	if name, ok := rtSignalName(sig); ok {
		return name
	}
	return strconv.Itoa(int(sig))
}

func hasName(sig syscall.Signal) bool {
	name := SignalName(sig)
	return name != "" && (name[0] < '0' || name[0] > '9')
}
