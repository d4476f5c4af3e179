package supervise

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/internal/phase"
)

// Exit statuses of the coreutils `timeout` convention.
const (
	ExitTimedOut = 124 // the deadline passed
	ExitInternal = 125 // the watchdog itself failed
	ExitKilled   = 137 // KILL was needed after the deadline (128+9)
)

// DefaultKillAfter is the grace between the first signal and KILL.
const DefaultKillAfter = 10 * time.Second

// SettleAfter is how long a command runs before Config.OnSettled is called:
// a supervisor still waiting then will wait long.
const SettleAfter = time.Second

// terminating are the forwarded signals after which, as in coreutils, the
// KILL timer starts when a kill-after grace is set.
func terminating(s syscall.Signal) bool {
	return s == syscall.SIGINT || s == syscall.SIGTERM || s == syscall.SIGHUP || s == syscall.SIGQUIT
}

// Config is one supervised run.
type Config struct {
	Spec      Spec
	Timeout   time.Duration  // 0: no deadline
	KillAfter time.Duration  // grace before KILL; 0: never KILL the command
	Signal    syscall.Signal // sent at the deadline; 0 is signal 0 (nothing), as in coreutils
	// Foreground keeps the command in the watchdog's process group (for
	// interactive programs); only the command itself is signalled.
	Foreground bool
	// KeepDescendants leaves processes the command left behind running.
	KeepDescendants bool
	PreserveStatus  bool
	// Verbose, if set, receives a line for every signal sent at a deadline.
	Verbose  io.Writer
	ProgName string // prefix of verbose lines
	// Tag is the NAME=VALUE environment entry of this run.
	Tag string
	// Fault is a test hook called at named points of the run.
	Fault func(point string)
	// Coreutils makes the run behave exactly as GNU coreutils timeout: the
	// watchdog leads a new process group that the command inherits (unless
	// Foreground); a signal goes to the command, then to the whole group,
	// the watchdog ignoring it; the final KILL reaches the watchdog too. Only
	// INT, TERM, HUP, QUIT, ALRM and Signal are forwarded (ALRM counts as the
	// deadline); USR1 and USR2 end the watchdog as their default action
	// would. Processes left behind are not ended.
	Coreutils bool
	// OnSettled, if set, runs once when the command has been running for
	// SettleAfter.
	OnSettled func()
	// BeforeGroupKill, in Coreutils mode, runs just before the KILL that will
	// end the watchdog itself, with the result as it will be.
	BeforeGroupKill func(Result)
	// Cgroup, if set, is the task's own cgroup (NewCgroup): the command is
	// created in it, its members are the tree, KILL is cgroup.kill, and it
	// is removed once empty. Not with Foreground, Coreutils or
	// KeepDescendants, which leave processes where they are. If the
	// command cannot be created in it, the run goes on without it (Started
	// says which).
	Cgroup *Cgroup
	// CgroupRequired: the run has limits in its cgroup (SetLimits), so it
	// must not go on without it.
	CgroupRequired bool
	// Output, if set, is where the command's stdout and stderr go: through
	// the watchdog, to the caller and a log (NewOutput).
	Output *Output
	// IdleTimeout, with Output: no byte on either stream for this long
	// ends the run as a deadline does (Result.Idle). 0: none.
	IdleTimeout time.Duration
	// NullStdin gives the command /dev/null as stdin (--non-interactive).
	NullStdin bool
	// Notices, if set, receives what the watchdog decided on its own that
	// the caller must hear of even without --verbose: an idle timeout.
	Notices io.Writer
}

// Started identifies the started command.
type Started struct {
	PID        int
	PGID       int
	StartTicks uint64
	Deadline   time.Time // zero when there is none
	Cgroup     string    // the task's cgroup; "" when its containment is the tree
}

