package supervise

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Subscribing to a signal costs a round trip to the Go runtime's
// signal-mask thread, about 50 µs per signal on a 2-core VM, and a
// supervisor needs eight or nine: 0.4 ms, a fifth of what `timeout true`
// takes in all. SubscribeEarly starts that in the background at the top of
// main, so it overlaps with argument parsing and the registry read instead
// of delaying the fork.
type subscription struct {
	ch    chan os.Signal
	ready chan struct{}
}

var early *subscription

// SubscribeEarly begins, in the background, the signal subscription the
// next Start needs (coreutils selects Config.Coreutils' set). A
// terminating signal that arrives before Start makes Start refuse to run
// the command (an *Interrupted error); others are dropped: there was no
// command yet to pass them to.
func SubscribeEarly(coreutils bool) {
	sub := &subscription{ch: make(chan os.Signal, 64), ready: make(chan struct{})}
	early = sub
	sigs := nativeSignals()
	if coreutils {
		sigs = coreutilsSignals(0)
	}
	go func() {
		signal.Notify(sub.ch, sigs...)
		close(sub.ready)
	}()
}

// Interrupted is Start's error when a terminating signal arrived before
// the command was started.
type Interrupted struct{ Signal syscall.Signal }

func (e *Interrupted) Error() string {
	return fmt.Sprintf("received %s before the command started; it was not run", SignalName(e.Signal))
}

func nativeSignals() []os.Signal {
	return append(Forwarded[:len(Forwarded):len(Forwarded)], syscall.SIGCHLD)
}

func coreutilsSignals(term syscall.Signal) []os.Signal {
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGALRM,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCHLD}
	if catchable(term) {
		sigs = append(sigs, term)
	}
	return sigs
}

// subscribe sets s.sigs up with sigs: the early subscription if there is
// one (adding only what it lacks), otherwise a new one.
func (s *Supervisor) subscribe(sigs []os.Signal) {
	e := early
	early = nil
	if e == nil {
		s.sigs = make(chan os.Signal, 64)
		signal.Notify(s.sigs, sigs...)
		return
	}
	<-e.ready
	s.sigs = e.ch
	s.early = true
	signal.Notify(s.sigs, sigs...) // signals already subscribed cost nothing
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
