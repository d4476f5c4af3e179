package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/errdefs"
)

// A signal that the engine refused is done with; one that never reached
// the engine stays due until it answers again.
func TestEngineAnswered(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{errdefs.NotFound(errors.New("No such container: x")), true},
		{errdefs.Conflict(errors.New("container x is not running")), true},
		{errdefs.System(errors.New("internal")), true},
		{io.ErrUnexpectedEOF, false},
		{fmt.Errorf("wait for container: %w", io.EOF), false},
		{context.DeadlineExceeded, false},
		{&net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")}, false},
		{errdefs.Unavailable(errors.New("shutting down")), false},
	} {
		if got := engineAnswered(c.err); got != c.want {
			t.Errorf("engineAnswered(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// While the engine is unreachable, signals that fall due queue in the
// order they fell due, each once, and a flush keeps them queued.
func TestWatchPendingWhileUnreachable(t *testing.T) {
	var verbose bytes.Buffer
	s := &watchState{w: &watcher{o: Options{Name: "x", Verbose: &verbose}, nl: "\n"}, res: &Result{}}
	for _, d := range []due{
		{syscall.SIGTERM, dueForward},
		{syscall.SIGINT, dueForward},
		{syscall.SIGTERM, dueForward}, // already pending
		{syscall.SIGTERM, dueDeadline},
		{syscall.SIGKILL, dueKill},
	} {
		s.send(d)
	}
	s.flush()
	want := []due{{syscall.SIGTERM, dueForward}, {syscall.SIGINT, dueForward}, {syscall.SIGTERM, dueDeadline}, {syscall.SIGKILL, dueKill}}
	if !reflect.DeepEqual(s.pending, want) {
		t.Errorf("pending = %v, want %v", s.pending, want)
	}
	if n := strings.Count(verbose.String(), "is due; sending it once the engine answers"); n != len(want) {
		t.Errorf("%d notices of a due signal, want %d:\n%s", n, len(want), verbose.String())
	}
	if s.deadlineSent || s.res.Killed {
		t.Errorf("deadlineSent %v, Killed %v: nothing was delivered", s.deadlineSent, s.res.Killed)
	}
}

// The KILL grace starts once, at the first signal.
func TestWatchArmOnce(t *testing.T) {
	s := &watchState{w: &watcher{o: Options{KillAfter: time.Hour}}, res: &Result{}}
	s.arm()
	first := s.killC
	s.arm()
	if first == nil || s.killC != first {
		t.Errorf("arm: killC %v then %v, want one timer", first, s.killC)
	}
	s = &watchState{w: &watcher{}, res: &Result{}}
	if s.arm(); s.killC != nil {
		t.Error("KillAfter 0 armed a KILL")
	}
}

// The engine is given up on after engineRetry of failures, and not
// before the deadline plus the KILL grace.
func TestWatchGivingUp(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		lost, giveUpAt time.Duration // from now; giveUpAt 0: no deadline
		want           bool
	}{
		{-engineRetry, 0, true},
		{-engineRetry + time.Second, 0, false},
		{-engineRetry, time.Second, false},
		{-engineRetry, -time.Nanosecond, true},
		{-engineRetry + time.Second, -time.Second, false},
	} {
		s := &watchState{lostSince: now.Add(c.lost)}
		if c.giveUpAt != 0 {
			s.giveUpAt = now.Add(c.giveUpAt)
		}
		if got := s.givingUp(now); got != c.want {
			t.Errorf("lost %s ago, give up at %s: givingUp = %v, want %v", -c.lost, c.giveUpAt, got, c.want)
		}
	}
}