// Result is how a run ended.
type Result struct {
	// ExitCode is the status the watchdog exits with, in the coreutils
	// convention (124 timed out, 137 killed, the command's own otherwise).
	ExitCode int
	// Reraise, when non-zero, is a signal that killed the command outside a
	// timeout: the watchdog should die of it too, as coreutils does.
	Reraise syscall.Signal
	// Exited/CommandCode and Signal describe the command's own end: its
	// exit code when it exited, the signal when one ended it.
	Exited      bool
	CommandCode int
	Signal      syscall.Signal
	// CoreDumped: the signal that ended the command left a core dump.
	CoreDumped bool
	TimedOut   bool
	// Killed means KILL had to be sent to the command.
	Killed bool
	// Received is the last terminating signal the supervisor received and
	// forwarded (0 if none).
	Received syscall.Signal
	// Leftovers is the number of processes ended after the command exited.
	Leftovers int
	// Stuck lists processes that survived KILL (uninterruptible sleep).
	Stuck []ProcStat
	// Usage is what the whole task used, from its cgroup (zero without
	// one): the OOM kills under its memory limit, peak memory, CPU time.
	Usage Usage
	// Idle: the deadline that passed was the idle timeout (TimedOut is
	// set too); Waiting is what was then blocked reading input.
	Idle    bool
	Waiting []InputWait
	// Stopped is the reason given to Stop, when Stop ended the run
	// (TimedOut is set too: it ended as at a deadline).
	Stopped string
	// LogErr is why the log of the output is incomplete, if it is.
	LogErr error
}

// Supervisor runs one command. Call Start, then Wait (or Abort).
type Supervisor struct {
	cfg      Config
	sigs     chan os.Signal
	proc     *Process
	started  Started
	tree     *Tree
	reaped   bool
	status   syscall.WaitStatus
	subreap  bool
	cg       *Cgroup       // the task's cgroup, nil when there is none
	early    bool          // s.sigs is the early subscription
	pending  chan struct{} // closed when the early subscription is complete
	deadline *time.Timer
	stop     chan string // Stop's reason
	rules    *Tree       // the tree as Start made it, for Members
}

// New prepares a supervisor. Nothing happens until Start.
func New(cfg Config) *Supervisor {
	if cfg.ProgName == "" {
		cfg.ProgName = "watchdog"
	}
	return &Supervisor{cfg: cfg, stop: make(chan string, 1)}
}

// Stop ends the run as its deadline would (the signal, the grace, KILL),
// for a reason found outside the supervisor: the process the task is tied
// to exited, the task never became ready. The first reason counts; a run
// already past its deadline or over is not changed. Safe from any
// goroutine.
func (s *Supervisor) Stop(reason string) {
	select {
	case s.stop <- reason:
	default:
	}
}

// Members are the pids of the task's processes now. Safe from any
// goroutine: it reads a copy of the tree's rules made at the start.
func (s *Supervisor) Members() []int {
	if s.rules == nil {
		return nil
	}
	t := *s.rules
	live, _, err := t.Members()
	if err != nil {
		return nil
	}
	pids := make([]int, len(live))
	for i, p := range live {
		pids[i] = p.PID
	}
	return pids
}

