// Command watchdog-docker is the container half of the watchdog: `watchdog
// docker-run` executes it, and `watchdog kill` and `watchdog sweep` call it
// for containers. It is a separate binary so that the Docker client's
// package initialisation never runs in the native exec path.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	dockercontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/launch/container"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

var version = "dev"

// exitNoEngine is the status of `sweep` and `stop-container` when no engine
// answers, so the caller can decide whether that deserves a warning.
const exitNoEngine = 3

// ExitEngineLost is docker-run's status when the container started and the
// watchdog then lost the Docker engine for good (it retried for a while
// and past the deadline): it cannot tell how, or whether, the container
// ended. Unlike 125 it does not mean "never ran": do not simply retry. The
// registry record stays running, its error field saying so, and `watchdog
// sweep` stops the container and closes the record once the engine
// answers. (If the engine answered again but the container had been
// removed meanwhile, the record is closed as failed/lost instead.)
const ExitEngineLost = 122

// fail ends the invocation with code, a message and a hint.
func fail(code int, msg, hint string) error {
	return &launch.ExitError{Code: code, Msg: msg, Hint: hint}
}

func main() {
	app := &cli.App{
		Name:    "watchdog-docker",
		Usage:   "the container half of watchdog (run it as `watchdog docker-run`)",
		Version: version,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return fail(125, err.Error(), "run 'watchdog docker-run --help' for usage")
		},
		Commands:       []*cli.Command{runCommand, stopCommand, sweepCommand, usageCommand},
		ExitErrHandler: func(*cli.Context, error) {}, // main reports and exits

	}
	if err := app.Run(os.Args); err != nil {
		ee := launch.AsExit(err)
		ee.Report(os.Stderr, "watchdog")
		os.Exit(ee.Code)
	}
}

var runCommand = &cli.Command{
	Name:                   "run",
	UseShortOptionHandling: true, // -it, as docker run takes it
	Usage:                  "run a container with a deadline, supervised and recorded (watchdog docker-run)",
	ArgsUsage:              "IMAGE [COMMAND [ARG]...]",
	Description: `Creates the container (name dev-task-ID unless --name) with labels that
carry the task id, run id, supervisor identity and deadline, and TASK_ID in
its environment; waits for its exit before starting it; streams stdout and
stderr live and separately (stdin with -i, a TTY with -t); forwards INT, TERM
and HUP; at the deadline sends --signal, then KILL after --kill-after;
removes it at the end unless --keep.

If the connection to the engine drops after the container started, the
watchdog reconnects (warning on stderr) and keeps enforcing the deadline; a
signal that fell due meanwhile is sent once the engine answers again.

Exit status: the container's exit code; 124 if it timed out; 137 if it had to
be killed after the grace; 125 if the watchdog failed before the container
started (no engine, image missing, name taken); 126/127 if the command in the
image cannot be run; 122 if the container started but the engine then stayed
unreachable (the container may still run; the record stays running until
watchdog sweep finishes it). Images are never pulled.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "id", Usage: "task `ID`; generated if not given"},
		&cli.StringFlag{Name: "timeout", Usage: "deadline `DURATION`; 0 for none", Value: "0"},
		&cli.StringFlag{Name: "kill-after", Aliases: []string{"k"}, Usage: "grace `DURATION` before KILL; 0 never KILLs", Value: "10s"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "`SIGNAL` at the deadline", Value: "TERM"},
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit `SIZE` (512m, 1g)"},
		&cli.StringFlag{Name: "cpus", Usage: "CPU limit `N` (1.5)"},
		&cli.StringFlag{Name: "name", Usage: "container `NAME` (default dev-task-ID)"},
		&cli.BoolFlag{Name: "keep", Usage: "do not remove the container at the end"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "`KEY=VALUE` (or KEY, taken from here) in the container"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind `SRC:DST[:ro]`"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` in the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`USER[:GROUP]` in the container"},
		&cli.StringFlag{Name: "network", Usage: "`NAME` of the network"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open and stream it in"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a TTY"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "`KEY=VALUE` label (repeatable)"},
		&cli.BoolFlag{Name: "preserve-status", Usage: "exit with the container's code even when it timed out"},
		&cli.BoolFlag{Name: "verbose", Usage: "say on stderr when a signal is sent"},
		&cli.StringFlag{Name: "registry", Usage: "registry file `PATH`", EnvVars: []string{registry.EnvPath}},
	},
	Action: runAction,
}

func runAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return fail(125, "missing IMAGE", "watchdog docker-run --timeout 10m IMAGE [COMMAND [ARG]...]")
	}
	runID := launch.NewRunID()
	id := c.String("id")
	if id == "" {
		id = launch.DefaultID("task", runID)
	} else if err := registry.ValidateID(id); err != nil {
		return fail(125, err.Error(), "")
	}
	timeout, err := supervise.ParseDuration(c.String("timeout"))
	if err != nil {
		return fail(125, "--timeout: "+err.Error(), "")
	}
	killAfter, err := supervise.ParseDuration(c.String("kill-after"))
	if err != nil {
		return fail(125, "--kill-after: "+err.Error(), "")
	}
	sig, err := supervise.ParseSignal(c.String("signal"))
	if err != nil {
		return fail(125, "--signal: "+err.Error(), "")
	}
	o := container.Options{
		Image: c.Args().First(), Cmd: c.Args().Tail(), Name: c.String("name"),
		Workdir: c.String("workdir"), User: c.String("user"), Network: c.String("network"),
		Interactive: c.Bool("interactive"), TTY: c.Bool("tty"), Keep: c.Bool("keep"),
		Timeout: timeout, KillAfter: killAfter, Signal: sig, Preserve: c.Bool("preserve-status"),
	}
	if timeout >= supervise.MaxDuration {
		o.Timeout = 0
	}
	if c.Bool("verbose") {
		o.Verbose = os.Stderr
	}
	o.Warn = os.Stderr
	if o.Name == "" {
		o.Name = "dev-task-" + id
	}
	limits := map[string]string{}
	if m := c.String("memory"); m != "" {
		n, err := units.RAMInBytes(m)
		if err != nil || n <= 0 {
			return fail(125, fmt.Sprintf("--memory: invalid size %q (use e.g. 512m or 1g)", m), "")
		}
		o.Memory, limits["memory"] = n, m
	}
	if s := c.String("cpus"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0) || f > float64(1<<20) {
			return fail(125, fmt.Sprintf("--cpus: invalid number %q (use e.g. 0.5 or 2)", s), "")
		}
		o.NanoCPUs, limits["cpu"] = int64(f*1e9), s
	}
	for _, kv := range c.StringSlice("env") {
		if kv == "" || strings.HasPrefix(kv, "=") {
			return fail(125, fmt.Sprintf("-e: invalid %q: want KEY=VALUE or KEY", kv), "")
		}
		if !strings.Contains(kv, "=") {
			v, ok := os.LookupEnv(kv)
			if !ok {
				continue // as docker run: an unset KEY is left out
			}
			kv += "=" + v
		}
		o.Env = append(o.Env, kv)
	}
	o.Env = append(o.Env, supervise.EnvTaskID+"="+id, supervise.RunTag(runID))
	for _, v := range c.StringSlice("volume") {
		b, err := bind(v)
		if err != nil {
			return fail(125, err.Error(), "")
		}
		o.Binds = append(o.Binds, b)
	}
	userLabels := map[string]string{}
	for _, kv := range c.StringSlice("label") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.HasPrefix(k, "watchdog.") {
			return fail(125, fmt.Sprintf("invalid label %q: want KEY=VALUE, not in the watchdog. namespace", kv), "")
		}
		userLabels[k] = v
	}

	store, err := registry.Open(registry.Path(c.String("registry")))
	if err != nil {
		var pe *registry.PermError
		hint := ""
		if errors.As(err, &pe) {
			hint = pe.Hint
		}
		return fail(125, err.Error(), hint)
	}
	absReg, _ := filepath.Abs(store.Path)

	self, ticks := supervise.Self()
	host, _ := os.Hostname()
	now := time.Now()
	o.Labels = map[string]string{}
	for k, v := range userLabels {
		o.Labels[k] = v
	}
	o.Labels[container.LabelTaskID] = id
	o.Labels[container.LabelRunID] = runID
	o.Labels[container.LabelSupervisor] = supervise.SelfTag(false)
	o.Labels[container.LabelHost] = host
	o.Labels[container.LabelBootID] = supervise.BootID()
	o.Labels[container.LabelRegistry] = absReg
	o.Labels[container.LabelKeep] = strconv.FormatBool(o.Keep)
	var deadline time.Time
	if o.Timeout > 0 {
		deadline = now.Add(o.Timeout)
		o.Labels[container.LabelDeadline] = deadline.UTC().Format(time.RFC3339Nano)
		o.Labels[container.LabelKillAfter] = strconv.FormatFloat(killAfter.Seconds(), 'f', -1, 64)
	}

	ctx := context.Background()
	cli, err := container.Connect(ctx)
	if err != nil {
		return fail(125, err.Error(), "start the Docker engine, or point DOCKER_HOST or DOCKER_CONTEXT at one")
	}
	defer cli.Close()

	task := &registry.Task{
		Mode: registry.ModeDocker, Command: supervise.DisplayCommand(append([]string{o.Image}, o.Cmd...)), Status: registry.StatusRunning,
		StartedAt: registry.FormatTime(now), ConstitutionRules: []string{}, RunID: runID, Argv: append([]string{o.Image}, o.Cmd...),
		Labels: userLabels, Docker: &registry.Docker{ContainerName: o.Name, ResourceLimits: limits, Image: o.Image},
		Supervisor: &registry.Proc{PID: self, StartTicks: ticks, Host: host, BootID: supervise.BootID(), PIDNS: supervise.PIDNamespace(),
			StartTime: registry.FormatTime(supervise.StartWallTime(ticks))},
	}
	if len(userLabels) == 0 {
		task.Labels = nil
	}
	if !deadline.IsZero() {
		task.Deadline = registry.FormatTime(deadline)
		task.TimeoutSeconds = o.Timeout.Seconds()
		task.KillAfter = killAfter.Seconds()
	}
	recorded := false
	res, runErr := container.Run(ctx, cli, o, func(cid, name string) error {
		task.Docker.ContainerID = cid
		err := store.Update(func(r *registry.Registry) error {
			if t, err := r.Get(id); err == nil && t != nil && t.Status == registry.StatusRunning &&
				(launch.SupervisorAlive(t) || launch.CommandAlive(t)) {
				return fail(125, fmt.Sprintf("task %q is already running", id), "choose another --id, or stop it first: watchdog kill "+id)
			}
			r.Put(id, task)
			return nil
		})
		if err == nil {
			recorded = true
			_ = registry.Remember(store.Path)
		}
		return err
	})
	var lost *container.EngineLostError
	if errors.As(runErr, &lost) {
		return engineLost(store, id, runID, lost)
	}
	if runErr != nil {
		var se *container.StartError
		if recorded {
			recordEnd(store, id, runID, func(t *registry.Task) {
				code := 125
				if errors.As(runErr, &se) {
					code = se.Code
				}
				t.Status, t.Reason, t.ExitCode, t.Error = registry.StatusFailed, registry.ReasonStartErr, &code, runErr.Error()
			})
		}
		if errors.As(runErr, &se) {
			return fail(se.Code, se.Msg, se.Hint)
		}
		var ee *launch.ExitError
		if errors.As(runErr, &ee) {
			return ee
		}
		return fail(125, runErr.Error(), "")
	}
	recordEnd(store, id, runID, func(t *registry.Task) {
		code := res.ExitCode
		t.ExitCode = &code
		switch {
		case res.TimedOut:
			t.Status, t.Reason = registry.StatusFailed, registry.ReasonTimeout
		case res.StatusCode == 0:
			t.Status, t.Reason = registry.StatusCompleted, registry.ReasonExited
		default:
			t.Status, t.Reason = registry.StatusFailed, registry.ReasonExited
		}
	})
	if res.ExitCode == 0 {
		return nil
	}
	return launch.Exit(res.ExitCode)
}

