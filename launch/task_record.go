package launch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// RefuseRunning fails when id names a task that is still running: its
// supervisor or its command is alive, it runs where this watchdog cannot
// tell (another host, another PID namespace), or it was registered without
// a pid (nothing can tell when it ends: its record stands until `watchdog
// kill` closes it).
func RefuseRunning(r *registry.Registry, id string) error {
	if st, _, ok := r.Peek(id); ok && st != registry.StatusRunning {
		return nil // finished: the common case decodes nothing
	}
	t, err := r.Get(id)
	if err != nil || t == nil || t.Status != registry.StatusRunning {
		return nil // an undecodable entry is replaced; its bytes were never a task we could run
	}
	switch {
	case SupervisorLiveness(t) == supervise.Elsewhere:
		return &ExitError{Code: supervise.ExitInternal,
			Msg:  fmt.Sprintf("task %s is recorded as running on another host or in another PID namespace (a container)", supervise.Quote(id)),
			Hint: "choose another --id; only a watchdog where it runs can tell whether it still does"}
	case t.Mode != registry.ModeDocker && t.Native == nil && t.Supervisor == nil:
		return &ExitError{Code: supervise.ExitInternal,
			Msg:  fmt.Sprintf("task %s is recorded as running: it was registered without --pid, so nothing can tell when it ends", supervise.Quote(id)),
			Hint: fmt.Sprintf("choose another id, or close its record first: watchdog kill %s", id)}
	case !SupervisorAlive(t) && !CommandAlive(t):
		return nil // a stale record: nothing of it runs any more
	case t.Supervisor == nil:
		return &ExitError{Code: supervise.ExitInternal,
			Msg:  fmt.Sprintf("task %s is already running (pid %d, no supervisor recorded)", supervise.Quote(id), t.Native.PID),
			Hint: fmt.Sprintf("choose another id, or stop it first: watchdog kill %s", id)}
	}
	return &ExitError{Code: supervise.ExitInternal,
		Msg:  fmt.Sprintf("task %s is already running (supervisor pid %d)", supervise.Quote(id), SupervisorPID(t)),
		Hint: fmt.Sprintf("choose another --id, or stop it first: watchdog kill %s", id)}
}

// SupervisorPID is the pid of the task's recorded supervisor; 0 if none
// was recorded (the earlier tool's entries).
func SupervisorPID(t *registry.Task) int {
	if t.Supervisor != nil {
		return t.Supervisor.PID
	}
	return 0
}

// keepDescendants: what the command leaves behind is kept. The drop-in
// keeps it as GNU timeout does; kept processes are marked as such in
// their tag and in the record, so no sweep ends them.
func keepDescendants(o *Options, m Mode) bool { return o.KeepDescendants || m.Coreutils }

// newTask is the start record every runner shares; the runner's Record
// adds what identifies its run.
func (l *life) newTask() *registry.Task {
	o := l.o
	cwd, _ := os.Getwd()
	keep := keepDescendants(o, l.m)
	sup := supervise.SelfID(keep)
	t := &registry.Task{
		Mode:              registry.ModeNative,
		Command:           supervise.DisplayCommand(o.Argv),
		Status:            registry.StatusRunning,
		StartedAt:         registry.FormatTime(l.now),
		ConstitutionRules: []string{},
		RunID:             l.runID,
		Argv:              o.Argv,
		Cwd:               cwd,
		Labels:            o.Labels,
		Supervisor: &registry.Proc{PID: sup.PID, StartTicks: sup.Ticks, Host: sup.Host, BootID: sup.BootID, PIDNS: sup.PIDNS,
			StartTime: registry.FormatTime(supervise.StartWallTime(sup.Ticks))},
		KeepDescendants: keep,
	}
	if o.Timeout > 0 && o.Timeout < supervise.MaxDuration {
		t.TimeoutSeconds = o.Timeout.Seconds()
		t.KillAfter = o.KillAfter.Seconds()
	}
	return t
}

