package supervise

import (
	"golang.org/x/sys/unix"
)

// WatchExit returns a channel closed when the process pid, started at
// ticks, exits: kqueue's EVFILT_PROC NOTE_EXIT, no polling. The identity
// is checked once the watch is registered.
func WatchExit(pid int, ticks uint64) (<-chan struct{}, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, err
	}
	ev := unix.Kevent_t{Ident: uint64(pid), Filter: unix.EVFILT_PROC, Flags: unix.EV_ADD | unix.EV_ONESHOT, Fflags: unix.NOTE_EXIT}
	if _, err := unix.Kevent(kq, []unix.Kevent_t{ev}, nil, nil); err != nil {
		unix.Close(kq)
		if err == unix.ESRCH {
			return nil, ErrNotThatProcess
		}
		return nil, err
	}
	if got, err := StartTicks(pid); err != nil || got != ticks {
		unix.Close(kq)
		return nil, ErrNotThatProcess
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unix.Close(kq)
		out := make([]unix.Kevent_t, 1)
		for {
			if _, err := unix.Kevent(kq, nil, out, nil); err != unix.EINTR {
				return
			}
		}
	}()
	return done, nil
}
