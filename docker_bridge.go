package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// The Docker client lives in a second binary, watchdog-docker, so that no
// process of the native path (exec, the timeout shim, PATH shims) pays for
// linking it: its package initialisation alone costs milliseconds per start.
const dockerHelperName = "watchdog-docker"

// dockerHelper finds watchdog-docker beside this executable, then on PATH.
func dockerHelper() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), dockerHelperName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(dockerHelperName)
	if err != nil {
		return "", errors.New(dockerHelperName + " not found beside watchdog or on PATH")
	}
	return p, nil
}

// execDockerHelper replaces this process with watchdog-docker: signals,
// stdio and the exit status are then the helper's own.
func execDockerHelper(args []string) error {
	p, err := dockerHelper()
	if err != nil {
		return launch.Failf("install both binaries together (make build puts them in bin/)", "%v", err)
	}
	return launch.Fail(syscall.Exec(p, append([]string{dockerHelperName}, args...), os.Environ()), "")
}

// killContainer stops a docker task's container (signal, grace, kill) and
// removes it unless it was started with --keep.
func killContainer(c *cli.Context, t *registry.Task, sig syscall.Signal, grace time.Duration) error {
	if t.Docker == nil || (t.Docker.ContainerID == "" && t.Docker.ContainerName == "") {
		return nil
	}
	p, err := dockerHelper()
	if err != nil {
		return launch.Failf("install both binaries together", "%v", err)
	}
	ref := t.Docker.ContainerID
	if ref == "" {
		ref = t.Docker.ContainerName
	}
	cmd := exec.Command(p, "stop-container", "--signal", supervise.SignalName(sig), "--grace", grace.String(), ref)
	cmd.Stdout, cmd.Stderr = c.App.Writer, c.App.ErrWriter
	if err := cmd.Run(); err != nil {
		return launch.Fail(fmt.Errorf("stop container %s: %w", ref, err), "")
	}
	return nil
}

var dockerRunCommand = &cli.Command{
	Name:      "docker-run",
	Usage:     "run a Docker container with a deadline, supervised and recorded",
	ArgsUsage: "[OPTIONS] IMAGE [COMMAND [ARG]...]",
	Description: `Runs in watchdog-docker, the binary installed beside watchdog that holds the
Docker client (so that exec never loads it). Options:
  --id ID --timeout DUR --kill-after DUR --signal SIG --memory SIZE --cpus N
  --name NAME --keep -e K=V... -v SRC:DST[:ro]... -w DIR -u USER --network NAME
  -i -t --label K=V... --preserve-status --verbose --registry PATH
"watchdog docker-run --help" shows them in full.`,
	SkipFlagParsing: true,
	Action: func(c *cli.Context) error {
		args := []string{"run"}
		if path := registryPath(c); c.Lineage()[1] != nil && c.Lineage()[1].IsSet("registry") {
			args = append(args, "--registry", path)
		}
		return execDockerHelper(append(args, c.Args().Slice()...))
	},
}
