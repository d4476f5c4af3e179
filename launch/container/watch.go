package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// Once ContainerStart has succeeded the container exists and runs: from
// then on a lost connection to the engine (the wait or the attach stream
// cut, a signal that cannot be delivered) is not a start failure. The
// watcher reconnects with backoff and keeps the deadline, the forwarded
// signals and the KILL grace running meanwhile; what fell due while the
// engine was unreachable is delivered as soon as it answers again.

// engineRetry is how long the engine may stay unreachable after the
// container started before Run gives up on it: that long of uninterrupted
// failed reconnect attempts, and, when there is a deadline, not before the
// deadline plus the KILL grace have passed (a deadline is never abandoned
// while the engine might come back in time to enforce it). Run then returns
// an *EngineLostError; the container's labels let `watchdog sweep` stop it
// once the engine answers.
const engineRetry = 10 * time.Second

// Reconnect attempts are spaced retryFirst apart at first, doubling up to
// retryMax.
const (
	retryFirst = 50 * time.Millisecond
	retryMax   = time.Second
)

// callTimeout bounds each engine call made while supervising a started
// container (kill, inspect, attach, the acknowledgement of a wait): an
// engine that accepts connections but does not answer counts as lost
// instead of hanging the run.
const callTimeout = 5 * time.Second

// EngineLostError is a container that started, after which the engine
// stopped answering for longer than the run could wait (see engineRetry):
// whether and how the container ended is unknown. It is not a start
// failure: the command ran.
//
// Removed is the other way of not knowing: the engine answered again, but
// the container had been removed meanwhile, its exit status with it.
type EngineLostError struct {
	ContainerID string
	Name        string
	Host        string        // the engine's address
	Unreachable time.Duration // length of the last uninterrupted run of failures
	Err         error         // the last failure
	Removed     bool
	TimedOut    bool             // the deadline passed
	Undelivered []syscall.Signal // fell due but never reached the container
}

func (e *EngineLostError) Error() string {
	if e.Removed {
		return fmt.Sprintf("container %s was removed while the Docker engine was unreachable; how it ended is unknown", ShortID(e.ContainerID))
	}
	return fmt.Sprintf("lost the Docker engine at %s after container %s started: unreachable for %s (%v)",
		e.Host, ShortID(e.ContainerID), e.Unreachable.Round(100*time.Millisecond), e.Err)
}

func (e *EngineLostError) Unwrap() error { return e.Err }

// ShortID is a container id as docker ps shows it.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// link is what one connection to the engine gives the watcher: the wait
// for the container's exit and, when attached, its output stream.
type link struct {
	waitC   <-chan container.WaitResponse
	waitErr <-chan error
	cancel  context.CancelFunc      // ends the wait request
	att     *types.HijackedResponse // nil: not attached
	outDone <-chan struct{}         // closed when the output stream ended
}

func (l *link) close() {
	if l.cancel != nil {
		l.cancel()
	}
	if l.att != nil {
		l.att.Close()
	}
}

// copyOutput streams the container's output to ours (and to the log)
// until the stream ends. A TTY's output is one stream.
func (w *watcher) copyOutput(att *types.HijackedResponse) <-chan struct{} {
	stdout, stderr := w.out.streams()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if w.o.TTY {
			_, _ = io.Copy(stdout, att.Reader)
		} else {
			_, _ = stdcopy.StdCopy(stdout, stderr, att.Reader)
		}
	}()
	return done
}

// Kinds of signal the watcher sends.
const (
	dueForward  = iota // received by docker-run and passed on
	dueDeadline        // --signal at the deadline
	dueKill            // KILL after the grace
)

type due struct {
	sig  syscall.Signal
	kind int
}

type attempt struct {
	l       *link
	removed bool
	err     error
}

// watcher supervises a started container.
type watcher struct {
	cli  *client.Client
	o    Options
	id   string
	sigs <-chan os.Signal
	warn io.Writer
	nl   string  // "\r\n" while the terminal is raw
	out  *output // the log and the silence; nil without --log and --idle-timeout
}

