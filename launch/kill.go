package launch

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// ErrNoTask is Cancel's answer for an id the registry does not hold as a
// current entry (it may be in the history).
var ErrNoTask = errors.New("no such task")

// NotRunningError is Cancel's answer for a task that has already ended.
type NotRunningError struct{ Task *registry.Task }

func (e *NotRunningError) Error() string { return "task is not running: " + e.Task.Status }

// Cancel records the decision to end a running task (cancelled, reason
// killed) before anything is signalled, so that a live supervisor that
// sees its command die afterwards keeps that status. It refuses a native
// task recorded in another PID namespace or on another host: its pids
// mean other processes here.
func Cancel(store *registry.Store, id string) (*registry.Task, error) {
	var task *registry.Task
	err := store.Update(func(r *registry.Registry) error {
		t, err := r.Get(id)
		switch {
		case err != nil:
			return Fail(err, "")
		case t == nil:
			return ErrNoTask
		case t.Status != registry.StatusRunning:
			return &NotRunningError{Task: t}
		case t.Mode != registry.ModeDocker && RecordedElsewhere(t):
			return &ExitError{Code: supervise.ExitInternal,
				Msg:  fmt.Sprintf("task %s runs on another host or in another PID namespace (a container): its pids mean other processes here", supervise.Quote(id)),
				Hint: "run watchdog kill where it runs (docker exec, nsenter)"}
		}
		t.Status, t.Reason = registry.StatusCancelled, registry.ReasonKilled
		t.CompletedAt = registry.FormatTime(time.Now())
		r.Put(id, t)
		task = t
		return nil
	})
	return task, err
}

// EndNative ends a cancelled native task's tree: sig to every process of
// it, KILL after grace to what remains. Only processes whose identity
// matches the record are signalled (supervise.EndTree).
func EndNative(t *registry.Task, sig syscall.Signal, grace time.Duration) (supervise.EndReport, error) {
	if t.Native == nil {
		return supervise.EndReport{}, nil
	}
	return supervise.EndTree(TaskTree(t), sig, grace)
}
