package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/watchdog-run/watchdog/supervise"
)

// waitSet is what `watchdog wait` sleeps on, in one poll(2): a pidfd on
// each supervisor it watches and, once a task is waited for through the
// registry, an inotify watch on the registry's directory (the registry is
// replaced by rename, so the directory is watched, for the file's name).
// The watch is made only when needed: closing an inotify descriptor waits
// for the kernel's SRCU grace period (milliseconds), on the way out.
type waitSet struct {
	path   string
	tried  bool // watchRegistry ran
	notify int  // inotify descriptor; -1: none (the registry is then read every registryPollInterval)
	procs  []watchedProc
	// noWatch: why there is no inotify watch, once one was needed
	noWatch error
}

type watchedProc struct{ fd, key int }

func newWaitSet(path string) *waitSet { return &waitSet{path: path, notify: -1} }

// watchRegistry makes the registry's changes wake next. It reports true
// when the watch is new: what was written before it began woke no one, so
// the caller reads the registry again. Without inotify (noWatch says why)
// next reads it every registryPollInterval.
func (w *waitSet) watchRegistry() bool {
	if w.tried {
		return false
	}
	w.tried = true
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		w.noWatch = fmt.Errorf("inotify: %w", err)
		return false
	}
	// IN_MOVED_TO: the registry replaced by rename (every writer of this
	// tool); IN_CLOSE_WRITE: written in place (another tool); IN_DELETE:
	// removed. The directory's own end ends the watch (IN_IGNORED).
	const mask = unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	dir := filepath.Dir(w.path)
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		w.noWatch = fmt.Errorf("inotify watch on %s: %w", esc(dir), err)
		return false
	}
	w.notify = fd
	return true
}

// watch starts watching the supervisor s under key; false when it is not
// alive here (gone, in another PID namespace, on another host) or the
// kernel has no pidfds (before 5.3): the task is then waited for through
// the registry. The pidfd is opened before the identity is checked: if the
// check passes, the process the pidfd holds is the supervisor, and a pid
// recycled meanwhile cannot slip in.
func (w *waitSet) watch(key int, s supervise.SupervisorID) bool {
	if s.PID <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(s.PID, 0)
	if err != nil {
		return false
	}
	if s.Liveness() != supervise.Alive {
		unix.Close(fd)
		return false
	}
	w.procs = append(w.procs, watchedProc{fd, key})
	return true
}

// next sleeps until a watched supervisor exits, the registry changes (only
// when registryToo: otherwise its changes wait in the inotify queue), or
// the deadline (zero: none) passes.
func (w *waitSet) next(deadline time.Time, registryToo bool) (wakeup, error) {
	for {
		fds := make([]unix.PollFd, 0, len(w.procs)+1)
		for _, p := range w.procs {
			fds = append(fds, unix.PollFd{Fd: int32(p.fd), Events: unix.POLLIN})
		}
		useNotify := registryToo && w.notify >= 0
		if useNotify {
			fds = append(fds, unix.PollFd{Fd: int32(w.notify), Events: unix.POLLIN})
		}
		readEvery := registryToo && w.notify < 0
		timeout := pollTimeout(deadline, readEvery)
		n, err := unix.Poll(fds, timeout)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return wakeup{}, fmt.Errorf("poll: %w", err)
		}
		var wk wakeup
		if n == 0 {
			switch {
			case !deadline.IsZero() && !time.Now().Before(deadline):
				wk.timeout = true
			case readEvery:
				wk.registry = true
			default:
				continue // woke a little early
			}
			return wk, nil
		}
		kept := w.procs[:0]
		for i, p := range w.procs {
			if fds[i].Revents != 0 {
				unix.Close(p.fd)
				wk.exited = append(wk.exited, p.key)
			} else {
				kept = append(kept, p)
			}
		}
		w.procs = kept
		if useNotify && fds[len(fds)-1].Revents != 0 {
			wk.registry = w.drain()
		}
		if len(wk.exited) > 0 || wk.registry {
			return wk, nil
		}
	}
}

// drain reads the queued inotify events and reports whether one may mean
// the registry changed. If the directory went away, so did the watch: the
// registry is read every registryPollInterval from then on.
func (w *waitSet) drain() bool {
	changed := false
	var buf [4096]byte
	for {
		n, err := unix.Read(w.notify, buf[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 || err != nil {
			return changed
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			switch {
			case ev.Mask&unix.IN_Q_OVERFLOW != 0:
				changed = true // events were lost: look
			case ev.Mask&unix.IN_IGNORED != 0:
				unix.Close(w.notify)
				w.notify, w.noWatch = -1, fmt.Errorf("the registry's directory is gone")
				return true
			case ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF) != 0:
				changed = true
			case string(bytes.TrimRight(name, "\x00")) == filepath.Base(w.path):
				changed = true
			}
		}
	}
}

func (w *waitSet) close() {
	for _, p := range w.procs {
		unix.Close(p.fd)
	}
	w.procs = nil
	if w.notify >= 0 {
		unix.Close(w.notify)
		w.notify = -1
	}
}
