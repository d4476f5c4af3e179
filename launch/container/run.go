package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// Options is one container run.
type Options struct {
	// Who the run is for: carried by the container's labels (which let
	// sweep find it) and, the first two, its environment.
	TaskID   string
	RunID    string
	Registry string // absolute path of the registry that records it

	Image       string
	Cmd         []string
	Name        string   // empty: dev-task-TaskID
	Entrypoint  []string // nil: the image's; [""]: none
	Hostname    string
	Init        *bool    // nil: the engine's default
	Env         []string // KEY=VALUE; TASK_ID and the run tag are added
	Binds       []string // SRC:DST[:ro]
	Workdir     string
	User        string
	Network     string
	Interactive bool
	TTY         bool
	Keep        bool
	Memory      int64             // bytes; 0: no limit
	NanoCPUs    int64             // 1e9 per CPU; 0: no limit
	Limits      map[string]string // the limits as given ("memory", "cpu"), for the record
	Labels      map[string]string // the user's; the watchdog's are added

	// As docker run's -p, --mount, --shm-size, --cap-add, --cap-drop,
	// --gpus and --platform (see flags.go for the parsers).
	ExposedPorts   nat.PortSet
	PortBindings   nat.PortMap
	Mounts         []mount.Mount
	ShmSize        int64 // bytes; 0: the engine's default
	CapAdd         []string
	CapDrop        []string
	DeviceRequests []container.DeviceRequest
	Platform       *ocispec.Platform // nil: the image's

	Timeout   time.Duration // 0: none
	KillAfter time.Duration // grace before KILL; 0: never KILL
	Signal    syscall.Signal
	Preserve  bool
	Verbose   io.Writer
	// Log is the file the output is kept in as it passes (--log),
	// absolute; empty: none. LogMax caps it (--log-max).
	Log       string
	LogChosen bool // named by the user: an existing file is replaced
	LogMax    int64
	// IdleTimeout ends the container as its deadline does when no output
	// has arrived for this long (--idle-timeout); 0: never.
	IdleTimeout time.Duration
	// Warn receives the notices that the engine was lost after the start,
	// and regained; nil: os.Stderr.
	Warn io.Writer
}

// Result is how a container run ended.
type Result struct {
	ContainerID string
	StatusCode  int64 // the container's own exit code
	ExitCode    int   // what to exit with: the coreutils timeout convention
	TimedOut    bool
	// Idle: what timed out was the idle timeout (TimedOut is set too).
	Idle     bool
	Killed   bool
	Received syscall.Signal
	Removed  bool
}

// ExitEngineLost is docker-run's status when the container started and the
// watchdog then lost the Docker engine for good (it retried for a while
// and past the deadline): it cannot tell how, or whether, the container
// ended. Unlike 125 it does not mean "never ran": do not simply retry. The
// registry record stays running, its error field saying so, and `watchdog
// sweep` stops the container and closes the record once the engine
// answers. (If the engine answered again but the container had been
// removed meanwhile, the record is closed as failed/lost instead.)
const ExitEngineLost = 122

// Runner is one container run in the task's life (a launch.Runner):
// Prepare creates the container, Start leaves the engine alone (the
// registry is locked meanwhile, and the engine takes a fifth of a second
// or more to start a container), Wait starts it and watches it to its
// end, Abort removes it.
type Runner struct {
	ctx      context.Context
	cli      *client.Client
	o        Options
	deadline time.Time // as the labels and the record say; zero: none
	id       string    // the container's, once created
	removed  bool
	// out keeps the output (--log) and notes its silence
	// (--idle-timeout); nil without them.
	out *output
}

var _ launch.Runner = (*Runner)(nil)

