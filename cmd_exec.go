package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/phase"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a command with a deadline, supervised and recorded",
	ArgsUsage: "[--] COMMAND [ARG]...",
	Description: `Runs COMMAND in a new session with TASK_ID and WATCHDOG_RUN_ID in its
environment, records it in the registry, and enforces the deadline on the
whole process tree: --signal (default TERM), then KILL after --kill-after.
Signals the watchdog receives (INT TERM HUP QUIT USR1 USR2 WINCH) are
forwarded. When the command ends, processes it left behind are ended too
(TERM, grace, KILL) unless --keep-descendants.

DURATION is a number of seconds with an optional suffix s, m, h or d
(10, 1.5, .5m, 2h, 1d), or Go syntax (1h30m, 500ms). 0 means no deadline.

Exit status: the command's own; 124 if it timed out; 137 if it had to be
killed after the grace; with --preserve-status the command's own even on
timeout; 125 if the watchdog failed; 126 if COMMAND cannot be executed; 127
if it is not found. A command killed by a signal is reported as that signal.

The command has no controlling terminal: a program that prompts on /dev/tty
fails at once instead of hanging. Use --foreground for interactive programs
(then only the command itself is signalled at the deadline).`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "id", Usage: "task `ID` (1-64 of A-Z a-z 0-9 . _ -); generated if not given"},
		&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "deadline `DURATION`; 0 for none", Value: "0", EnvVars: []string{"WATCHDOG_TIMEOUT"}},
		&cli.StringFlag{Name: "kill-after", Aliases: []string{"k"}, Usage: "grace `DURATION` between the signal and KILL; 0 never sends KILL", Value: "10s"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "`SIGNAL` sent at the deadline (name or number)", Value: "TERM"},
		&cli.BoolFlag{Name: "preserve-status", Usage: "exit with the command's status even when it timed out"},
		&cli.BoolFlag{Name: "foreground", Usage: "keep the command in the foreground (interactive use); only it is signalled"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say on stderr when a signal is sent"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "record a `KEY=VALUE` label (repeatable)"},
		&cli.BoolFlag{Name: "keep-descendants", Usage: "leave processes the command left behind running; they are marked kept and no sweep ends them"},
		registryFlag,
	},
	OnUsageError: usageError,
	Action:       execAction,
}

// execOptions is everything exec validated before starting anything.
type execOptions struct {
	id              string
	argv            []string
	path            string // the program, already resolved (PATH shims); empty: resolve argv[0]
	timeout         time.Duration
	killAfter       time.Duration
	signal          syscall.Signal
	labels          map[string]string
	preserve        bool
	foreground      bool
	verbose         bool
	keepDescendants bool
}

func parseExecOptions(c *cli.Context) (*execOptions, error) {
	o := &execOptions{
		id:              c.String("id"),
		argv:            c.Args().Slice(),
		preserve:        c.Bool("preserve-status"),
		foreground:      c.Bool("foreground"),
		verbose:         c.Bool("verbose"),
		keepDescendants: c.Bool("keep-descendants"),
	}
	if len(o.argv) == 0 {
		return nil, launch.Failf("watchdog exec --timeout 10m -- make test", "missing command to run")
	}
	if c.IsSet("id") {
		if err := registry.ValidateID(o.id); err != nil {
			return nil, launch.Fail(err, "")
		}
	}
	var err error
	if o.timeout, err = supervise.ParseDuration(c.String("timeout")); err != nil {
		return nil, launch.Fail(fmt.Errorf("--timeout: %w", err), "")
	}
	if o.killAfter, err = supervise.ParseDuration(c.String("kill-after")); err != nil {
		return nil, launch.Fail(fmt.Errorf("--kill-after: %w", err), "")
	}
	if o.signal, err = supervise.ParseSignal(c.String("signal")); err != nil {
		return nil, launch.Fail(fmt.Errorf("--signal: %w", err), "use a name such as TERM, INT, KILL or a number")
	}
	if o.labels, err = parseLabels(c.StringSlice("label")); err != nil {
		return nil, launch.Fail(err, "")
	}
	return o, nil
}

