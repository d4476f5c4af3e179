// Command watchdog-docker is the container half of the watchdog: `watchdog
// docker-run` executes it, and `watchdog kill` and `watchdog sweep` call it
// for containers. It is a separate binary so that the Docker client's
// package initialisation never runs in the native exec path.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	dockercontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	units "github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/internal/outputflag"
	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/internal/version"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/launch/container"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// linkedVersion is set by release builds (-ldflags "-X main.linkedVersion=...").
var linkedVersion = "dev"

// ExitEngineLost is docker-run's status when the engine was lost for good
// after the container started (see container.ExitEngineLost).
const ExitEngineLost = container.ExitEngineLost

// fail ends the invocation with code, a message and a hint.
func fail(code int, msg, hint string) error {
	return &launch.ExitError{Code: code, Msg: msg, Hint: hint}
}

func main() {
	app := &cli.App{
		Name:           "watchdog-docker",
		Usage:          "the container half of watchdog (run it as `watchdog docker-run`)",
		Version:        version.Of(linkedVersion),
		OnUsageError:   usageError,
		Commands:       []*cli.Command{runCommand, stopCommand, sweepCommand, usageCommand},
		ExitErrHandler: func(*cli.Context, error) {}, // main reports and exits
		// As docker run: one value per -e, -v, --label, --mount (whose
		// fields are comma-separated), not split at commas.
		DisableSliceFlagSeparator: true,
	}
	// run is `watchdog docker-run` (the bridge execs `watchdog-docker run`):
	// its help names the command users type.
	if len(os.Args) > 1 && os.Args[1] == runCommand.Name {
		app.HelpName, runCommand.HelpName = "watchdog", "docker-run"
	}
	launch.DropEmptyEnv()
	if err := app.Run(os.Args); err != nil {
		ee := launch.AsExit(err)
		ee.Report(os.Stderr, "watchdog")
		os.Exit(ee.Code)
	}
}

// usageError is a bad option: exit 125 with a hint, as exec's (urfave/cli
// would print the whole help on stdout).
func usageError(c *cli.Context, err error, _ bool) error {
	return fail(125, err.Error(), "run 'watchdog docker-run --help' for usage")
}

// outputFlags are --log[=FILE], --log-max and --idle-timeout, as exec's.
var outputFlags = outputflag.Flags()