// NewRunner readies a run of o: its name, labels and environment.
func NewRunner(ctx context.Context, cli *client.Client, o Options) *Runner {
	r := &Runner{ctx: ctx, cli: cli, o: o}
	if r.o.Name == "" {
		r.o.Name = "dev-task-" + o.TaskID
	}
	r.o.Env = append(append([]string(nil), o.Env...), supervise.EnvTaskID+"="+o.TaskID, supervise.RunTag(o.RunID))
	host, _ := os.Hostname()
	l := map[string]string{}
	for k, v := range o.Labels {
		l[k] = v
	}
	l[LabelTaskID] = o.TaskID
	l[LabelRunID] = o.RunID
	l[LabelSupervisor] = supervise.SelfTag(false)
	l[LabelHost] = host
	l[LabelBootID] = supervise.BootID()
	l[LabelRegistry] = o.Registry
	l[LabelKeep] = strconv.FormatBool(o.Keep)
	if o.Timeout > 0 {
		r.deadline = time.Now().Add(o.Timeout)
		l[LabelDeadline] = r.deadline.UTC().Format(time.RFC3339Nano)
		l[LabelKillAfter] = strconv.FormatFloat(o.KillAfter.Seconds(), 'f', -1, 64)
	}
	r.o.Labels = l
	return r
}

// Prepare checks that the image is present and the name free, and creates
// the container. Images are never pulled.
func (r *Runner) Prepare() error {
	o, ctx := r.o, r.ctx
	if _, err := r.cli.ImageInspect(ctx, o.Image); err != nil {
		if client.IsErrNotFound(err) {
			hint := "pull or build it first (docker pull " + o.Image + "); docker-run never pulls"
			if _, derr := supervise.ParseDuration(o.Image); derr == nil && o.TTY {
				// docker-run -t 10m IMAGE: -t is docker run's --tty here.
				hint = "-t is --tty in docker-run, as in docker run; the deadline is --timeout (docker-run --timeout " + o.Image + " IMAGE ...)"
			}
			return &launch.ExitError{Code: 125, Msg: fmt.Sprintf("image %s is not present on the Docker engine", supervise.Quote(o.Image)),
				Hint: hint}
		}
		return launch.Failf("", "inspect image %s: %v", supervise.Quote(o.Image), err)
	}
	if _, err := r.cli.ContainerInspect(ctx, o.Name); err == nil {
		return nameTaken(o.Name)
	}
	if err := r.openOutput(); err != nil {
		return err
	}
	cfg := &container.Config{
		Image:        o.Image,
		Cmd:          o.Cmd,
		Entrypoint:   o.Entrypoint,
		Hostname:     o.Hostname,
		Env:          o.Env,
		Labels:       o.Labels,
		WorkingDir:   o.Workdir,
		User:         o.User,
		ExposedPorts: o.ExposedPorts,
		Tty:          o.TTY,
		OpenStdin:    o.Interactive,
		StdinOnce:    o.Interactive,
		AttachStdin:  o.Interactive,
		AttachStdout: true,
		AttachStderr: true,
	}
	host := &container.HostConfig{
		Binds:        o.Binds,
		Mounts:       o.Mounts,
		PortBindings: o.PortBindings,
		Init:         o.Init,
		NetworkMode:  container.NetworkMode(o.Network),
		ShmSize:      o.ShmSize,
		CapAdd:       o.CapAdd,
		CapDrop:      o.CapDrop,
		Resources:    container.Resources{Memory: o.Memory, NanoCPUs: o.NanoCPUs, DeviceRequests: o.DeviceRequests},
	}
	cr, err := r.cli.ContainerCreate(ctx, cfg, host, nil, o.Platform, o.Name)
	if err != nil {
		if strings.Contains(err.Error(), "Conflict") || strings.Contains(err.Error(), "already in use") {
			return nameTaken(o.Name)
		}
		hint := ""
		if o.Platform != nil && client.IsErrNotFound(err) {
			hint = "the local image is for another platform; docker-run never pulls: build or pull it for " +
				formatPlatform(o.Platform) + " first, or drop --platform"
		}
		return launch.Failf(hint, "create container: %v", err)
	}
	r.id = cr.ID
	return nil
}

// Start does nothing: the container starts in Wait, once its record is
// written, without holding the registry lock while the engine works.
func (r *Runner) Start() error { return nil }