func (w *watcher) warnf(format string, a ...any) {
	fmt.Fprintf(w.warn, "watchdog: "+format+w.nl, a...)
}

// watch runs until the container's exit is known (then it is removed
// unless Keep) or the engine is given up on. cur is the connection made
// before the start.
func (w *watcher) watch(ctx context.Context, cur *link, res *Result, cleanup func()) (Result, error) {
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll() // ends a reconnect attempt still under way
	s := w.newWatchState(ctx, cur, res)
	defer s.stop()

	for {
		waitC, waitErr := s.waitChans()
		select {
		case wr := <-waitC:
			s.exited(wr, cleanup)
			return *res, nil
		case err := <-waitErr:
			s.lose(fmt.Errorf("wait for container: %w", err))
		case v := <-w.sigs:
			s.signal(v.(syscall.Signal))
		case <-s.deadlineC:
			s.deadline()
		case <-s.idleC:
			s.idle()
		case <-s.killC:
			s.kill()
		case <-s.retryC:
			s.retry()
		case a := <-s.attempts:
			if err := s.attempted(a); err != nil {
				return *res, err
			}
		}
	}
}

// watchState is what watch's loop keeps between its events. Only the
// loop's goroutine touches it.
type watchState struct {
	w   *watcher
	ctx context.Context // watch's own: cancelled when watch returns
	cur *link           // nil while the engine is unreachable
	res *Result

	deadlineTimer *time.Timer      // nil: no deadline
	deadlineC     <-chan time.Time // nil: no deadline, or it passed
	deadlineAt    time.Time        // zero: no deadline
	giveUpAt      time.Time        // the deadline (or the idle timeout's end) plus the KILL grace; zero: none
	killC         <-chan time.Time // the end of the KILL grace
	armed         bool             // the KILL grace has started
	// The idle timeout's clock: one timer re-armed for the rest of the
	// silence. nil: no idle timeout, or it or the deadline passed.
	idleTimer *time.Timer
	idleC     <-chan time.Time
	// endAt is when the deadline or the idle timeout fell due.
	endAt time.Time

	pending      []due // fell due while the engine was unreachable, in order
	deadlineSent bool
	lostSince    time.Time // zero while connected
	lastErr      error
	backoff      time.Duration
	retryC       <-chan time.Time
	attempts     chan attempt // non-nil while an attempt is under way
}

// newWatchState starts the deadline, if any, from now.
func (w *watcher) newWatchState(ctx context.Context, cur *link, res *Result) *watchState {
	s := &watchState{w: w, ctx: ctx, cur: cur, res: res}
	start := time.Now()
	if w.o.Timeout > 0 {
		s.deadlineTimer = time.NewTimer(w.o.Timeout)
		s.deadlineC = s.deadlineTimer.C
		s.deadlineAt = start.Add(w.o.Timeout)
		s.giveUpAt = s.deadlineAt.Add(w.o.KillAfter)
	}
	if w.o.IdleTimeout > 0 && w.out != nil {
		s.idleTimer = time.NewTimer(w.o.IdleTimeout)
		s.idleC = s.idleTimer.C
	}
	return s
}

// stop releases the deadline timer and the current connection.
func (s *watchState) stop() {
	if s.deadlineTimer != nil {
		s.deadlineTimer.Stop()
	}
	s.stopIdle()
	if s.cur != nil {
		s.cur.close()
	}
}

// waitChans are the current connection's wait channels; nil channels,
// which never fire, while the engine is unreachable.
func (s *watchState) waitChans() (<-chan container.WaitResponse, <-chan error) {
	if s.cur == nil {
		return nil, nil
	}
	return s.cur.waitC, s.cur.waitErr
}

