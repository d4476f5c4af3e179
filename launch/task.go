package launch

import (
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/internal/phase"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// Options is one task, validated before anything starts.
type Options struct {
	ID        string
	Argv      []string // a container's: the image, then its command
	Path      string   // the program, already resolved (PATH shims); empty: resolve Argv[0]
	Timeout   time.Duration
	KillAfter time.Duration
	Signal    syscall.Signal
	Labels    map[string]string
	Preserve  bool // exit with the command's own status even when it timed out
	// Foreground keeps the command in the watchdog's process group.
	Foreground      bool
	Verbose         bool
	KeepDescendants bool
	// Limits cap the task through its own cgroup (native tasks);
	// LimitsGiven records them as typed ("memory": "512m").
	Limits      supervise.Limits
	LimitsGiven map[string]string
	// Output: --log, --idle-timeout, --non-interactive.
	Output OutputOptions
	// Ready says when a detached task is ready (--ready-*).
	Ready ReadyOptions
	// Tie is the process whose exit ends the task (--tie).
	Tie *Tie
}

// Mode is how a run behaves beyond its options.
type Mode struct {
	Prog   string // message prefix: "watchdog", or how the timeout shim was invoked
	Stderr io.Writer
	// Coreutils gives the run GNU timeout's process-group behaviour; what
	// the command leaves behind is kept, as timeout keeps it.
	Coreutils bool
	// BestEffort makes registry trouble a warning (printed once) instead
	// of a failure: a drop-in never fails where timeout would not.
	BestEffort bool
	// Background, when set, is the report pipe of the background half of
	// exec --detach: the output goes to the log alone, and the start (or
	// the readiness) is reported on it.
	Background *Background
}

// Warn says something went wrong that the run survives.
func (m Mode) Warn(format string, a ...any) {
	fmt.Fprintf(m.Stderr, "%s: warning: "+format+"\n", append([]any{m.Prog}, a...)...)
}

// Runner is what a task runs: a native command (RunNative) or a container
// (launch/container). Run calls Prepare, then Start and Record inside one
// registry update, then Wait; or Abort when it will not wait.
type Runner interface {
	// Prepare does what the start needs that may take a while: resolve
	// the command, create the container. It runs before the registry is
	// locked; its error is a start failure, recorded as such.
	Prepare() error
	// Start starts the task. It runs inside the registry update that
	// checks the id and records the start, so that the three are one
	// change. Every watchdog sharing the registry waits meanwhile: a
	// runner whose start can block (a container's, on the engine) starts
	// in Wait instead.
	Start() error
	// Record fills in what identifies the run in its start record (the
	// native pids, the container); it is called after a failed start too.
	Record(t *registry.Task)
	// Wait supervises the task to its end and says how it ended. A runner
	// that will not outlive that end (the drop-in's final KILL reaches the
	// watchdog too) calls record with the result first. A non-nil error
	// is an *EndUnknown, or a start that failed after its record was
	// written (nothing ran).
	Wait(record func(supervise.Result)) (supervise.Result, error)
	// Abort undoes a run that will not be waited for: it ends what Start
	// started and removes what Prepare made. It is harmless when there is
	// nothing to undo.
	Abort()
}

// EndUnknown is Wait's error when the task started but how it ended cannot
// be known (docker-run lost its engine).
type EndUnknown struct {
	// Gone: the task is over (its container was removed meanwhile); it is
	// recorded as failed, lost. Otherwise it may still run: the record
	// stays running, Exit.Msg as its error, for sweep to finish.
	Gone bool
	Exit *ExitError // what to leave with
}

func (e *EndUnknown) Error() string { return e.Exit.Msg }

// RunNative runs o.Argv as a native command: the life of `watchdog exec`,
// the timeout drop-in and PATH shims.
func RunNative(store *registry.Store, o *Options, runID string, m Mode) *ExitError {
	return Run(store, o, runID, newNative(o, runID, m), m)
}

// Run is the life of one task: check the id, start r and record the start
// in one registry update, supervise it, record the end. store may be nil
// in best-effort mode (no record). It returns the status to leave with
// and what to say, never nil.
func Run(store *registry.Store, o *Options, runID string, r Runner, m Mode) *ExitError {
	l := &life{store: store, o: o, runID: runID, r: r, m: m, now: time.Now()}
	if ee := l.start(r.Prepare()); ee != nil {
		r.Abort()
		return ee
	}
	if l.startErr != nil {
		r.Abort()
		return startExit(l.startErr, m)
	}
	if l.recorded {
		if err := registry.Remember(store.Path); err != nil && o.Verbose {
			m.Warn("cannot add the registry to the index %s: %v", registry.IndexPath(), err)
		}
	}
	bg := l.background()
	res, err := r.Wait(l.recordEarly)
	phase.Mark("command and leftovers ended")
	notReady := bg.finish()
	if err != nil {
		return l.unfinished(err)
	}
	if l.recorded {
		if err := l.recordEnd(res); err != nil {
			m.Warn("the run ended but could not be recorded: %v", err)
		}
	}
	phase.Mark("end recorded")
	if notReady != nil {
		m.Background.Fail(l.notReady(notReady, res))
	}
	for _, p := range res.Stuck {
		m.Warn("pid %d survived KILL (state %c); it is in uninterruptible sleep", p.PID, p.State)
	}
	ee := &ExitError{Code: res.ExitCode, Signal: res.Reraise}
	if res.CoreDumped && m.Coreutils {
		ee.Msg = "the monitored command dumped core" // GNU timeout says so, -v or not
	}
	return ee
}

// life is one run of Run: what happened so far.
type life struct {
	store *registry.Store
	o     *Options
	runID string
	r     Runner
	m     Mode
	now   time.Time // the start, as recorded

	tried    bool  // Start was called, or not called because Prepare failed
	startErr error // why the task did not start
	recorded bool  // the start record was written
	written  recordedTask
}

// start checks the id, starts the task and records it, in one registry
// update. Without a registry, or in best-effort mode when it fails, the
// task starts unrecorded. A non-nil result ends the run before anything
// ran: the id was refused or the registry failed.
func (l *life) start(prepErr error) *ExitError {
	var refused notStarted
	if errors.As(prepErr, &refused) {
		return refused.ExitError // nothing ran: nothing to record
	}
	var err error
	if l.store != nil {
		err = l.store.Update(func(r *registry.Registry) error {
			phase.Mark("registry locked and read")
			if err := RefuseRunning(r, l.o.ID); err != nil {
				return err
			}
			l.try(prepErr)
			return l.putStart(r)
		})
		phase.Mark("start recorded")
		l.recorded = err == nil
	}
	if err != nil {
		if !l.m.BestEffort {
			return registryFailure(err, l.tried && l.startErr == nil)
		}
		l.m.Warn("running without a record: %v", err)
	}
	l.try(prepErr) // unrecorded; nothing if it was tried inside the update
	return nil
}

// try starts the task, once.
func (l *life) try(prepErr error) {
	if l.tried {
		return
	}
	l.tried = true
	if l.startErr = prepErr; prepErr == nil {
		l.startErr = l.r.Start()
	}
}

// registryFailure is what a failed start update ends the run with; started
// says whether the task had started (Run then stops it).
func registryFailure(err error, started bool) *ExitError {
	var ee *ExitError
	var pe *registry.PermError
	switch {
	case errors.As(err, &ee):
		return ee // the id was refused
	case errors.As(err, &pe):
		return Fail(err, "")
	}
	what := "not started"
	if started {
		what = "stopped"
	}
	return Fail(err, "the registry was left as it was and the command was "+what+"; free disk space or make the directory writable, or use --registry elsewhere")
}

// recordEarly records the end before the runner's own end (the drop-in's
// final KILL); the record Run writes after Wait then changes nothing.
func (l *life) recordEarly(res supervise.Result) {
	if l.recorded {
		_ = l.recordEnd(res)
	}
}

// unfinished ends a run whose Wait could not say how the task ended.
func (l *life) unfinished(err error) *ExitError {
	var eu *EndUnknown
	if errors.As(err, &eu) {
		if l.recorded {
			if err := l.update(func(t *registry.Task) { applyUnknown(t, eu) }); err != nil {
				l.m.Warn("could not record that how the run ended is unknown: %v", err)
			}
		}
		return eu.Exit
	}
	// The start failed after it was recorded: nothing ran.
	if l.recorded {
		if err := l.update(func(t *registry.Task) { applyLateStartFailure(t, err) }); err != nil {
			l.m.Warn("the start failed but could not be recorded: %v", err)
		}
	}
	return startExit(err, l.m)
}

// notStarted is a Prepare failure that stops the run before anything is
// recorded, as a bad option does: a limit that cannot be applied here.
type notStarted struct{ *ExitError }