// Start subscribes to signals (before the fork, so an early exit or signal
// is never missed), makes the supervisor a child subreaper where it can,
// and starts the command. The deadline runs from here.
func (s *Supervisor) Start() (Started, error) {
	stop := terminating
	if s.cfg.Coreutils {
		stop = s.startCoreutils()
	} else {
		s.subscribe(nativeSignals())
		if !s.cfg.Foreground && treeSupported {
			// Failure is not fatal: the process group is still contained.
			s.subreap = setSubreaper() == nil
		}
	}
	s.fault("before-start")
	if err := s.interrupted(stop); err != nil {
		s.Close()
		return Started{}, err
	}
	spec := s.cfg.Spec
	spec.NewSession = !s.cfg.Foreground && !s.cfg.Coreutils
	if cg := s.cfg.Cgroup; cg != nil && !s.cfg.Foreground && !s.cfg.Coreutils && !s.cfg.KeepDescendants {
		s.cg = cg
		spec.CgroupFD = cg.FD()
	}
	closeStdin, err := s.stdio(&spec)
	if err != nil {
		s.Close()
		return Started{}, err
	}
	phase.Mark("fork")
	p, err := s.fork(spec)
	phase.Mark("command exec'd")
	closeStdin()
	if s.cfg.Coreutils {
		afterForkCoreutils()
	}
	if err != nil {
		if s.cfg.Output != nil {
			s.cfg.Output.Abandon()
		}
		s.Close()
		return Started{}, err
	}
	if s.cfg.Output != nil {
		s.cfg.Output.start()
	}
	s.proc = p
	if s.cfg.Timeout > 0 && s.cfg.Timeout < MaxDuration {
		s.deadline = time.NewTimer(s.cfg.Timeout)
		s.started.Deadline = time.Now().Add(s.cfg.Timeout)
	}
	s.started.PID = p.PID
	s.started.PGID = p.PID
	if s.cfg.Foreground || s.cfg.Coreutils {
		s.started.PGID = syscall.Getpgrp()
	}
	// The child cannot be reaped before we wait for it, so its start time
	// is readable here even if it already exited.
	s.started.StartTicks, _ = StartTicks(p.PID)
	s.tree = &Tree{
		Leader:       p.PID,
		LeaderTicks:  s.started.StartTicks,
		PGID:         p.PID,
		GroupTrusted: !s.cfg.Foreground,
		Tag:          s.cfg.Tag,
		NotBefore:    s.started.StartTicks,
	}
	if s.subreap {
		s.tree.Root = os.Getpid()
	}
	if s.cg != nil {
		s.tree.Cgroup, s.tree.CgroupOnly = s.cg, true
		s.started.Cgroup = s.cg.Path
	}
	if s.cfg.Foreground || s.cfg.Coreutils {
		s.tree = &Tree{Leader: p.PID, LeaderTicks: s.started.StartTicks, NotBefore: s.started.StartTicks}
	}
	rules := *s.tree
	s.rules = &rules
	s.fault("after-start")
	return s.started, nil
}

// stdio sets the command's stdin, stdout and stderr in spec: the caller's,
// or /dev/null for stdin (NullStdin) and the Output's pipes. The returned
// function closes what only the command needed, once it started.
func (s *Supervisor) stdio(spec *Spec) (func(), error) {
	if s.cfg.Output == nil && !s.cfg.NullStdin {
		return func() {}, nil
	}
	files := []uintptr{0, 1, 2}
	done := func() {}
	if s.cfg.NullStdin {
		null, err := os.Open(os.DevNull)
		if err != nil {
			return nil, err
		}
		files[0], done = null.Fd(), func() { null.Close() }
	}
	if s.cfg.Output != nil {
		files[1], files[2] = s.cfg.Output.files()
	}
	spec.Files = files
	return done, nil
}

// fork starts the command: in the task's cgroup when it has one (and in
// its v1 cgroups, for limits on a hybrid machine: enterSpec), else as a
// plain child.
func (s *Supervisor) fork(spec Spec) (*Process, error) {
	if s.cg == nil {
		return Start(spec)
	}
	defer s.cg.closeFD()
	p, err := Start(s.cg.enterSpec(spec))
	if err != nil && !s.cfg.CgroupRequired {
		// No clone3 into a cgroup here (an old kernel, a cgroup the kernel
		// will not take a process into), or the command cannot run at all:
		// once more without the cgroup tells which, and runs it with the
		// tree's containment if it can.
		s.dropCgroup()
		spec.CgroupFD = 0
		return Start(spec)
	}
	return p, err
}

func (s *Supervisor) fault(point string) {
	if s.cfg.Fault != nil {
		s.cfg.Fault(point)
	}
}

// Started returns what Start recorded about the command.
func (s *Supervisor) Started() Started { return s.started }