// exited settles the result once the container's exit is known.
func (s *watchState) exited(wr container.WaitResponse, cleanup func()) {
	res, o := s.res, s.w.o
	res.StatusCode = wr.StatusCode
	select { // let the last output arrive
	case <-s.cur.outDone:
	case <-time.After(2 * time.Second):
	}
	if res.TimedOut && !s.deadlineSent && s.w.finishedBefore(s.ctx, s.endAt) {
		// It exited on its own in time; we learnt it late.
		res.TimedOut, res.Idle = false, false
	}
	if !o.Keep {
		cleanup()
	}
	res.ExitCode = exitCode(*res)
	if res.TimedOut && !o.Preserve && !res.Killed {
		res.ExitCode = 124
	}
	if res.TimedOut && o.Preserve && !res.Killed {
		res.ExitCode = int(res.StatusCode)
	}
}

// signal handles a signal docker-run received: SIGWINCH resizes the
// container's terminal to ours, any other is forwarded and starts the
// KILL grace.
func (s *watchState) signal(sig syscall.Signal) {
	if sig == syscall.SIGWINCH {
		if s.cur != nil {
			rctx, cancel := context.WithTimeout(s.ctx, callTimeout)
			resize(rctx, s.w.cli, s.w.id)
			cancel()
		}
		return
	}
	s.res.Received = sig
	s.send(due{sig, dueForward})
	s.arm()
}

// deadline: the timeout passed; send --signal and start the KILL grace.
func (s *watchState) deadline() {
	s.deadlineC = nil
	s.stopIdle()
	s.res.TimedOut, s.endAt = true, s.deadlineAt
	s.send(due{s.w.o.Signal, dueDeadline})
	s.arm()
}

// idle: the idle timer fired. If the output has been silent for the idle
// timeout, the container is ended as at its deadline, and the caller told
// so (as exec tells it, --verbose or not: the watchdog decided); if not,
// the timer is set for the rest of the silence.
func (s *watchState) idle() {
	timeout := s.w.o.IdleTimeout
	now := time.Now()
	if silent := s.w.out.silent(now); silent < timeout {
		s.idleTimer.Reset(timeout - silent)
		return
	}
	s.stopIdle()
	s.deadlineC = nil
	s.res.TimedOut, s.res.Idle, s.endAt = true, true, now
	s.giveUpAt = now.Add(s.w.o.KillAfter) // the end is due now, not at the deadline
	fmt.Fprintf(s.w.warn, "watchdog: no output for %v (--idle-timeout): ending the command%s", timeout, s.w.nl)
	s.send(due{s.w.o.Signal, dueDeadline})
	s.arm()
}

func (s *watchState) stopIdle() {
	if s.idleTimer != nil {
		s.idleTimer.Stop()
		s.idleTimer, s.idleC = nil, nil
	}
}

// kill: the KILL grace passed.
func (s *watchState) kill() {
	s.killC = nil
	s.send(due{syscall.SIGKILL, dueKill})
}

// arm starts the KILL grace, once: it runs from the first signal sent,
// forwarded or at the deadline. A KillAfter of 0 never KILLs.
func (s *watchState) arm() {
	if !s.armed && s.w.o.KillAfter > 0 {
		s.armed = true
		s.killC = time.After(s.w.o.KillAfter)
	}
}

// send delivers d, or, when the engine is unreachable or signals are
// still pending (d must not overtake them), queues it once behind them.
func (s *watchState) send(d due) {
	if len(s.pending) == 0 && s.deliver(d) {
		return
	}
	for _, p := range s.pending {
		if p == d {
			return
		}
	}
	s.pending = append(s.pending, d)
	if s.w.o.Verbose != nil {
		fmt.Fprintf(s.w.o.Verbose, "watchdog: signal %s for container %s is due; sending it once the engine answers%s", signalName(d.sig), s.w.o.Name, s.w.nl)
	}
}

