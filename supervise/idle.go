package supervise

import (
	"fmt"
	"time"
)

// idleTimer is the idle timeout's clock: it fires when the output may have
// been silent for the timeout, and expired checks that it was. One timer
// re-armed for the rest of the silence, not a tick per interval.
type idleTimer struct {
	t       *time.Timer
	timeout time.Duration
}

func (s *Supervisor) idleTimer() *idleTimer {
	if s.cfg.IdleTimeout <= 0 || s.cfg.Output == nil {
		return &idleTimer{}
	}
	return &idleTimer{t: time.NewTimer(s.cfg.IdleTimeout), timeout: s.cfg.IdleTimeout}
}

// C is the channel to select on; nil (never ready) without a timeout.
func (i *idleTimer) C() <-chan time.Time {
	if i.t == nil {
		return nil
	}
	return i.t.C
}

// expired reports whether the output has been silent for the timeout;
// if not, the timer is set for the rest. Once expired the timer is done.
func (i *idleTimer) expired(o *Output) bool {
	silent := o.Silent(time.Now())
	if silent >= i.timeout {
		i.t = nil
		return true
	}
	i.t.Reset(i.timeout - silent)
	return false
}

func (i *idleTimer) stop() {
	if i.t != nil {
		i.t.Stop()
		i.t = nil
	}
}

// waitingForInput is what of the tree is blocked reading input, read when
// the idle timeout fires: the likely reason for the silence.
func (s *Supervisor) waitingForInput() []InputWait {
	return InputWaits(s.Members())
}

// noticeIdle says that the idle timeout ended the run, and what was
// waiting for input, whether or not --verbose was asked for: an idle
// timeout is the watchdog's own decision, and exits 124 as a deadline does.
func (s *Supervisor) noticeIdle(waiting []InputWait) {
	if s.cfg.Notices == nil {
		return
	}
	fmt.Fprintf(s.cfg.Notices, "%s: no output for %v (--idle-timeout): ending the command\n", s.cfg.ProgName, s.cfg.IdleTimeout)
	for _, w := range waiting {
		fmt.Fprintf(s.cfg.Notices, "%s: %s\n", s.cfg.ProgName, w.Describe())
	}
}