// Abort kills a started command and everything it started, without grace,
// and reaps it. For a supervisor that cannot record the run.
func (s *Supervisor) Abort() {
	if s.proc == nil {
		return
	}
	s.signalTree(syscall.SIGKILL)
	for !s.reaped {
		s.reap(true)
	}
	s.drain(0)
	s.removeCgroup()
	if s.cfg.Output != nil {
		_ = s.cfg.Output.Finish()
	}
	s.Close()
}

// dropCgroup gives up the task's cgroup before anything runs in it.
func (s *Supervisor) dropCgroup() {
	if s.cg != nil {
		_ = s.cg.RemoveWhenEmpty(time.Second, nil) // a child that failed to exec may still be counted
		s.cg = nil
	}
}

// removeCgroup removes the task's cgroup once the tree is gone. One that a
// process survived KILL in (uninterruptible sleep) stays, and sweep
// removes it later.
func (s *Supervisor) removeCgroup() {
	if s.cg != nil {
		_ = s.cg.RemoveWhenEmpty(time.Second, func() { s.reap(false) })
	}
}

// Wait supervises the command to its end and to the end of whatever it
// left behind, and returns how it ended.
func (s *Supervisor) Wait() Result {
	s.subscribed()
	if s.cfg.Coreutils {
		return s.waitCoreutils()
	}
	var res Result
	var killC <-chan time.Time
	var deadlineC <-chan time.Time
	if s.deadline != nil {
		deadlineC = s.deadline.C
	}
	escalated := false // a terminating signal went to the tree and KILL may follow
	settledC, stopSettled := s.settleTimer()
	defer stopSettled()
	idle := s.idleTimer()
	stopC := s.stop
	for !s.reaped {
		select {
		case <-idle.C():
			if !idle.expired(s.cfg.Output) {
				continue
			}
			res.TimedOut, res.Idle = true, true
			res.Waiting = s.waitingForInput()
			s.noticeIdle(res.Waiting)
			deadlineC, stopC = nil, nil
			escalated = s.timedOut(escalated, &killC)
		case <-settledC:
			settledC = nil
			s.cfg.OnSettled()
		case sig := <-s.sigs:
			ss := sig.(syscall.Signal)
			if ss == syscall.SIGCHLD {
				s.reap(false)
				continue
			}
			s.forward(ss)
			if terminating(ss) {
				res.Received = ss
				if !escalated && s.cfg.KillAfter > 0 {
					escalated = true
					killC = time.After(s.cfg.KillAfter)
				}
			}
		case <-deadlineC:
			deadlineC, stopC = nil, nil
			idle.stop()
			res.TimedOut = true
			escalated = s.timedOut(escalated, &killC)
		case reason := <-stopC:
			stopC, deadlineC = nil, nil
			idle.stop()
			res.TimedOut, res.Stopped = true, reason
			escalated = s.timedOut(escalated, &killC)
		case <-killC:
			killC = nil
			res.Killed = true
			s.signalTree(syscall.SIGKILL)
		}
	}
	s.commandEnded(&res)
	if !s.cfg.KeepDescendants && !s.cfg.Foreground {
		res.Leftovers, res.Stuck = s.endLeftovers(killC)
	}
	if s.cg != nil {
		res.Usage = s.cg.Usage()
	}
	s.removeCgroup()
	if s.cfg.Output != nil {
		res.LogErr = s.cfg.Output.finish(s.sigs)
	}
	res.ExitCode, res.Reraise = exitStatus(s.status, res.TimedOut, s.cfg.PreserveStatus)
	return res
}

// timedOut is what a deadline (or the idle timeout) sets off: the signal
// to the tree, CONT so a stopped process can act on it, and KILL after the
// grace unless a forwarded signal already scheduled it.
func (s *Supervisor) timedOut(escalated bool, killC *<-chan time.Time) bool {
	s.signalTree(s.cfg.Signal)
	if s.cfg.Signal != syscall.SIGKILL && s.cfg.Signal != syscall.SIGCONT {
		s.signalTree(syscall.SIGCONT)
	}
	if !escalated && s.cfg.KillAfter > 0 {
		escalated = true
		*killC = time.After(s.cfg.KillAfter)
	}
	s.fault("escalating")
	return escalated
}

