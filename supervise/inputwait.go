package supervise

import "strconv"

// InputWait is a process blocked reading input: a terminal, or a pipe or
// socket that nothing in its task will write (InputWaits says exactly
// which). It is the likely reason a task that seems hung makes no progress
// (issue #14).
type InputWait struct {
	PID  int
	Comm string // the process's name (/proc/PID/comm); "" if unreadable
	FD   int
	// On is what it reads: "stdin" for fd 0, else the file's name when it
	// has one ("/dev/tty", "/dev/pts/3", a FIFO's path), else "fd N".
	On string
	// Detail is what that is: "a pipe nobody writes", "the terminal
	// /dev/pts/3" (on stdin), "a terminal", "a socket nobody writes",
	// "a socket".
	Detail string
	// Others is, when the process waits in poll, select or epoll_wait
	// rather than a read, how many other files it waits on at the same
	// time: input on any of them would wake it too. 0 for a plain read.
	Others int
}

// String says what the process waits for, for a line that already names
// the process: "waiting for input on stdin (a pipe nobody writes)".
func (w InputWait) String() string {
	s := "waiting for input on " + w.On + " (" + w.Detail + ")"
	switch {
	case w.Others == 1:
		s += " or on 1 other file"
	case w.Others > 1:
		s += " or on " + strconv.Itoa(w.Others) + " other files"
	}
	return s
}

// Describe is String with the process: "pid 4242 (cat) is waiting for
// input on stdin (a pipe nobody writes)".
func (w InputWait) Describe() string {
	who := "pid " + strconv.Itoa(w.PID)
	if w.Comm != "" {
		who += " (" + w.Comm + ")"
	}
	return who + " is " + w.String()
}