// Record adds the container: its id once created, name, image and limits,
// and the deadline its labels carry.
func (r *Runner) Record(t *registry.Task) {
	t.Mode = registry.ModeDocker
	limits := r.o.Limits
	if limits == nil {
		limits = map[string]string{} // the earlier tool's readers expect the field
	}
	t.Docker = &registry.Docker{ContainerID: r.id, ContainerName: r.o.Name, ResourceLimits: limits, Image: r.o.Image}
	if !r.deadline.IsZero() {
		t.Deadline = registry.FormatTime(r.deadline)
	}
	t.Log = r.o.Log
	if r.o.IdleTimeout > 0 {
		t.IdleTimeout = r.o.IdleTimeout.Seconds()
	}
}

// openOutput makes the log, before the container: a log that cannot be
// made stops the run before anything is made or recorded, as exec's does.
func (r *Runner) openOutput() error {
	if r.o.Log == "" && r.o.IdleTimeout <= 0 {
		return nil
	}
	out, err := newOutput(launch.OutputOptions{Log: r.o.Log, LogChosen: r.o.LogChosen, LogMax: r.o.LogMax})
	if err != nil {
		return launch.NotStarted(launch.Failf("choose another file with --log=FILE", "cannot keep the log: %v", err))
	}
	r.out = out
	return nil
}

// closeOutput closes the log, once, saying so if it is incomplete.
func (r *Runner) closeOutput() {
	out := r.out
	r.out = nil
	if err := out.close(); err != nil {
		fmt.Fprintf(r.warn(), "watchdog: warning: the log %s is incomplete: %v\n", supervise.Escape(r.o.Log), err)
	}
}

func (r *Runner) warn() io.Writer {
	if r.o.Warn == nil {
		return os.Stderr
	}
	return r.o.Warn
}