// putStart writes the start record: the run as started, or why it did not.
func (l *life) putStart(r *registry.Registry) error {
	t := l.newTask()
	l.r.Record(t)
	if l.startErr != nil {
		failStart(t, l.startErr, t.StartedAt)
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	r.PutRaw(l.o.ID, raw)
	l.written = recordedTask{t, raw}
	return nil
}

// recordedTask is a task and the exact bytes its record was written with.
type recordedTask struct {
	task *registry.Task
	raw  []byte
}

// recordEnd writes how the run ended, unless someone else already decided
// (watchdog kill records cancelled and keeps it).
func (l *life) recordEnd(res supervise.Result) error {
	return l.update(func(t *registry.Task) { ApplyEnd(t, res) })
}

// update changes this run's entry, unless it was replaced meanwhile. While
// the entry is still byte for byte the start record this run wrote (the
// common case), the task it holds is known without decoding it.
func (l *life) update(change func(*registry.Task)) error {
	return l.store.Update(func(r *registry.Registry) error {
		t := l.written.task
		if raw, ok := r.Raw(l.o.ID); !ok || t == nil || !bytes.Equal(raw, l.written.raw) {
			var err error
			t, err = r.Get(l.o.ID)
			if err == nil && t == nil {
				// A running entry never leaves its registry (cleanup and
				// the history take finished ones): the file was moved or
				// replaced under this run. Say so rather than lose it.
				return fmt.Errorf("its entry %s is gone from %s (the registry was moved or replaced during the run)",
					supervise.Quote(l.o.ID), supervise.Escape(l.store.Path))
			}
			if err != nil || t.RunID != l.runID {
				return nil // replaced meanwhile by another run's: not ours to write
			}
		}
		change(t)
		r.Put(l.o.ID, t)
		return nil
	})
}

// ApplyEnd records how a run ended. The first final status wins: one that
// watchdog kill or sweep recorded meanwhile stays, only the exit code
// (when it had none), the signal and the completion time are added.
func ApplyEnd(t *registry.Task, res supervise.Result) {
	code := res.ExitCode
	if t.ExitCode == nil || t.Status == registry.StatusRunning {
		t.ExitCode = &code
	}
	if res.Signal != 0 {
		t.Signal = supervise.SignalName(res.Signal)
	}
	if t.CompletedAt == "" {
		t.CompletedAt = registry.FormatTime(time.Now())
	}
	u := res.Usage
	t.OOMKills, t.PeakMemoryBytes = u.OOMKills, u.PeakMemory
	t.CPUSeconds = math.Round(u.CPUSeconds*1000) / 1000
	if t.Status != registry.StatusRunning {
		return
	}
	t.Status, t.Reason = endStatus(res)
	if res.Idle {
		t.Error = idleError(t.IdleTimeout, res.Waiting)
	}
}

// idleError says why an idle task ended: the silence, and what was then
// waiting for input.
func idleError(seconds float64, waiting []supervise.InputWait) string {
	// The notice's words (supervise.noticeIdle): 1s, 300ms, 2m0s.
	msg := "no output for " + time.Duration(seconds*float64(time.Second)).Round(time.Millisecond).String()
	for _, w := range waiting {
		msg += "; " + w.Describe()
	}
	return msg
}

// endStatus is the status and reason of a run that ended as res says.
func endStatus(res supervise.Result) (status, reason string) {
	switch {
	case res.Idle:
		return registry.StatusFailed, registry.ReasonIdle
	case res.Stopped != "":
		return registry.StatusFailed, res.Stopped
	case res.TimedOut:
		return registry.StatusFailed, registry.ReasonTimeout
	case res.Usage.OOMKills > 0 && (res.Signal != 0 || res.CommandCode != 0):
		return registry.StatusFailed, registry.ReasonOOM // it failed, and the OOM killer is why
	case res.Signal != 0:
		return registry.StatusFailed, registry.ReasonSignaled
	case res.CommandCode == 0:
		return registry.StatusCompleted, registry.ReasonExited
	}
	return registry.StatusFailed, registry.ReasonExited
}

// failStart records a start that failed: nothing ran.
func failStart(t *registry.Task, err error, at string) {
	code := startStatus(err)
	t.Status, t.Reason = registry.StatusFailed, registry.ReasonStartErr
	t.ExitCode = &code
	t.Error = err.Error()
	t.CompletedAt = at
}

// applyLateStartFailure records a start that failed after its record was
// written, unless someone else already closed the record.
func applyLateStartFailure(t *registry.Task, err error) {
	if t.Status == registry.StatusRunning {
		failStart(t, err, registry.FormatTime(time.Now()))
	}
}

// applyUnknown records that how the run ended is unknown: as lost when the
// task is known to be over, otherwise by the error of a record that stays
// running until sweep finishes it. A final status recorded meanwhile stays.
func applyUnknown(t *registry.Task, eu *EndUnknown) {
	if t.Status != registry.StatusRunning {
		return
	}
	t.Error = eu.Exit.Msg
	if eu.Gone {
		code := eu.Exit.Code
		t.Status, t.Reason, t.ExitCode = registry.StatusFailed, registry.ReasonLost, &code
		t.CompletedAt = registry.FormatTime(time.Now())
	}
}

// startStatus is the exit status recorded for a start that failed: 127 or
// 126 for a command that cannot be run, 128+N when signal N arrived
// before the start, the runner's own status, else 125.
func startStatus(err error) int {
	var se *supervise.StartError
	var ie *supervise.Interrupted
	var ee *ExitError
	switch {
	case errors.As(err, &se):
		return se.Code
	case errors.As(err, &ie):
		return 128 + int(ie.Signal)
	case errors.As(err, &ee):
		return ee.Code
	}
	return supervise.ExitInternal
}

// startExit is how a run whose start failed ends: with startStatus and a
// message, or, when a signal arrived before the start, as that signal.
func startExit(err error, m Mode) *ExitError {
	var se *supervise.StartError
	var ie *supervise.Interrupted
	var ee *ExitError
	switch {
	case errors.As(err, &ie):
		if m.Coreutils && ie.Signal != syscall.SIGUSR1 && ie.Signal != syscall.SIGUSR2 {
			return &ExitError{Code: 128 + int(ie.Signal)} // GNU timeout's cleanup(): _exit(128+sig)
		}
		return &ExitError{Code: 128 + int(ie.Signal), Signal: ie.Signal, Msg: ie.Error()}
	case errors.As(err, &se):
		return &ExitError{Code: se.Code, Msg: fmt.Sprintf("failed to run command %s: %s", supervise.Quote(se.Name), supervise.Strerror(se.Err))}
	case errors.As(err, &ee):
		return ee
	}
	return Fail(err, "")
}