var runCommand = &cli.Command{
	Name:                   "run",
	OnUsageError:           usageError,
	UseShortOptionHandling: true, // -it, as docker run takes it
	Usage:                  "run a container with a deadline, supervised and recorded",
	ArgsUsage:              "IMAGE [COMMAND [ARG]...]",
	Description: `Creates the container (name dev-task-ID unless --name) with labels that
carry the task id, run id, supervisor identity and deadline, and TASK_ID in
its environment; waits for its exit before starting it; streams stdout and
stderr live and separately (stdin with -i, a TTY with -t); forwards INT, TERM
and HUP; at the deadline sends --signal, then KILL after --kill-after;
removes it at the end unless --keep (--rm, the default, is accepted).

--log keeps stdout and stderr, as they pass, in the task's log beside the
registry (--log=FILE: in FILE; at most --log-max, 64m by default), both
streams in the order they arrived, while they still reach you live and
separately; 'watchdog logs ID' reads it. --idle-timeout DUR ends the
container as its deadline does (--signal, then KILL after --kill-after)
once it has printed nothing for DUR: reason idle, exit 124.

Also as docker run's: --init, --entrypoint, --hostname, --env-file (read
before -e), --pull missing|never, -p/--publish, --mount, --shm-size,
--cap-add, --cap-drop, --gpus, --platform (of the local image: never
pulled). -it needs a terminal on stdin. Options that take a list are
repeated, never split at commas.

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
		&cli.StringFlag{Name: "timeout", Usage: "deadline `DURATION`; 0 for none", Value: "0", EnvVars: []string{launch.EnvTimeout}},
		&cli.StringFlag{Name: "kill-after", Aliases: []string{"k"}, Usage: "grace `DURATION` before KILL; 0 never KILLs", Value: "10s"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "`SIGNAL` at the deadline", Value: "TERM"},
		&cli.StringFlag{Name: "memory", Aliases: []string{"m"}, Usage: "memory limit `SIZE` (512m, 1g)"},
		&cli.StringFlag{Name: "cpus", Usage: "CPU limit `N` (1.5)"},
		&cli.StringFlag{Name: "name", Usage: "container `NAME` (default dev-task-ID)"},
		&cli.BoolFlag{Name: "keep", Usage: "do not remove the container at the end"},
		&cli.BoolFlag{Name: "rm", Usage: "remove the container at the end (the default; accepted as docker run's)"},
		&cli.BoolFlag{Name: "init", Usage: "run the engine's init (docker-init) as pid 1, to pass signals on and reap zombies"},
		&cli.StringFlag{Name: "entrypoint", Usage: "`PROGRAM` to run instead of the image's entrypoint (\"\" clears it)"},
		&cli.StringFlag{Name: "hostname", Usage: "host `NAME` in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "`KEY=VALUE` (or KEY, taken from here) in the container"},
		&cli.StringSliceFlag{Name: "env-file", Usage: "read `FILE`'s KEY=VALUE lines into the container's environment (repeatable)"},
		&cli.StringFlag{Name: "pull", Usage: "`POLICY`: missing or never, both meaning never: images are never pulled", Value: "missing"},
		&cli.StringSliceFlag{Name: "volume", Aliases: []string{"v"}, Usage: "bind `SRC:DST[:ro]`"},
		&cli.StringSliceFlag{Name: "mount", Usage: "mount `SPEC`: type=bind|volume|tmpfs,source=SRC,target=DST[,readonly][,tmpfs-size=SIZE] (repeatable)"},
		&cli.StringSliceFlag{Name: "publish", Aliases: []string{"p"}, Usage: "publish `SPEC`: [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO] (repeatable; ranges as 8000-8001:80-81)"},
		&cli.StringFlag{Name: "shm-size", Usage: "`SIZE` of /dev/shm (64m)"},
		&cli.StringSliceFlag{Name: "cap-add", Usage: "add Linux capability `CAP` (NET_ADMIN, ALL; repeatable)"},
		&cli.StringSliceFlag{Name: "cap-drop", Usage: "drop Linux capability `CAP` (NET_RAW, ALL; repeatable)"},
		&cli.StringFlag{Name: "gpus", Usage: "`GPUS` to add: all, a count, or device=ID[,ID...] (needs the engine's GPU support)"},
		&cli.StringFlag{Name: "platform", Usage: "`OS[/ARCH[/VARIANT]]` the local image must be for (linux/amd64); nothing is pulled"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working `DIR` in the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`USER[:GROUP]` in the container"},
		&cli.StringFlag{Name: "network", Usage: "`NAME` of the network"},
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep stdin open and stream it in"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a TTY"},
		&cli.StringSliceFlag{Name: "label", Aliases: []string{"l"}, Usage: "`KEY=VALUE` label (repeatable)"},
		&cli.BoolFlag{Name: "preserve-status", Usage: "exit with the container's code even when it timed out"},
		&cli.BoolFlag{Name: "verbose", Usage: "say on stderr when a signal is sent"},
		outputFlags[0], outputFlags[1], outputFlags[2],
		&cli.StringFlag{Name: "registry", Usage: "registry file `PATH`", EnvVars: []string{registry.EnvPath}},
	},
	Action: runAction,
}

func runAction(c *cli.Context) error {
	o, co, err := parseRun(c)
	if err != nil {
		return err
	}
	store, err := registry.Open(registry.Path(c.String("registry")))
	if err != nil {
		return launch.Fail(err, "")
	}
	co.Registry, _ = filepath.Abs(store.Path)
	if o.Output.Log == outputflag.LogDefault {
		o.Output.Log = tasklog.PathFor(co.Registry, o.ID, co.RunID)
	}
	co.Log = o.Output.Log
	ctx := context.Background()
	cli, err := container.Connect(ctx)
	if err != nil {
		return fail(125, err.Error(), "start the Docker engine, or point DOCKER_HOST or DOCKER_CONTEXT at one")
	}
	defer cli.Close()
	m := launch.Mode{Prog: "watchdog", Stderr: os.Stderr}
	return launch.Run(store, o, co.RunID, container.NewRunner(ctx, cli, co), m)
}

// parseRun validates docker-run's command line before anything starts:
// the task as every runner has it, and the container's own options.
func parseRun(c *cli.Context) (*launch.Options, container.Options, error) {
	var co container.Options
	if c.NArg() == 0 {
		return nil, co, fail(125, "missing IMAGE", "watchdog docker-run --timeout 10m IMAGE [COMMAND [ARG]...]")
	}
	o := &launch.Options{ID: c.String("id"), Argv: c.Args().Slice(), Preserve: c.Bool("preserve-status"), Verbose: c.Bool("verbose")}
	co.RunID = launch.NewRunID()
	if o.ID == "" {
		// "docker-…": the default container name, dev-task-ID, then does
		// not say "task" twice.
		o.ID = launch.DefaultID("docker", co.RunID)
	} else if err := registry.ValidateID(o.ID); err != nil {
		return nil, co, launch.Fail(err, "")
	}
	var err error
	if o.Timeout, err = supervise.ParseDuration(c.String("timeout")); err != nil {
		return nil, co, launch.Fail(fmt.Errorf("%s: %w", launch.TimeoutSource(c.String("timeout")), err), "")
	}
	if o.KillAfter, err = supervise.ParseDuration(c.String("kill-after")); err != nil {
		return nil, co, launch.Fail(fmt.Errorf("--kill-after: %w", err), "")
	}
	if o.Signal, err = supervise.ParseSignal(c.String("signal")); err != nil {
		return nil, co, launch.Fail(fmt.Errorf("--signal: %w", err), "use a name such as TERM, INT, KILL or a number")
	}
	if o.Labels, err = launch.ParseContainerLabels(c.StringSlice("label")); err != nil {
		return nil, co, launch.Fail(err, "")
	}
	if err := outputflag.Parse(c, &o.Output, "watchdog docker-run --log --log-max 16m IMAGE"); err != nil {
		return nil, co, err
	}
	co, err = containerOptions(c, o, co.RunID)
	return o, co, err
}

// containerOptions reads the flags that only a container has.
func containerOptions(c *cli.Context, o *launch.Options, runID string) (container.Options, error) {
	co := container.Options{
		TaskID: o.ID, RunID: runID,
		Image: c.Args().First(), Cmd: c.Args().Tail(), Name: c.String("name"),
		Workdir: c.String("workdir"), User: c.String("user"), Network: c.String("network"),
		Interactive: c.Bool("interactive"), TTY: c.Bool("tty"), Keep: c.Bool("keep"), Hostname: c.String("hostname"),
		Labels: o.Labels, Limits: map[string]string{},
		Timeout: o.Timeout, KillAfter: o.KillAfter, Signal: o.Signal, Preserve: o.Preserve, Warn: os.Stderr,
		LogChosen: o.Output.LogChosen, LogMax: o.Output.LogMax, IdleTimeout: o.Output.Idle,
	}
	if o.Timeout >= supervise.MaxDuration {
		co.Timeout = 0
	}
	if o.Output.Idle >= supervise.MaxDuration {
		co.IdleTimeout = 0
	}
	if o.Verbose {
		co.Verbose = os.Stderr
	}
	if m := c.String("memory"); m != "" {
		n, err := units.RAMInBytes(m)
		if err != nil || n <= 0 {
			return co, fail(125, fmt.Sprintf("--memory: invalid size %s (use e.g. 512m or 1g)", supervise.Quote(m)), "")
		}
		co.Memory, co.Limits["memory"] = n, m
	}
	if s := c.String("cpus"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0) || f > float64(1<<20) {
			return co, fail(125, fmt.Sprintf("--cpus: invalid number %s (use e.g. 0.5 or 2)", supervise.Quote(s)), "")
		}
		co.NanoCPUs, co.Limits["cpu"] = int64(f*1e9), s
	}
	if c.Bool("rm") && co.Keep {
		return co, fail(125, "--rm and --keep conflict", "drop one: the container is removed at the end unless --keep")
	}
	if c.IsSet("init") {
		on := c.Bool("init")
		co.Init = &on
	}
	if c.IsSet("entrypoint") {
		// As docker run: one program, not split; "" clears the image's.
		co.Entrypoint = []string{c.String("entrypoint")}
	}
	if h := co.Hostname; h != "" && !validHostname(h) {
		return co, fail(125, fmt.Sprintf("--hostname: invalid %s: want at most 64 letters, digits, '.', '-' or '_', not starting with '.' or '-'", supervise.Quote(h)), "")
	}
	switch p := c.String("pull"); p {
	case "missing", "never":
	case "always":
		return co, fail(125, "--pull always: docker-run never pulls images",
			"pull it first (docker pull "+co.Image+"), then run with --pull never or missing")
	default:
		return co, fail(125, fmt.Sprintf("--pull: invalid %s: want missing or never", supervise.Quote(p)), "")
	}
	for _, f := range c.StringSlice("env-file") {
		env, err := envFile(f)
		if err != nil {
			return co, fail(125, "--env-file: "+err.Error(), "")
		}
		co.Env = append(co.Env, env...)
	}
	for _, kv := range c.StringSlice("env") {
		if kv == "" || strings.HasPrefix(kv, "=") {
			return co, fail(125, fmt.Sprintf("-e: invalid %s: want KEY=VALUE or KEY", supervise.Quote(kv)), "")
		}
		if !strings.Contains(kv, "=") {
			v, ok := os.LookupEnv(kv)
			if !ok {
				continue // as docker run: an unset KEY is left out
			}
			kv += "=" + v
		}
		co.Env = append(co.Env, kv)
	}
	for _, v := range c.StringSlice("volume") {
		b, err := bind(v)
		if err != nil {
			return co, fail(125, err.Error(), "")
		}
		co.Binds = append(co.Binds, b)
	}
	if err := runOnlyOptions(c, &co); err != nil {
		return co, err
	}
	// As docker run: -it wants a terminal to read from. From a pipe or a
	// file the container would wait on a TTY nobody types into.
	if co.TTY && co.Interactive && !container.IsTerminal(os.Stdin) {
		return co, fail(125, "the input device is not a TTY",
			"drop -t to stream a pipe or file in with -i alone (docker-run -i IMAGE ...)")
	}
	return co, nil
}

// runOnlyOptions reads -p, --mount, --shm-size, --cap-add, --cap-drop,
// --gpus and --platform, as docker run takes them.
func runOnlyOptions(c *cli.Context, co *container.Options) error {
	var err error
	if co.ExposedPorts, co.PortBindings, err = container.ParsePublish(c.StringSlice("publish")); err != nil {
		return fail(125, "-p: "+err.Error(), "")
	}
	for _, v := range c.StringSlice("mount") {
		m, err := container.ParseMount(v)
		if err != nil {
			return fail(125, "--mount: "+err.Error(), "")
		}
		co.Mounts = append(co.Mounts, m)
	}
	if s := c.String("shm-size"); c.IsSet("shm-size") {
		n, err := units.RAMInBytes(s)
		if err != nil || n <= 0 {
			return fail(125, fmt.Sprintf("--shm-size: invalid size %s (use e.g. 64m or 1g)", supervise.Quote(s)), "")
		}
		co.ShmSize = n
	}
	if co.CapAdd, err = container.ParseCaps(c.StringSlice("cap-add")); err != nil {
		return fail(125, "--cap-add: "+err.Error(), "")
	}
	if co.CapDrop, err = container.ParseCaps(c.StringSlice("cap-drop")); err != nil {
		return fail(125, "--cap-drop: "+err.Error(), "")
	}
	if c.IsSet("gpus") {
		req, err := container.ParseGPUs(c.String("gpus"))
		if err != nil {
			return fail(125, "--gpus: "+err.Error(), "")
		}
		co.DeviceRequests = append(co.DeviceRequests, req)
	}
	if c.IsSet("platform") {
		if co.Platform, err = container.ParsePlatform(c.String("platform")); err != nil {
			return fail(125, "--platform: "+err.Error(), "")
		}
	}
	return nil
}

// validHostname: what sethostname(2) takes (at most 64 bytes), in the
// characters a host name has.
func validHostname(h string) bool {
	if len(h) > 64 || h[0] == '.' || h[0] == '-' {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// envFile reads an --env-file as docker run does: one KEY=VALUE a line,
// the value taken as it stands (no quotes, no expansion); leading blanks,
// blank lines and lines starting with # are skipped; a line of KEY alone
// takes KEY's value from here, or is left out if it is unset.
func envFile(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var env []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("%s: line %d is not valid UTF-8", name, i+1)
		}
		if i == 0 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		if !hasValue {
			key = strings.TrimRight(key, " \t")
		}
		switch {
		case key == "":
			return nil, fmt.Errorf("%s: line %d: no variable name", name, i+1)
		case strings.ContainsAny(key, " \t"):
			return nil, fmt.Errorf("%s: line %d: variable %s contains whitespace", name, i+1, supervise.Quote(key))
		case hasValue:
			env = append(env, key+"="+value)
		default:
			if v, ok := os.LookupEnv(key); ok {
				env = append(env, key+"="+v)
			}
		}
	}
	return env, nil
}

// bind checks -v SRC:DST[:ro|rw]; a relative SRC path becomes absolute.
func bind(v string) (string, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("-v: invalid %s: want SRC:DST[:ro]", supervise.Quote(v))
	}
	if !strings.HasPrefix(parts[1], "/") {
		return "", fmt.Errorf("-v: invalid %s: the destination must be an absolute path", supervise.Quote(v))
	}
	if len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw" {
		return "", fmt.Errorf("-v: invalid %s: the mode must be ro or rw", supervise.Quote(v))
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
			_ = cli.ContainerRemove(ctx, info.ID, dockercontainer.RemoveOptions{Force: true, RemoveVolumes: true})
		}
		fmt.Fprintf(c.App.Writer, "watchdog: stopped container %s\n", trimName(info.Name))
		return nil
	},
}

// connect reaches the engine for the helper's own subcommands; no engine
// exits launch.ExitNoEngine so that the caller can decide whether to warn.
func connect(ctx context.Context) (*client.Client, error) {
	cli, err := container.Connect(ctx)
	if err != nil {
		return nil, fail(launch.ExitNoEngine, err.Error(), "")
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
			evs = []launch.ContainerEvent{}
		}
		return json.NewEncoder(c.App.Writer).Encode(launch.ContainerSweep{Actions: evs})
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