// Abort removes the container, if one was made, with its anonymous
// volumes, as docker run --rm does (named volumes stay).
func (r *Runner) Abort() {
	r.closeOutput()
	if r.id == "" || r.removed {
		return
	}
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.cli.ContainerRemove(rctx, r.id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err == nil || client.IsErrNotFound(err) {
		r.removed = true
	}
}

// Wait starts the container, having subscribed to its exit and to our
// signals first (a fast exit is never missed), streams its output,
// forwards INT, TERM and HUP, enforces the deadline (signal, grace, KILL),
// and removes it unless Keep.
//
// Until the container has started, failures are start failures
// (*launch.ExitError). After, a lost engine is reconnected to while the
// deadline keeps running; if it stays unreachable (see engineRetry) the
// error is a *launch.EndUnknown.
func (r *Runner) Wait(func(supervise.Result)) (supervise.Result, error) {
	res, err := r.run()
	r.closeOutput()
	var lost *EngineLostError
	if errors.As(err, &lost) {
		return supervise.Result{}, endUnknown(lost)
	}
	if err != nil {
		return supervise.Result{}, err
	}
	return res.supervised(), nil
}

func (r *Runner) run() (Result, error) {
	ctx, o := r.ctx, r.o
	res := Result{ContainerID: r.id}
	sigs := make(chan os.Signal, 16)
	forwarded := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
	if o.TTY {
		forwarded = append(forwarded, syscall.SIGWINCH)
	}
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	att, err := r.cli.ContainerAttach(ctx, r.id, container.AttachOptions{Stream: true, Stdin: o.Interactive, Stdout: true, Stderr: true})
	if err != nil {
		r.Abort()
		return res, launch.Failf("", "attach to container: %v", err)
	}
	defer att.Close()
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	waitC, waitErr := r.cli.ContainerWait(waitCtx, r.id, container.WaitConditionNextExit)

	var restore func()
	if o.TTY {
		restore = rawTerminal(os.Stdin)
	}
	defer func() {
		if restore != nil {
			restore()
		}
	}()

	if err := r.cli.ContainerStart(ctx, r.id, container.StartOptions{}); err != nil {
		r.Abort()
		return res, startFailure(err)
	}
	if o.TTY {
		resize(ctx, r.cli, r.id)
	}
	// From here on the container has started: a lost engine is no start
	// failure any more (see watch.go).
	if o.Interactive {
		go func() {
			_, _ = io.Copy(att.Conn, os.Stdin)
			_ = att.CloseWrite()
		}()
	}
	w := &watcher{cli: r.cli, o: o, id: r.id, sigs: sigs, warn: r.warn(), nl: "\n", out: r.out}
	if restore != nil {
		w.nl = "\r\n"
	}
	r.out.started()
	first := &link{waitC: waitC, waitErr: waitErr, cancel: cancelWait, att: &att, outDone: w.copyOutput(&att)}
	cleanup := func() {
		r.Abort()
		res.Removed = r.removed
	}
	return w.watch(ctx, first, &res, cleanup)
}

// supervised is the result in the terms of supervise, which the task's
// end record is written from. The engine reports a process killed by
// signal N as 128+N, as a shell does, and cannot tell it from one that
// exited with that status itself: the record reads it as the shell does.
// docker-run exits with the status rather than dying of the signal.
func (res Result) supervised() supervise.Result {
	s := supervise.Result{ExitCode: res.ExitCode, Exited: true, CommandCode: int(res.StatusCode),
		TimedOut: res.TimedOut, Idle: res.Idle, Killed: res.Killed, Received: res.Received}
	if n := res.StatusCode - 128; n >= 1 && n <= maxSignal {
		s.Exited, s.CommandCode, s.Signal = false, 0, syscall.Signal(n)
	}
	return s
}

// maxSignal is the highest signal number (SIGRTMAX on Linux).
const maxSignal = 64

// endUnknown says what docker-run knows of a container that started
// before the engine was lost for good. Removed meanwhile, it is over and
// recorded as lost; otherwise the record stays running, its error saying
// why, so that `watchdog sweep` (which stops containers whose supervisor
// is gone) ends it.
func endUnknown(lost *EngineLostError) *launch.EndUnknown {
	short := ShortID(lost.ContainerID)
	if lost.Removed {
		msg := fmt.Sprintf("container %s (%s) was removed while the Docker engine was unreachable; how it ended is unknown", short, lost.Name)
		return &launch.EndUnknown{Gone: true, Exit: &launch.ExitError{Code: ExitEngineLost, Msg: msg}}
	}
	msg := fmt.Sprintf("lost the Docker engine after the container started; container %s may still be running; "+
		"`watchdog sweep` will stop it and close the record once the engine answers", short)
	hint := fmt.Sprintf("the engine at %s did not answer for %s (%v); do not rerun blindly: the command did start",
		lost.Host, lost.Unreachable.Round(time.Second), lost.Err)
	return &launch.EndUnknown{Exit: &launch.ExitError{Code: ExitEngineLost, Msg: msg, Hint: hint}}
}

// exitCode: the container's code; 137 when KILL was needed after the
// deadline; otherwise the timeout rules are applied by the caller.
func exitCode(r Result) int {
	if r.TimedOut && r.Killed {
		return 137
	}
	return int(r.StatusCode)
}

func nameTaken(name string) error {
	return &launch.ExitError{Code: 125, Msg: fmt.Sprintf("a container named %s already exists", supervise.Quote(name)),
		Hint: fmt.Sprintf("remove it (docker rm -f %s) or choose another --name or --id", name)}
}

// startFailure maps the engine's refusal to start to docker run's statuses.
func startFailure(err error) error {
	msg := "start container: " + err.Error()
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		return &launch.ExitError{Code: supervise.ExitNotFound, Msg: msg}
	case strings.Contains(msg, "permission denied"):
		return &launch.ExitError{Code: supervise.ExitNotExecutable, Msg: msg}
	case strings.Contains(msg, "could not select device driver"):
		return launch.Failf("the engine has no GPU support (for NVIDIA GPUs: the NVIDIA Container Toolkit); drop --gpus", "%s", msg)
	}
	return launch.Failf("", "%s", msg)
}

func signalName(sig syscall.Signal) string { return supervise.SignalName(sig) }