// endLeftovers ends what the command left behind: TERM, the grace, KILL;
// when KILL is already scheduled (a deadline or a signal escalated), on
// that schedule.
func (s *Supervisor) endLeftovers(killC <-chan time.Time) (int, []ProcStat) {
	grace := s.cfg.KillAfter
	if grace <= 0 {
		grace = DefaultKillAfter
	}
	var n int
	var stuck []ProcStat
	if killC != nil {
		n, stuck = s.drainScheduled(killC)
	} else {
		n, stuck = s.drain(grace)
	}
	if s.cg != nil && s.subreap && len(stuck) == 0 {
		s.reap(false)
		if hasChildren() {
			// A descendant is out of the cgroup (root, or a delegated
			// user, can move it): as subreaper the supervisor still has
			// it, and the tree's rules (descent, group, run tag) find it.
			s.tree.CgroupOnly = false
			m, st := s.drain(grace)
			n, stuck = n+m, st
		}
	}
	return n, stuck
}

// commandEnded is the part of Wait's end both ways of waiting share: the
// deadline is off and res says how the command itself ended.
func (s *Supervisor) commandEnded(res *Result) {
	if s.deadline != nil {
		s.deadline.Stop()
	}
	res.Exited = s.status.Exited()
	if res.Exited {
		res.CommandCode = s.status.ExitStatus()
	} else if s.status.Signaled() {
		res.Signal = s.status.Signal()
		res.CoreDumped = s.status.CoreDump()
	}
	phase.Mark("command reaped")
}

// Close ends the supervisor's signal subscription. Wait leaves it in place:
// a supervisor that records the end and exits stays immune to a stray
// signal until then, and unsubscribing costs a round trip to the runtime's
// signal thread per signal that an exiting
// process has no use for. A program that goes on after Wait calls Close.
func (s *Supervisor) Close() {
	if s.pending != nil {
		<-s.pending // the early subscription must not outlive this
		s.pending = nil
	}
	if s.sigs != nil {
		signal.Stop(s.sigs)
	}
}

// settleTimer fires once after SettleAfter when Config.OnSettled is set.
func (s *Supervisor) settleTimer() (<-chan time.Time, func()) {
	if s.cfg.OnSettled == nil {
		return nil, func() {}
	}
	t := time.NewTimer(SettleAfter)
	return t.C, func() { t.Stop() }
}

// exitStatus applies coreutils' rules to the command's wait status.
func exitStatus(ws syscall.WaitStatus, timedOut, preserve bool) (int, syscall.Signal) {
	var code int
	var reraise syscall.Signal
	switch {
	case ws.Exited():
		code = ws.ExitStatus()
	case ws.Signaled():
		sig := ws.Signal()
		if !timedOut {
			reraise = sig
		}
		if timedOut && sig == syscall.SIGKILL {
			preserve = true
		}
		code = 128 + int(sig)
	default:
		code = ExitInternal
	}
	if timedOut && !preserve {
		code = ExitTimedOut
	}
	return code, reraise
}

// forward passes a received signal on: to the command's group, and to the
// rest of the tree for terminating signals.
func (s *Supervisor) forward(sig syscall.Signal) {
	if s.cfg.Foreground || !terminating(sig) {
		s.signalCommand(sig)
		return
	}
	s.signalTree(sig)
}

// signalCommand signals the command's group (or the command alone in the
// foreground) while it is still unreaped, so its pid cannot be recycled.
func (s *Supervisor) signalCommand(sig syscall.Signal) {
	if s.reaped {
		return
	}
	if s.cfg.Foreground {
		_ = sendSignal(s.proc.PID, 0, sig) // our unreaped child: the pid is ours
		return
	}
	_ = signalGroup(s.proc.PID, sig)
}

