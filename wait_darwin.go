package main

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/watchdog-run/watchdog/supervise"
)

// waitSet is what `watchdog wait` sleeps on: a kqueue with EVFILT_PROC
// NOTE_EXIT on each supervisor it watches. macOS has no inotify; the tasks
// it cannot watch that way are looked up in the registry every
// registryPollInterval.
type waitSet struct {
	kq      int         // -1: no kqueue (every task is then looked up in the registry)
	procs   map[int]int // supervisor pid → key
	noWatch error       // set only where a watch the platform has failed (never here: polling is the design)
}

func newWaitSet(string) *waitSet {
	kq, err := unix.Kqueue()
	if err != nil {
		kq = -1
	}
	return &waitSet{kq: kq, procs: map[int]int{}}
}

// watchRegistry: macOS has no inotify; next reads the registry every
// registryPollInterval when asked to.
func (w *waitSet) watchRegistry() bool { return false }

// watch starts watching the supervisor s under key; false when it is not
// alive here. The exit filter is registered before the identity is
// checked, so a pid recycled in between cannot slip in.
func (w *waitSet) watch(key int, s supervise.SupervisorID) bool {
	if w.kq < 0 || s.PID <= 0 {
		return false
	}
	var ev unix.Kevent_t
	unix.SetKevent(&ev, s.PID, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	if _, err := unix.Kevent(w.kq, []unix.Kevent_t{ev}, nil, nil); err != nil {
		return false
	}
	if s.Liveness() != supervise.Alive {
		unix.SetKevent(&ev, s.PID, unix.EVFILT_PROC, unix.EV_DELETE)
		unix.Kevent(w.kq, []unix.Kevent_t{ev}, nil, nil)
		return false
	}
	w.procs[s.PID] = key
	return true
}

// next sleeps until a watched supervisor exits, the deadline (zero: none)
// passes, or, when registryToo, registryPollInterval has passed.
func (w *waitSet) next(deadline time.Time, registryToo bool) (wakeup, error) {
	for {
		timeout := pollTimeout(deadline, registryToo)
		var wk wakeup
		n := 0
		if w.kq < 0 || len(w.procs) == 0 {
			if timeout < 0 {
				return wk, fmt.Errorf("nothing to wait on") // no caller gets here: a task is watched or looked up
			}
			time.Sleep(time.Duration(timeout) * time.Millisecond)
		} else {
			var ts *unix.Timespec
			if timeout >= 0 {
				t := unix.NsecToTimespec(int64(timeout) * int64(time.Millisecond))
				ts = &t
			}
			evs := make([]unix.Kevent_t, len(w.procs))
			var err error
			n, err = unix.Kevent(w.kq, nil, evs, ts)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return wk, fmt.Errorf("kevent: %w", err)
			}
			for _, ev := range evs[:n] {
				if key, ok := w.procs[int(ev.Ident)]; ok && ev.Filter == unix.EVFILT_PROC {
					delete(w.procs, int(ev.Ident))
					wk.exited = append(wk.exited, key)
				}
			}
		}
		if len(wk.exited) > 0 {
			return wk, nil
		}
		switch {
		case !deadline.IsZero() && !time.Now().Before(deadline):
			wk.timeout = true
		case registryToo && n == 0:
			wk.registry = true
		default:
			continue
		}
		return wk, nil
	}
}

func (w *waitSet) close() {
	if w.kq >= 0 {
		unix.Close(w.kq)
		w.kq = -1
	}
}
