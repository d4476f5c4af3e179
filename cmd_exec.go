package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/phase"
	"github.com/watchdog-run/watchdog/internal/tasklog"
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

The command runs in a session of its own, without a controlling terminal:
opening /dev/tty fails at once (a password prompt there fails instead of
hanging); a program reading a terminal on its stdin still reads it. Use
--foreground for interactive programs (then only the command itself is
signalled at the deadline).

As root, or in a delegated cgroup v2 subtree (systemd-run --user --scope -p
Delegate=yes), the task gets a cgroup of its own: every process it starts is
in it, and --memory, --cpus and --pids cap the whole task (where no cgroup
can be made they are refused, exit 125). An OOM kill is recorded (reason
oom), with the task's peak memory and CPU time.

With --log or --idle-timeout the command's stdout and stderr are pipes to
the watchdog, which passes them on unchanged (a program may then turn off
colours or buffer its output, as with any pipe); see 'watchdog logs'.

--detach runs the task in the background: the watchdog prints the task id,
run id, pid and log (--json: {id, run_id, pid, log}) once the start is
recorded, and exits 0, or with the start's failure (125, 126, 127). With
--ready-port, --ready-http or --ready-log it returns once the task is
ready; if it is not ready within --ready-timeout it is ended (exit 124),
and if it ends first, exec exits with its status (1 if that was 0); either
way the end of its log is shown. 'watchdog wait ID' waits for the end.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "id", Usage: "task `ID` (1-64 of A-Z a-z 0-9 . _ -); generated if not given"},
		&cli.StringFlag{Name: "timeout", Aliases: []string{"t"}, Usage: "deadline `DURATION`; 0 for none", Value: "0", EnvVars: []string{launch.EnvTimeout}},
		&cli.StringFlag{Name: "kill-after", Aliases: []string{"k"}, Usage: "grace `DURATION` between the signal and KILL; 0 never sends KILL", Value: "10s"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "`SIGNAL` sent at the deadline (name or number)", Value: "TERM"},
		&cli.BoolFlag{Name: "preserve-status", Usage: "exit with the command's status even when it timed out"},
		&cli.BoolFlag{Name: "foreground", Usage: "keep the command in the foreground (interactive use); only it is signalled"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say on stderr when a signal is sent"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "record a `KEY=VALUE` label (repeatable)"},
		&cli.BoolFlag{Name: "keep-descendants", Usage: "leave processes the command left behind running; they are marked kept and no sweep ends them"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit `SIZE` of the whole task (512m, 2g; no swap on top); needs a cgroup"},
		&cli.StringFlag{Name: "cpus", Usage: "CPU limit: `N` CPUs' worth of time (0.5, 2); needs a cgroup"},
		&cli.StringFlag{Name: "pids", Usage: "at most `N` processes and threads in the task; needs a cgroup"},
		outputFlags[0], outputFlags[1], outputFlags[2], // --log[=FILE], --log-max, --idle-timeout
		&cli.BoolFlag{Name: "non-interactive", Usage: "stdin from /dev/null and the environment that keeps git, apt, pip and editors from prompting"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run in the background, output to the task's log; return once the start is recorded (or the task is ready)"},
		&cli.StringFlag{Name: "ready-port", Usage: "with --detach: return once a process of the task listens on `PORT` and accepts a connection"},
		&cli.StringFlag{Name: "ready-http", Usage: "with --detach: return once a GET of `URL` (http://) answers 2xx or 3xx"},
		&cli.StringFlag{Name: "ready-log", Usage: "with --detach: return once a line of output matches `REGEX`"},
		&cli.StringFlag{Name: "ready-timeout", Usage: "end the task if it is not ready within `DURATION` (default 60s)"},
		&cli.BoolFlag{Name: "reuse", Usage: "with --ready-port: if a running, ready task already serves PORT with this command, report it instead of starting another"},
		&cli.StringFlag{Name: "tie", Usage: "end the task when process `PID` exits ('parent': the watchdog's parent; reason caller-exited)"},
		jsonFlag,
		registryFlag,
	},
	OnUsageError: usageError,
	Action:       execAction,
}

func parseExecOptions(c *cli.Context) (*launch.Options, error) {
	o := &launch.Options{
		ID:              c.String("id"),
		Argv:            c.Args().Slice(),
		Preserve:        c.Bool("preserve-status"),
		Foreground:      c.Bool("foreground"),
		Verbose:         c.Bool("verbose"),
		KeepDescendants: c.Bool("keep-descendants"),
	}
	if len(o.Argv) == 0 {
		return nil, launch.Failf("watchdog exec --timeout 10m -- make test", "missing command to run")
	}
	if c.IsSet("id") {
		if err := registry.ValidateID(o.ID); err != nil {
			return nil, launch.Fail(err, "")
		}
	}
	var err error
	if o.Timeout, err = supervise.ParseDuration(c.String("timeout")); err != nil {
		return nil, launch.Fail(fmt.Errorf("%s: %w", launch.TimeoutSource(c.String("timeout")), err), "")
	}
	if o.KillAfter, err = supervise.ParseDuration(c.String("kill-after")); err != nil {
		return nil, launch.Fail(fmt.Errorf("--kill-after: %w", err), "")
	}
	if o.Signal, err = supervise.ParseSignal(c.String("signal")); err != nil {
		return nil, launch.Fail(fmt.Errorf("--signal: %w", err), "use a name such as TERM, INT, KILL or a number")
	}
	if o.Labels, err = launch.ParseLabels(c.StringSlice("label")); err != nil {
		return nil, launch.Fail(err, "")
	}
	if err := parseLimits(c, o); err != nil {
		return nil, err
	}
	if err := parseOutput(c, o); err != nil {
		return nil, err
	}
	if err := parseBackground(c, o); err != nil {
		return nil, err
	}
	return o, nil
}

// parseLimits reads --memory, --cpus and --pids into o.Limits, and as
// given into o.LimitsGiven for the record.
func parseLimits(c *cli.Context, o *launch.Options) error {
	given := map[string]string{}
	var err error
	if v := c.String("memory"); c.IsSet("memory") {
		if o.Limits.Memory, err = supervise.ParseSize(v); err != nil {
			return launch.Fail(fmt.Errorf("--memory: %w", err), "")
		}
		given["memory"] = v
	}
	if v := c.String("cpus"); c.IsSet("cpus") {
		if o.Limits.CPUs, err = supervise.ParseCPUs(v); err != nil {
			return launch.Fail(fmt.Errorf("--cpus: %w", err), "")
		}
		given["cpu"] = v
	}
	if v := c.String("pids"); c.IsSet("pids") {
		if o.Limits.PIDs, err = supervise.ParsePIDs(v); err != nil {
			return launch.Fail(fmt.Errorf("--pids: %w", err), "")
		}
		given["pids"] = v
	}
	if len(given) > 0 {
		o.LimitsGiven = given
	}
	return nil
}

func execAction(c *cli.Context) error {
	bg := launch.BackgroundFromEnv()
	if bg != nil {
		// The background half's stderr is /dev/null: its warnings (the
		// registry's among them) go to the task's log once it is open.
		c.App.ErrWriter = bg.Stderr()
	}
	err := execRun(c, bg)
	if bg != nil {
		bg.Fail(launch.AsExit(err)) // nothing if the start was reported
	}
	return err
}

func execRun(c *cli.Context, bg *launch.Background) error {
	o, err := parseExecOptions(c)
	if err != nil {
		return err
	}
	phase.Mark("parsed")
	store, err := openStore(c)
	if err != nil {
		return err
	}
	if c.Bool("detach") && bg == nil {
		return detach(c, store, o)
	}
	m := launch.Mode{Prog: "watchdog", Stderr: c.App.ErrWriter}
	if bg != nil {
		m.Background, m.Stderr = bg, bg.Stderr()
		if t := bg.Tie(); t != nil {
			o.Tie = t // "parent" is the foreground half's
		}
	}
	runID := launch.NewRunID()
	if o.ID == "" {
		o.ID = launch.DefaultID("task", runID)
	}
	if o.Output.Log == logDefault {
		o.Output.Log = tasklog.PathFor(store.Path, o.ID, runID)
	}
	return launch.RunNative(store, o, runID, m)
}