// parseLabels reads KEY=VALUE pairs. Keys follow the id rules, values must
// be printable: labels land in the registry and in container labels.
func parseLabels(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid label %q: want KEY=VALUE", kv)
		}
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)) {
				return nil, fmt.Errorf("invalid label key %q: use letters, digits, '.', '_', '-' and '/'", k)
			}
		}
		if len(k) > 128 || len(v) > 1024 {
			return nil, fmt.Errorf("invalid label %q: too long", k)
		}
		for _, r := range v {
			if r < 0x20 || r == 0x7f {
				return nil, fmt.Errorf("invalid label %q: its value has control characters", k)
			}
		}
		m[k] = v
	}
	return m, nil
}

func execAction(c *cli.Context) error {
	o, err := parseExecOptions(c)
	if err != nil {
		return err
	}
	phase.Mark("parsed")
	store, err := openStore(c)
	if err != nil {
		return err
	}
	runID := launch.NewRunID()
	if o.id == "" {
		o.id = launch.DefaultID("task", runID)
	}
	return superviseTask(store, o, runID, runMode{prog: "watchdog", stderr: c.App.ErrWriter, quote: quoteASCII})
}

// runMode is how a supervised run behaves beyond its options.
type runMode struct {
	prog   string // message prefix: "watchdog", or how the timeout shim was invoked
	stderr io.Writer
	// coreutils gives the run GNU timeout's process-group behaviour.
	coreutils bool
	// bestEffort makes registry trouble a warning (printed once) instead of
	// a failure: a drop-in never fails where timeout would not.
	bestEffort bool
	quote      func(string) string
}

func (m runMode) warn(format string, a ...any) {
	fmt.Fprintf(m.stderr, "%s: warning: "+format+"\n", append([]any{m.prog}, a...)...)
}

