package supervise

import "golang.org/x/sys/unix"

// inputCalls are the system calls a process reading input sleeps in, by
// their amd64 numbers (/proc/PID/syscall gives the number). A 32-bit
// process's numbers are the i386 ones; they are read as amd64's, which at
// worst makes a waitpid look like a poll whose memory does not read.
var inputCalls = map[int]inputCall{
	unix.SYS_READ:         readCall,
	unix.SYS_READV:        readCall,
	unix.SYS_PREAD64:      readCall,
	unix.SYS_PREADV:       readCall,
	unix.SYS_PREADV2:      readCall,
	unix.SYS_RECVFROM:     readCall,
	unix.SYS_RECVMSG:      readCall,
	unix.SYS_POLL:         pollCall,
	unix.SYS_PPOLL:        pollCall,
	unix.SYS_SELECT:       selectCall,
	unix.SYS_PSELECT6:     selectCall,
	unix.SYS_EPOLL_WAIT:   epollCall,
	unix.SYS_EPOLL_PWAIT:  epollCall,
	unix.SYS_EPOLL_PWAIT2: epollCall,
}