// engineLost reports a container that started before the engine was lost
// for good. The record stays running, its error saying why, so that
// `watchdog sweep` (which stops containers whose supervisor is gone) ends
// it; a container the engine says is gone is recorded as lost at once.
func engineLost(store *registry.Store, id, runID string, lost *container.EngineLostError) error {
	short := container.ShortID(lost.ContainerID)
	if lost.Removed {
		msg := fmt.Sprintf("container %s (%s) was removed while the Docker engine was unreachable; how it ended is unknown", short, lost.Name)
		recordEnd(store, id, runID, func(t *registry.Task) {
			code := ExitEngineLost
			t.Status, t.Reason, t.ExitCode, t.Error = registry.StatusFailed, registry.ReasonLost, &code, msg
		})
		return fail(ExitEngineLost, msg, "")
	}
	msg := fmt.Sprintf("lost the Docker engine after the container started; container %s may still be running; "+
		"`watchdog sweep` will stop it and close the record once the engine answers", short)
	err := store.Update(func(r *registry.Registry) error {
		t, err := r.Get(id)
		if err != nil || t == nil || t.RunID != runID || t.Status != registry.StatusRunning {
			return nil // someone else (kill, sweep) already closed it
		}
		t.Error = msg
		r.Put(id, t)
		return nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "watchdog: warning: could not record the lost engine: %v\n", err)
	}
	hint := fmt.Sprintf("the engine at %s did not answer for %s (%v); do not rerun blindly: the command did start",
		lost.Host, lost.Unreachable.Round(time.Second), lost.Err)
	return fail(ExitEngineLost, msg, hint)
}