// superviseTask is the life of one native task: check the id, start the
// command and record it in one registry update, supervise it, record the
// end. store may be nil in best-effort mode (no record). It always returns
// an *launch.ExitError: the status to leave with and what to say.
func superviseTask(store *registry.Store, o *execOptions, runID string, m runMode) error {
	path, resolveErr := o.path, error(nil)
	if path == "" {
		path, resolveErr = supervise.Resolve(o.argv[0])
	}
	tag := supervise.RunTag(runID)
	var verbose io.Writer
	if o.verbose {
		verbose = m.stderr
	}
	// The drop-in keeps leftovers as GNU timeout does. Kept processes are
	// marked as such in their tag and in the record, so no sweep ends them.
	keep := o.keepDescendants || m.coreutils
	recorded := false
	var written recordedTask // the start record as written
	var sup *supervise.Supervisor
	sup = supervise.New(supervise.Config{
		Spec: supervise.Spec{
			Path: path,
			Argv: o.argv,
			Env:  supervise.Env(os.Environ(), o.id, runID, supervise.SelfTag(keep)),
		},
		Timeout:         o.timeout,
		KillAfter:       o.killAfter,
		Signal:          o.signal,
		Foreground:      o.foreground,
		KeepDescendants: keep,
		PreserveStatus:  o.preserve,
		Verbose:         verbose,
		ProgName:        m.prog,
		Tag:             tag,
		Fault:           launch.FaultHook,
		Coreutils:       m.coreutils,
		// A supervisor that is still waiting after a second will wait long:
		// give back the pages of code its start-up used. Quick commands
		// never pay for this.
		OnIdle: supervise.TrimResident,
		BeforeGroupKill: func(res supervise.Result) {
			if recorded {
				_ = recordEnd(store, o.id, runID, res, written)
			}
		},
	})
	started := false
	var startErr error
	now := time.Now()
	start := func() {
		if resolveErr != nil {
			startErr = resolveErr
			return
		}
		if _, err := sup.Start(); err != nil {
			startErr = err
			return
		}
		started = true
	}
	var err error
	if store != nil {
		err = store.Update(func(r *registry.Registry) error {
			phase.Mark("registry locked and read")
			if err := refuseRunning(r, o.id); err != nil {
				return err
			}
			task := newTask(o, runID, now, keep)
			start()
			if started {
				recordStart(task, o.id, sup.Started(), tag)
			} else {
				recordStartFailure(task, startErr)
			}
			raw, err := json.Marshal(task)
			if err != nil {
				return err
			}
			r.PutRaw(o.id, raw)
			written = recordedTask{task, raw}
			return nil
		})
		phase.Mark("start recorded")
		recorded = err == nil
	}
	if err != nil {
		var ee *launch.ExitError
		switch {
		case errors.As(err, &ee) && !m.bestEffort:
			return err
		case !m.bestEffort:
			if started {
				sup.Abort()
			}
			var pe *registry.PermError
			if errors.As(err, &pe) {
				return launch.Fail(err, "")
			}
			return launch.Fail(err, "the registry was left as it was and the command was stopped; free disk space or make the directory writable, or use --registry elsewhere")
		}
		m.warn("running without a record: %v", err)
	}
	if store == nil || (err != nil && !started && startErr == nil) {
		start()
	}
	if startErr != nil {
		var le *supervise.StartError
		var ie *supervise.Interrupted
		if errors.As(startErr, &ie) {
			if m.coreutils && ie.Signal != syscall.SIGUSR1 && ie.Signal != syscall.SIGUSR2 {
				return &launch.ExitError{Code: 128 + int(ie.Signal)} // GNU timeout's cleanup(): _exit(128+sig)
			}
			return &launch.ExitError{Code: 128 + int(ie.Signal), Signal: ie.Signal, Msg: ie.Error()}
		}
		if errors.As(startErr, &le) {
			return &launch.ExitError{Code: le.Code, Msg: fmt.Sprintf("failed to run command %s: %s", m.quote(le.Name), supervise.Strerror(le.Err))}
		}
		return launch.Fail(startErr, "")
	}
	if recorded {
		if err := registry.Remember(store.Path); err != nil && o.verbose {
			m.warn("cannot add the registry to the index %s: %v", registry.IndexPath(), err)
		}
	}
	res := sup.Wait()
	phase.Mark("command and leftovers ended")
	if recorded {
		if err := recordEnd(store, o.id, runID, res, written); err != nil {
			m.warn("the run ended but could not be recorded: %v", err)
		}
	}
	phase.Mark("end recorded")
	for _, p := range res.Stuck {
		m.warn("pid %d survived KILL (state %c); it is in uninterruptible sleep", p.PID, p.State)
	}
	return &launch.ExitError{Code: res.ExitCode, Signal: res.Reraise}
}

// quoteASCII quotes a name in messages of the watchdog's own commands.
func quoteASCII(s string) string { return "'" + s + "'" }

// refuseRunning fails when id names a task that is still running: its
// supervisor or its command is alive.
func refuseRunning(r *registry.Registry, id string) error {
	if st, _, ok := r.Peek(id); ok && st != registry.StatusRunning {
		return nil // finished: the common case decodes nothing
	}
	t, err := r.Get(id)
	if err != nil || t == nil || t.Status != registry.StatusRunning {
		return nil // an undecodable entry is replaced; its bytes were never a task we could run
	}
	switch {
	case launch.SupervisorLiveness(t) == supervise.Elsewhere:
		return &launch.ExitError{Code: supervise.ExitInternal,
			Msg:  fmt.Sprintf("task %q is recorded as running on another host or in another PID namespace (a container)", id),
			Hint: "choose another --id; only a watchdog where it runs can tell whether it still does"}
	case !launch.SupervisorAlive(t) && !launch.CommandAlive(t):
		return nil // a stale record: nothing of it runs any more
	}
	return &launch.ExitError{Code: supervise.ExitInternal,
		Msg:  fmt.Sprintf("task %q is already running (supervisor pid %d)", id, supervisorPID(t)),
		Hint: fmt.Sprintf("choose another --id, or stop it first: watchdog kill %s", id)}
}