// flush delivers the pending signals in order, until the engine fails
// again.
func (s *watchState) flush() {
	for len(s.pending) > 0 && s.deliver(s.pending[0]) {
		s.pending = s.pending[1:]
	}
}

// deliver sends d now; false: the engine is unreachable (d stays due).
func (s *watchState) deliver(d due) bool {
	w := s.w
	if s.cur == nil {
		return false
	}
	if w.o.Verbose != nil {
		fmt.Fprintf(w.o.Verbose, "watchdog: sending signal %s to container %s%s", signalName(d.sig), w.o.Name, w.nl)
	}
	kctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	err := w.cli.ContainerKill(kctx, w.id, strconv.Itoa(int(d.sig)))
	cancel()
	switch {
	case err == nil:
		switch d.kind {
		case dueDeadline:
			s.deadlineSent = true
		case dueKill:
			s.res.Killed = true
		}
		return true
	case engineAnswered(err):
		// Not running any more (the wait says how it ended), gone, or
		// refused: retrying would not change the answer.
		if w.o.Verbose != nil && !errdefs.IsConflict(err) && !client.IsErrNotFound(err) {
			fmt.Fprintf(w.o.Verbose, "watchdog: signal %s to container %s: %v%s", signalName(d.sig), w.o.Name, err, w.nl)
		}
		return true
	}
	s.lose(fmt.Errorf("send signal %s: %w", signalName(d.sig), err))
	return false
}

// lose drops the connection after err. The first failure of a run of
// them starts the clock of engineRetry and the reconnect attempts.
func (s *watchState) lose(err error) {
	s.lastErr = err
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	if s.lostSince.IsZero() {
		s.lostSince = time.Now()
		s.w.warnf("lost the Docker engine (%v); reconnecting", err)
		s.backoff = retryFirst
		s.retryC = time.After(s.backoff)
	}
}

// retry starts a reconnect attempt in the background: its engine calls
// may take up to callTimeout each, while signals and the deadline keep
// falling due.
func (s *watchState) retry() {
	s.retryC = nil
	ch := make(chan attempt, 1)
	s.attempts = ch
	w, ctx := s.w, s.ctx
	go func() {
		l, removed, err := w.reconnect(ctx)
		ch <- attempt{l, removed, err}
	}()
}

// attempted takes a reconnect attempt's outcome: back to the engine (the
// signals that fell due meanwhile go out), or, when it is time to give
// up, the *EngineLostError Run returns; otherwise the next attempt after
// the backoff.
func (s *watchState) attempted(a attempt) error {
	s.attempts = nil
	switch {
	case a.err == nil:
		s.w.warnf("reconnected to the Docker engine after %s", time.Since(s.lostSince).Round(10*time.Millisecond))
		s.cur, s.lostSince = a.l, time.Time{}
		s.flush()
	case a.removed:
		s.lastErr = a.err
		return s.lostError(true)
	default:
		s.lastErr = a.err
		if s.givingUp(time.Now()) {
			return s.lostError(false)
		}
		s.backoff = min(2*s.backoff, retryMax)
		s.retryC = time.After(s.backoff)
	}
	return nil
}

// givingUp: the engine has been unreachable for engineRetry and, when
// there is a deadline, the deadline plus the KILL grace have passed (see
// engineRetry).
func (s *watchState) givingUp(now time.Time) bool {
	return now.Sub(s.lostSince) >= engineRetry && (s.giveUpAt.IsZero() || !now.Before(s.giveUpAt))
}

// lostError is what Run returns on giving up the engine; removed: the
// engine answered again, without the container.
func (s *watchState) lostError(removed bool) *EngineLostError {
	w := s.w
	e := &EngineLostError{ContainerID: w.id, Name: w.o.Name, Host: w.cli.DaemonHost(), Err: s.lastErr,
		Removed: removed, TimedOut: s.res.TimedOut}
	if !s.lostSince.IsZero() {
		e.Unreachable = time.Since(s.lostSince)
	}
	for _, p := range s.pending {
		e.Undelivered = append(e.Undelivered, p.sig)
	}
	return e
}

