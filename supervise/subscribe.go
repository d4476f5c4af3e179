package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/watchdog-run/watchdog/internal/phase"
)

// Subscribing to a signal costs a round trip to the Go runtime's
// signal-mask thread, and a supervisor needs eight or nine: together a
// large share of a short run's time (README, Performance). Two things keep
// most of it off the path to the fork:
//
//   - SubscribeEarly starts the subscription in the background at the top
//     of main, so it overlaps with argument parsing and the registry read;
//   - only the signals that would end the supervisor (and so orphan the
//     command) must be subscribed before the fork: INT, TERM and HUP (the
//     runtime dies of them) and QUIT (it dumps its goroutines and exits).
//     The runtime ignores the others while nobody subscribes to them (USR1,
//     USR2 and ALRM included, unlike a C program), so they follow while the
//     command starts: one that arrives meanwhile is dropped, as it would be
//     a moment before the command existed. Wait waits for them and then
//     reaps once, so an exit that happened before CHLD was subscribed is not
//     missed.
type subscription struct {
	ch       chan os.Signal
	sigs     []os.Signal   // every signal it subscribes to
	critical chan struct{} // closed when the signals that must be caught are
	ready    chan struct{} // closed when all are
}

var early *subscription

// SubscribeHook, when set (tests only), runs between the critical part of
// an early subscription and the rest.
var SubscribeHook func()

// SubscribeEarly begins, in the background, the signal subscription the
// next Start needs (coreutils selects Config.Coreutils' set). A
// terminating signal that arrives before Start makes Start refuse to run
// the command (an *Interrupted error); others are dropped: there was no
// command yet to pass them to.
func SubscribeEarly(coreutils bool) {
	critical, rest := nativeSignals()
	if coreutils {
		critical, rest = coreutilsSignals(0)
	}
	sub := &subscription{ch: make(chan os.Signal, 64), sigs: append(critical, rest...),
		critical: make(chan struct{}), ready: make(chan struct{})}
	early = sub
	go func() {
		signal.Notify(sub.ch, critical...)
		phase.Mark("critical signals subscribed")
		close(sub.critical)
		if SubscribeHook != nil {
			SubscribeHook()
		}
		signal.Notify(sub.ch, rest...)
		phase.Mark("all signals subscribed")
		close(sub.ready)
	}()
}

// Interrupted is Start's error when a terminating signal arrived before
// the command was started.
type Interrupted struct{ Signal syscall.Signal }

func (e *Interrupted) Error() string {
	return fmt.Sprintf("received %s before the command started; it was not run", SignalName(e.Signal))
}

// criticalSignals are the signals the Go runtime would end the supervisor
// for, were they not subscribed to.
func criticalSignals() []os.Signal {
	return []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}
}

// nativeSignals are what a native supervisor subscribes to.
func nativeSignals() (crit, rest []os.Signal) {
	return criticalSignals(), []os.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCHLD}
}

// coreutilsSignals are GNU timeout's, with the deadline signal term.
func coreutilsSignals(term syscall.Signal) (crit, rest []os.Signal) {
	rest = []os.Signal{syscall.SIGALRM, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCHLD}
	if catchable(term) && !slices.Contains(criticalSignals(), os.Signal(term)) && !slices.Contains(rest, os.Signal(term)) {
		rest = append(rest, term)
	}
	return criticalSignals(), rest
}

// subscribe sets s.sigs up: the early subscription if there is one, once
// its critical part is done (adding what it lacks), otherwise a new one.
func (s *Supervisor) subscribe(critical, rest []os.Signal) {
	e := early
	early = nil
	if e == nil {
		s.sigs = make(chan os.Signal, 64)
		signal.Notify(s.sigs, append(critical, rest...)...)
		return
	}
	<-e.critical
	s.sigs = e.ch
	s.early = true
	s.pending = e.ready
	if extra := missing(append(critical, rest...), e.sigs); len(extra) > 0 {
		signal.Notify(s.sigs, extra...) // a deadline signal of its own, say
	}
}

// missing are the signals of want not in have.
func missing(want, have []os.Signal) []os.Signal {
	var out []os.Signal
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// subscribed waits for the rest of an early subscription and reaps once:
// a child that exited before CHLD was subscribed sent its signal to no
// one.
func (s *Supervisor) subscribed() {
	if s.pending == nil {
		return
	}
	<-s.pending
	s.pending = nil
	s.reap(false)
}

// interrupted reports a signal of the early subscription, received before
// the command started, for which stop is true. Others are dropped.
func (s *Supervisor) interrupted(stop func(syscall.Signal) bool) error {
	if !s.early {
		return nil // without an early subscription such a signal ended us
	}
	for {
		select {
		case v := <-s.sigs:
			if sig := v.(syscall.Signal); stop(sig) {
				return &Interrupted{Signal: sig}
			}
		default:
			return nil
		}
	}
}