func newTask(o *execOptions, runID string, now time.Time, keep bool) *registry.Task {
	cwd, _ := os.Getwd()
	sup := supervise.SelfID(keep)
	t := &registry.Task{
		Mode:              registry.ModeNative,
		Command:           supervise.DisplayCommand(o.argv),
		Status:            registry.StatusRunning,
		StartedAt:         registry.FormatTime(now),
		ConstitutionRules: []string{},
		RunID:             runID,
		Argv:              o.argv,
		Cwd:               cwd,
		Labels:            o.labels,
		Supervisor: &registry.Proc{PID: sup.PID, StartTicks: sup.Ticks, Host: sup.Host, BootID: sup.BootID, PIDNS: sup.PIDNS,
			StartTime: registry.FormatTime(supervise.StartWallTime(sup.Ticks))},
		KeepDescendants: keep,
	}
	if o.timeout > 0 && o.timeout < supervise.MaxDuration {
		t.TimeoutSeconds = o.timeout.Seconds()
		t.KillAfter = o.killAfter.Seconds()
	}
	return t
}

func recordStart(t *registry.Task, id string, st supervise.Started, tag string) {
	t.Native = &registry.Native{
		PID:        st.PID,
		PGID:       st.PGID,
		StartTime:  supervise.FormatLstart(st.StartTicks),
		EnvTag:     supervise.EnvTaskID + "=" + id,
		StartTicks: st.StartTicks,
		BootID:     supervise.BootID(),
		RunTag:     tag,
	}
	if !st.Deadline.IsZero() {
		t.Deadline = registry.FormatTime(st.Deadline)
	}
}

func recordStartFailure(t *registry.Task, err error) {
	code := supervise.ExitInternal
	var le *supervise.StartError
	var ie *supervise.Interrupted
	switch {
	case errors.As(err, &le):
		code = le.Code
	case errors.As(err, &ie):
		code = 128 + int(ie.Signal)
	}
	t.Status = registry.StatusFailed
	t.Reason = registry.ReasonStartErr
	t.ExitCode = &code
	t.Error = err.Error()
	t.CompletedAt = t.StartedAt
}

// recordedTask is a task and the exact bytes its record was written with.
type recordedTask struct {
	task *registry.Task
	raw  []byte
}

// recordEnd writes how the run ended, unless someone else already decided
// (watchdog kill records cancelled and keeps it). While the entry is still
// byte for byte the start record this run wrote (the common case), the task
// it holds is known without decoding it.
func recordEnd(store *registry.Store, id, runID string, res supervise.Result, start recordedTask) error {
	return store.Update(func(r *registry.Registry) error {
		t := start.task
		if raw, ok := r.Raw(id); !ok || t == nil || !bytes.Equal(raw, start.raw) {
			var err error
			t, err = r.Get(id)
			if err != nil || t == nil || t.RunID != runID {
				return nil // replaced meanwhile: not ours to write
			}
		}
		applyEnd(t, res)
		r.Put(id, t)
		return nil
	})
}

func applyEnd(t *registry.Task, res supervise.Result) {
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
	if t.Status != registry.StatusRunning {
		return // the first final status wins: watchdog kill's or sweep's
	}
	switch {
	case res.TimedOut:
		t.Status, t.Reason = registry.StatusFailed, registry.ReasonTimeout
	case res.Signal != 0:
		t.Status, t.Reason = registry.StatusFailed, registry.ReasonSignaled
	case res.Code == 0:
		t.Status, t.Reason = registry.StatusCompleted, registry.ReasonExited
	default:
		t.Status, t.Reason = registry.StatusFailed, registry.ReasonExited
	}
}

func supervisorPID(t *registry.Task) int {
	if t.Supervisor != nil {
		return t.Supervisor.PID
	}
	return 0
}