// recordEnd writes the end of the run unless someone else already decided
// (watchdog kill, sweep): the first final status wins.
func recordEnd(store *registry.Store, id, runID string, apply func(*registry.Task)) {
	err := store.Update(func(r *registry.Registry) error {
		t, err := r.Get(id)
		if err != nil || t == nil || t.RunID != runID {
			return nil
		}
		if t.Status == registry.StatusRunning {
			apply(t)
		}
		if t.CompletedAt == "" {
			t.CompletedAt = registry.FormatTime(time.Now())
		}
		r.Put(id, t)
		return nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "watchdog: warning: the run ended but could not be recorded: %v\n", err)
	}
}

// bind checks -v SRC:DST[:ro|rw]; a relative SRC path becomes absolute.
func bind(v string) (string, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("-v: invalid %q: want SRC:DST[:ro]", v)
	}
	if !strings.HasPrefix(parts[1], "/") {
		return "", fmt.Errorf("-v: invalid %q: the destination must be an absolute path", v)
	}
	if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
		return "", fmt.Errorf("-v: invalid %q: the mode must be ro or rw", v)
	}
	if strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/") {
		abs, err := filepath.Abs(parts[0])
		if err != nil {
			return "", err
		}
		parts[0] = abs
	}
	return strings.Join(parts, ":"), nil
}

var stopCommand = &cli.Command{
	Name:      "stop-container",
	Usage:     "signal a watchdog container, wait --grace, KILL; remove it unless it was started with --keep",
	ArgsUsage: "CONTAINER",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "signal", Value: "TERM"},
		&cli.StringFlag{Name: "grace", Value: "10s"},
	},
	Action: func(c *cli.Context) error {
		sig, err := supervise.ParseSignal(c.String("signal"))
		if err != nil {
			return fail(125, err.Error(), "")
		}
		grace, err := supervise.ParseDuration(c.String("grace"))
		if err != nil {
			return fail(125, err.Error(), "")
		}
		ctx := context.Background()
		cli, err := connect(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		ref := c.Args().First()
		info, err := cli.ContainerInspect(ctx, ref)
		if err != nil {
			return fail(1, fmt.Sprintf("container %s: %v", ref, err), "")
		}
		if info.Config == nil || info.Config.Labels[container.LabelRunID] == "" {
			return fail(125, fmt.Sprintf("container %s has no watchdog labels; not touching it", ref), "")
		}
		if err := container.Stop(ctx, cli, info.ID, int(sig), grace); err != nil {
			return fail(1, err.Error(), "")
		}
		if info.Config.Labels[container.LabelKeep] != "true" {
			_ = cli.ContainerRemove(ctx, info.ID, dockercontainer.RemoveOptions{Force: true})
		}
		fmt.Fprintf(c.App.Writer, "watchdog: stopped container %s\n", trimName(info.Name))
		return nil
	},
}

// connect reaches the engine for the helper's own subcommands; no engine
// exits exitNoEngine so that the caller can decide whether to warn.
func connect(ctx context.Context) (*client.Client, error) {
	cli, err := container.Connect(ctx)
	if err != nil {
		return nil, fail(exitNoEngine, err.Error(), "")
	}
	return cli, nil
}

func trimName(s string) string { return strings.TrimPrefix(s, "/") }

var sweepCommand = &cli.Command{
	Name:  "sweep",
	Usage: "stop and remove watchdog containers whose supervisor is gone or whose deadline passed (JSON report)",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "dry-run"},
		&cli.StringFlag{Name: "grace", Value: "10s"},
	},
	Action: func(c *cli.Context) error {
		grace, err := supervise.ParseDuration(c.String("grace"))
		if err != nil {
			return fail(125, err.Error(), "")
		}
		ctx := context.Background()
		cli, err := connect(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		evs, err := container.Sweep(ctx, cli, grace, c.Bool("dry-run"))
		if err != nil {
			return fail(1, err.Error(), "")
		}
		if evs == nil {
			evs = []container.Event{}
		}
		return json.NewEncoder(c.App.Writer).Encode(struct {
			Actions []container.Event `json:"actions"`
		}{evs})
	},
}

var usageCommand = &cli.Command{
	Name:      "usage",
	Usage:     "state, CPU and memory of containers, as JSON (for watchdog list and check)",
	ArgsUsage: "CONTAINER...",
	Action: func(c *cli.Context) error {
		ctx := context.Background()
		cli, err := connect(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		out := []container.Usage{}
		for _, ref := range c.Args().Slice() {
			out = append(out, container.Measure(ctx, cli, ref))
		}
		return json.NewEncoder(c.App.Writer).Encode(out)
	},
}
