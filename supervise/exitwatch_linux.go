package supervise

import (
	"golang.org/x/sys/unix"
)

// WatchExit returns a channel closed when the process pid, started at
// ticks, exits. It holds a pidfd on the process, so the pid being reused
// later cannot fool it; the identity is checked once the pidfd is open.
// No polling: one goroutine blocks in poll(2) on the pidfd.
func WatchExit(pid int, ticks uint64) (<-chan struct{}, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return nil, ErrNotThatProcess
		}
		return nil, err
	}
	if got, err := StartTicks(pid); err != nil || got != ticks {
		unix.Close(fd)
		return nil, ErrNotThatProcess
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				return
			}
		}
	}()
	return done, nil
}
