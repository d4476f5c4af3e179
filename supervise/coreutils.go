package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// startCoreutils prepares the process group and signals as GNU timeout
// does: it becomes the leader of a new group (unless --foreground) that the
// command will inherit, and listens to the signals timeout handles.
func (s *Supervisor) startCoreutils() (stop func(syscall.Signal) bool) {
	if !s.cfg.Foreground {
		_ = syscall.Setpgid(0, 0)
	}
	// Out of the terminal's foreground group, timeout must not be stopped
	// by TTIN or TTOU, and the command must be (GNU resets them to their
	// default in the child). Caught, not ignored, until the fork: the
	// child starts with caught signals at their default but ignored ones
	// ignored. afterFork then ignores them for good, so a -v message
	// written under `stty tostop` goes out instead of raising TTOU again.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTTIN, syscall.SIGTTOU)
	s.subscribe(coreutilsSignals(s.cfg.Signal))
	// Before the fork every signal it handles but CHLD would end GNU
	// timeout: the terminating ones through cleanup(), USR1 and USR2 by
	// their default action.
	return func(sig syscall.Signal) bool { return sig != syscall.SIGCHLD }
}

// afterForkCoreutils: the command has its own TTIN and TTOU; this process
// ignores them from now on, as GNU timeout does.
func afterForkCoreutils() {
	signal.Ignore(syscall.SIGTTIN, syscall.SIGTTOU)
}

func catchable(sig syscall.Signal) bool {
	return sig != 0 && sig != syscall.SIGKILL && sig != syscall.SIGSTOP
}

// waitCoreutils is GNU timeout's main loop: the deadline or a received
// terminating signal runs "cleanup" (signal the command and the group,
// arm the KILL timer once); the command's status decides the exit.
func (s *Supervisor) waitCoreutils() Result {
	var res Result
	var deadlineC, killC <-chan time.Time
	if s.deadline != nil {
		deadlineC = s.deadline.C
	}
	termSignal := s.cfg.Signal
	killAfter := s.cfg.KillAfter
	cleanup := func(sig syscall.Signal) {
		if killAfter > 0 {
			killC = time.After(killAfter)
			killAfter = 0 // later signals do not re-arm it
		}
		s.coreutilsSignal(sig, &res)
	}
	settledC, stopSettled := s.settleTimer()
	defer stopSettled()
	for !s.reaped {
		select {
		case <-settledC:
			settledC = nil
			s.cfg.OnSettled()
		case v := <-s.sigs:
			sig := v.(syscall.Signal)
			switch {
			case sig == syscall.SIGCHLD:
				s.reap(false)
			case sig == syscall.SIGALRM:
				res.TimedOut = true
				cleanup(termSignal)
			case sig == syscall.SIGINT || sig == syscall.SIGTERM || sig == syscall.SIGHUP || sig == syscall.SIGQUIT || sig == termSignal:
				res.Received = sig
				cleanup(sig)
			default: // USR1, USR2: their default action ends timeout
				signal.Stop(s.sigs)
				Reraise(sig)
			}
		case <-deadlineC:
			deadlineC = nil
			res.TimedOut = true
			cleanup(termSignal)
		case <-killC:
			killC = nil
			res.Killed = true
			s.coreutilsSignal(syscall.SIGKILL, &res)
		}
	}
	s.commandEnded(&res)
	res.ExitCode, res.Reraise = exitStatus(s.status, res.TimedOut, s.cfg.PreserveStatus)
	return res
}

// coreutilsSignal is timeout's cleanup(): the signal to the command, then
// to the whole group (this process ignoring it), then CONT so stopped
// processes see it. KILL to the group ends this process as well, as it
// does GNU timeout: the caller's shell sees 137.
func (s *Supervisor) coreutilsSignal(sig syscall.Signal, res *Result) {
	if s.cfg.Verbose != nil {
		fmt.Fprintf(s.cfg.Verbose, "%s: sending signal %s to command %s\n", s.cfg.ProgName, SignalName(sig), Quote(s.cfg.Spec.Argv[0]))
	}
	if !s.reaped {
		_ = syscall.Kill(s.proc.PID, sig) // our unreaped child: the pid cannot be anyone else's
	}
	if s.cfg.Foreground {
		return
	}
	if sig == syscall.SIGKILL && s.cfg.BeforeGroupKill != nil {
		final := *res
		final.ExitCode = ExitKilled
		final.Signal = syscall.SIGKILL
		s.cfg.BeforeGroupKill(final)
	}
	s.signalOwnGroup(sig)
	if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
		if !s.reaped {
			_ = syscall.Kill(s.proc.PID, syscall.SIGCONT)
		}
		s.signalOwnGroup(syscall.SIGCONT)
	}
}

// signalOwnGroup sends sig to the group this process leads, ignoring it
// here first. This is the one place the watchdog signals its own group:
// in timeout mode the group was made for the command (setpgid at start),
// exactly as GNU timeout does. If this process does not lead its group
// (it could not create one), nothing is sent: the group would be the
// caller's.
func (s *Supervisor) signalOwnGroup(sig syscall.Signal) {
	if syscall.Getpgrp() != os.Getpid() {
		return
	}
	if catchable(sig) {
		ignore(sig)
	}
	_ = syscall.Kill(0, sig)
}