// signalTree sends sig to the command's group at once (the cheap, prompt
// part) and then to every other process of the tree.
func (s *Supervisor) signalTree(sig syscall.Signal) {
	if s.cfg.Verbose != nil && sig != syscall.SIGCONT {
		fmt.Fprintf(s.cfg.Verbose, "%s: sending signal %s to command %s\n", s.cfg.ProgName, SignalName(sig), Quote(s.cfg.Spec.Argv[0]))
	}
	s.signalCommand(sig)
	if s.cfg.Foreground {
		return
	}
	// signalCommand covered the group while it was safe to; the tree's other
	// members get the signal one by one, identity checked.
	trusted := s.tree.GroupTrusted
	s.tree.GroupTrusted = false
	_, _ = s.tree.Signal(sig)
	s.tree.GroupTrusted = trusted
}

// reap collects exited children. As the subreaper it also reaps orphaned
// descendants, so they never linger as zombies.
func (s *Supervisor) reap(block bool) {
	for {
		var ws syscall.WaitStatus
		flags := syscall.WNOHANG
		if block && !s.reaped {
			flags = 0
		}
		pid, err := syscall.Wait4(-1, &ws, flags, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if pid == s.proc.PID {
			s.reaped = true
			s.status = ws
			block = false
		}
	}
}

// hasChildren reports whether any child is left (reaped or not). With no
// children at all a subreaper's tree is empty; only a tag scan could still
// find something, which matters when processes left the tree.
func hasChildren() bool {
	_, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
	return err != syscall.ECHILD
}

// drain ends what the command left behind: TERM, up to grace, KILL.
func (s *Supervisor) drain(grace time.Duration) (int, []ProcStat) {
	if s.cg != nil && s.tree.CgroupOnly && !s.cg.Populated() {
		s.reap(false)
		return 0, nil // the cgroup says so: one read, not a /proc scan
	}
	if s.cg == nil && s.subreap && !hasChildren() {
		return 0, nil // the common case costs one syscall, not a /proc scan
	}
	live, _, err := s.tree.Members()
	if err != nil || len(live) == 0 {
		s.reap(false)
		return 0, nil
	}
	n := len(live)
	if grace > 0 {
		if s.cfg.Verbose != nil {
			fmt.Fprintf(s.cfg.Verbose, "%s: ending %d process(es) the command left behind\n", s.cfg.ProgName, n)
		}
		s.signalLeft(live, syscall.SIGTERM)
		s.signalLeft(live, syscall.SIGCONT)
	}
	_, stuck := s.drainScheduled(time.After(grace))
	return n, stuck
}

// drainScheduled waits for the tree to empty, sends KILL when killC fires,
// and gives up on processes that survive KILL for a while.
func (s *Supervisor) drainScheduled(killC <-chan time.Time) (int, []ProcStat) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var giveUp <-chan time.Time
	counted := 0
	for {
		s.reap(false)
		live, _, err := s.tree.Members()
		if err != nil || len(live) == 0 {
			return counted, nil
		}
		if counted == 0 {
			counted = len(live)
		}
		select {
		case <-killC:
			killC = nil
			s.signalLeft(live, syscall.SIGKILL)
			giveUp = time.After(5 * time.Second)
		case <-giveUp:
			return counted, live
		case sig := <-s.sigs:
			if ss := sig.(syscall.Signal); ss != syscall.SIGCHLD {
				s.signalLeft(live, ss)
			}
		case <-tick.C:
		}
	}
}

// signalLeft signals what the command left behind: through the cgroup
// when the task has one (which also reaches what forked since live was
// read), else each of live after its identity check.
func (s *Supervisor) signalLeft(live []ProcStat, sig syscall.Signal) {
	if s.cg != nil {
		_, _ = s.cg.Signal(sig)
		if s.tree.CgroupOnly {
			return
		}
	}
	_, _ = signalEach(live, sig) // identity checked: one already ended is not hit
}
