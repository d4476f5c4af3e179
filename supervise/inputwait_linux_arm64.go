package supervise

import "golang.org/x/sys/unix"

// inputCalls are the system calls a process reading input sleeps in, by
// their arm64 numbers (/proc/PID/syscall gives the number). arm64 has no
// poll, select or epoll_wait: libc calls ppoll, pselect6 and epoll_pwait.
var inputCalls = map[int]inputCall{
	unix.SYS_READ:         readCall,
	unix.SYS_READV:        readCall,
	unix.SYS_PREAD64:      readCall,
	unix.SYS_PREADV:       readCall,
	unix.SYS_PREADV2:      readCall,
	unix.SYS_RECVFROM:     readCall,
	unix.SYS_RECVMSG:      readCall,
	unix.SYS_PPOLL:        pollCall,
	unix.SYS_PSELECT6:     selectCall,
	unix.SYS_EPOLL_PWAIT:  epollCall,
	unix.SYS_EPOLL_PWAIT2: epollCall,
}
