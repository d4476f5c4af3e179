package launch

import (
	"fmt"
	"math"
	"time"

	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// readyTarget is a runner whose readiness can be watched: a native task.
type readyTarget interface {
	Members() []int
	Stop(reason string)
	// Ended is closed when the task has ended.
	Ended() <-chan struct{}
	logMatch() *logMatch
	started() (pid int, log string)
}

// bgWatch is the background half's watch of a started task: it reports
// the start at once, or once the task is ready.
type bgWatch struct {
	done chan struct{}
	err  error // why the task was not ready; nil when it was, or none was asked
}

// background reports a detached task's start: at once, or, with --ready-*,
// from a goroutine once the task is ready. A task that is not ready in
// time is stopped (reason not-ready). Nothing for a run in the foreground.
func (l *life) background() *bgWatch {
	b := l.m.Background
	if b == nil || !l.recorded || l.startErr != nil {
		return nil
	}
	t, ok := l.r.(readyTarget)
	if !ok {
		return nil
	}
	pid, log := t.started()
	rep := DetachReport{ID: l.o.ID, RunID: l.runID, PID: pid, Log: log, Port: l.o.Ready.Port}
	if !l.o.Ready.Any() {
		fault("detached-before-report")
		b.Report(rep)
		return nil
	}
	w := &bgWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = waitReady(l.o.Ready, t.logMatch(), t.Members, t.Ended())
		if w.err != nil {
			if w.err != errTaskEnded {
				t.Stop(registry.ReasonNotReady)
			}
			return
		}
		secs := math.Round(time.Since(l.now).Seconds()*1000) / 1000
		rep.ReadySeconds = &secs
		if err := l.update(func(t *registry.Task) {
			t.ReadyAt = registry.FormatTime(time.Now())
			t.ReadySeconds = secs
			t.Port = l.o.Ready.Port
		}); err != nil {
			l.m.Warn("the task is ready but that could not be recorded: %v", err)
		}
		b.Report(rep)
	}()
	return w
}

// finish waits for the watch to end (the task has ended) and returns why
// the task was not ready, if it was not.
func (w *bgWatch) finish() error {
	if w == nil {
		return nil
	}
	<-w.done
	return w.err
}

// notReady is what the foreground half of a task that was not ready
// exits with: 124 when the readiness timeout passed (the task was ended),
// else the status the task ended with (1 if it exited 0: a server is not
// meant to), with the end of its log.
func (l *life) notReady(err error, res supervise.Result) *ExitError {
	ee := &ExitError{Code: supervise.ExitTimedOut}
	if err == errTaskEnded {
		ee.Code = res.ExitCode
		if ee.Code == 0 {
			ee.Code = 1
		}
		ee.Msg = fmt.Sprintf("task %s ended (exit status %d) before it was ready", supervise.Quote(l.o.ID), res.ExitCode)
	} else {
		ee.Msg = fmt.Sprintf("task %s was ended: %v", supervise.Quote(l.o.ID), err)
	}
	if log := l.o.Output.Log; log != "" {
		if lines, _, err := tasklog.Tail(log, 20); err == nil && len(lines) > 0 {
			ee.Hint = "its log " + supervise.Escape(log) + " ends with:\n" + indent(lines)
		}
	}
	return ee
}

func indent(lines []string) string {
	var s string
	for i, l := range lines {
		if i > 0 {
			s += "\n"
		}
		s += "  " + supervise.Escape(l)
	}
	return s
}