// reconnect makes a new link to the started container: it checks that the
// container still exists, re-attaches its output if it still runs, and
// waits for it to be not running, which is answered at once if it exited
// while the engine was unreachable. removed: the engine answered that the
// container is gone.
func (w *watcher) reconnect(ctx context.Context) (l *link, removed bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	info, err := w.cli.ContainerInspect(cctx, w.id)
	if err != nil {
		return nil, client.IsErrNotFound(err), fmt.Errorf("inspect container: %w", err)
	}
	l = &link{}
	if info.State != nil && info.State.Running {
		// Stream only, without Logs: the output resumes from now on. What
		// the container printed while the engine was unreachable is
		// missing (Logs would replay everything since the start, repeating
		// what was already shown). Stdin is not re-attached: with -i it
		// was attached once (StdinOnce), and closed when that attachment
		// dropped.
		att, err := attachWithin(cctx, w.cli, w.id)
		if err != nil {
			return nil, client.IsErrNotFound(err), fmt.Errorf("attach to container: %w", err)
		}
		l.att = att
		l.outDone = w.copyOutput(att)
	} else {
		done := make(chan struct{})
		close(done)
		l.outDone = done
	}
	wctx, wcancel := context.WithCancel(ctx)
	l.cancel = wcancel
	// ContainerWait returns once the engine acknowledged the request; an
	// engine that accepts the connection but does not answer must not
	// hold the attempt forever.
	type waiting struct {
		c <-chan container.WaitResponse
		e <-chan error
	}
	acked := make(chan waiting, 1)
	go func() {
		c, e := w.cli.ContainerWait(wctx, w.id, container.WaitConditionNotRunning)
		acked <- waiting{c, e}
	}()
	select {
	case wt := <-acked:
		l.waitC, l.waitErr = wt.c, wt.e
	case <-cctx.Done():
		l.close()
		return nil, false, fmt.Errorf("wait for container: %w", cctx.Err())
	}
	select {
	case err := <-l.waitErr:
		l.close()
		return nil, client.IsErrNotFound(err), fmt.Errorf("wait for container: %w", err)
	default:
	}
	return l, false, nil
}

// attachWithin attaches to the container's output, giving up when ctx
// ends: the client honours ctx only while dialling, not for the upgrade.
func attachWithin(ctx context.Context, cli *client.Client, id string) (*types.HijackedResponse, error) {
	type attached struct {
		att types.HijackedResponse
		err error
	}
	ch := make(chan attached, 1)
	go func() {
		att, err := cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
		ch <- attached{att, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil {
			return nil, a.err
		}
		return &a.att, nil
	case <-ctx.Done():
		go func() {
			if a := <-ch; a.err == nil {
				a.att.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// finishedBefore: the engine says the container finished before t.
func (w *watcher) finishedBefore(ctx context.Context, t time.Time) bool {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	info, err := w.cli.ContainerInspect(cctx, w.id)
	if err != nil || info.State == nil {
		return false
	}
	fin, err := time.Parse(time.RFC3339Nano, info.State.FinishedAt)
	return err == nil && !fin.IsZero() && fin.Before(t)
}

// engineAnswered: the engine received the request and refused it (no such
// container, not running, …), as opposed to a failure to reach it: those
// errors carry the category of the engine's HTTP status.
func engineAnswered(err error) bool {
	var ne net.Error
	if client.IsErrConnectionFailed(err) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) || errdefs.IsUnavailable(err) {
		return false
	}
	return client.IsErrNotFound(err) || errdefs.IsConflict(err) || errdefs.IsInvalidParameter(err) ||
		errdefs.IsForbidden(err) || errdefs.IsUnauthorized(err) || errdefs.IsSystem(err) ||
		errdefs.IsNotImplemented(err) || errdefs.IsUnknown(err) || errdefs.IsNotModified(err)
}
