package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/watchdog-run/watchdog/supervise"
)

// Options is one container run.
type Options struct {
	Image       string
	Cmd         []string
	Name        string
	Env         []string // KEY=VALUE, TASK_ID and the run tag included
	Binds       []string // SRC:DST[:ro]
	Workdir     string
	User        string
	Network     string
	Interactive bool
	TTY         bool
	Keep        bool
	Memory      int64 // bytes; 0: no limit
	NanoCPUs    int64 // 1e9 per CPU; 0: no limit
	Labels      map[string]string

	Timeout   time.Duration // 0: none
	KillAfter time.Duration // grace before KILL; 0: never KILL
	Signal    syscall.Signal
	Preserve  bool
	Verbose   io.Writer
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
	Killed      bool
	Received    syscall.Signal
	Removed     bool
}

// StartError is a container that could not be created or started. Code is
// 125, or 126/127 when the command in the image cannot be run (as docker
// run reports it).
type StartError struct {
	Msg  string
	Hint string
	Code int
}

func (e *StartError) Error() string { return e.Msg }

// Created is called once the container exists and before it starts, so
// the run can be recorded; an error removes the container and aborts.
type Created func(id, name string) error

// Run creates the container, waits for its exit before starting it (a fast
// exit is never missed), streams its output, forwards INT, TERM and HUP,
// enforces the deadline (signal, grace, KILL), and removes it unless Keep.
//
// Until the container has started, failures are *StartError. After, a
// lost engine is reconnected to while the deadline keeps running; if it
// stays unreachable (see engineRetry) the error is *EngineLostError.
func Run(ctx context.Context, cli *client.Client, o Options, created Created) (Result, error) {
	var res Result
	if _, err := cli.ImageInspect(ctx, o.Image); err != nil {
		if client.IsErrNotFound(err) {
			return res, &StartError{Code: 125, Msg: fmt.Sprintf("image %q is not present on the Docker engine", o.Image),
				Hint: "pull or build it first (docker pull " + o.Image + "); docker-run never pulls"}
		}
		return res, &StartError{Code: 125, Msg: fmt.Sprintf("inspect image %q: %v", o.Image, err)}
	}
	if _, err := cli.ContainerInspect(ctx, o.Name); err == nil {
		return res, nameTaken(o.Name)
	}
	cfg := &container.Config{
		Image:        o.Image,
		Cmd:          o.Cmd,
		Env:          o.Env,
		Labels:       o.Labels,
		WorkingDir:   o.Workdir,
		User:         o.User,
		Tty:          o.TTY,
		OpenStdin:    o.Interactive,
		StdinOnce:    o.Interactive,
		AttachStdin:  o.Interactive,
		AttachStdout: true,
		AttachStderr: true,
	}
	host := &container.HostConfig{
		Binds:       o.Binds,
		NetworkMode: container.NetworkMode(o.Network),
		Resources:   container.Resources{Memory: o.Memory, NanoCPUs: o.NanoCPUs},
	}
	cr, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, o.Name)
	if err != nil {
		if strings.Contains(err.Error(), "Conflict") || strings.Contains(err.Error(), "already in use") {
			return res, nameTaken(o.Name)
		}
		return res, &StartError{Code: 125, Msg: fmt.Sprintf("create container: %v", err)}
	}
	res.ContainerID = cr.ID
	cleanup := func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cli.ContainerRemove(rctx, cr.ID, container.RemoveOptions{Force: true}); err == nil || client.IsErrNotFound(err) {
			res.Removed = true
		}
	}
	if err := created(cr.ID, o.Name); err != nil {
		cleanup()
		return res, err
	}

	// Subscribe to signals and to the exit before starting.
	sigs := make(chan os.Signal, 16)
	forwarded := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
	if o.TTY {
		forwarded = append(forwarded, syscall.SIGWINCH)
	}
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	att, err := cli.ContainerAttach(ctx, cr.ID, container.AttachOptions{Stream: true, Stdin: o.Interactive, Stdout: true, Stderr: true})
	if err != nil {
		cleanup()
		return res, &StartError{Code: 125, Msg: fmt.Sprintf("attach to container: %v", err)}
	}
	defer att.Close()
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	waitC, waitErr := cli.ContainerWait(waitCtx, cr.ID, container.WaitConditionNextExit)

	var restore func()
	if o.TTY {
		restore = rawTerminal(os.Stdin)
	}
	defer func() {
		if restore != nil {
			restore()
		}
	}()

	if err := cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		cleanup()
		return res, startFailure(err)
	}
	if o.TTY {
		resize(ctx, cli, cr.ID)
	}
	// From here on the container has started: a lost engine is no start
	// failure any more (see watch.go).
	if o.Interactive {
		go func() {
			_, _ = io.Copy(att.Conn, os.Stdin)
			_ = att.CloseWrite()
		}()
	}
	w := &watcher{cli: cli, o: o, id: cr.ID, sigs: sigs, warn: o.Warn, nl: "\n"}
	if w.warn == nil {
		w.warn = os.Stderr
	}
	if restore != nil {
		w.nl = "\r\n"
	}
	first := &link{waitC: waitC, waitErr: waitErr, cancel: cancelWait, att: &att, outDone: copyOutput(&att, o.TTY)}
	return w.watch(ctx, first, &res, cleanup)
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
	return &StartError{Code: 125, Msg: fmt.Sprintf("a container named %q already exists", name),
		Hint: fmt.Sprintf("remove it (docker rm -f %s) or choose another --name or --id", name)}
}

// startFailure maps the engine's refusal to start to docker run's statuses.
func startFailure(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		return &StartError{Code: 127, Msg: "start container: " + msg}
	case strings.Contains(msg, "permission denied"):
		return &StartError{Code: 126, Msg: "start container: " + msg}
	}
	return &StartError{Code: 125, Msg: "start container: " + msg}
}

func signalName(sig syscall.Signal) string { return supervise.SignalName(sig) }
