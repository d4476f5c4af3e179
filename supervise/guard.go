package supervise

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// ErrForbidden is wrapped by the error for a signal the watchdog refuses to
// send whatever a registry says: to pid or group ≤ 1, itself, its own
// group, or an ancestor.
var ErrForbidden = errors.New("refusing to signal")

type guardState struct {
	once      sync.Once
	self      int
	selfPGID  int
	ancestors map[int]bool
}

var guard guardState

func (g *guardState) init() {
	g.once.Do(func() {
		g.self = os.Getpid()
		g.selfPGID = syscall.Getpgrp()
		g.ancestors = ancestors()
	})
}

// allowPID says whether a process may ever be signalled.
func (g *guardState) allowPID(pid int) error {
	g.init()
	switch {
	case pid <= 1:
		return fmt.Errorf("%w pid %d", ErrForbidden, pid)
	case pid == g.self:
		return fmt.Errorf("%w pid %d: it is the watchdog itself", ErrForbidden, pid)
	case g.ancestors[pid]:
		return fmt.Errorf("%w pid %d: it is an ancestor of the watchdog", ErrForbidden, pid)
	}
	return nil
}

// allowPGID says whether a process group may ever be signalled as a whole.
func (g *guardState) allowPGID(pgid int) error {
	g.init()
	switch {
	case pgid <= 1:
		return fmt.Errorf("%w process group %d", ErrForbidden, pgid)
	case pgid == g.selfPGID:
		return fmt.Errorf("%w process group %d: it is the watchdog's own", ErrForbidden, pgid)
	case pgid == g.self || g.ancestors[pgid]:
		return fmt.Errorf("%w process group %d: it is led by the watchdog or an ancestor", ErrForbidden, pgid)
	}
	return nil
}

// signalGroup signals a whole process group after the guard's checks.
func signalGroup(pgid int, sig syscall.Signal) error {
	if err := guard.allowPGID(pgid); err != nil {
		return err
	}
	return syscall.Kill(-pgid, sig)
}
