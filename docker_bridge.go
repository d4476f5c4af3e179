package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// The bridge to watchdog-docker, in one place: finding it, handing it
// docker-run, and asking it to stop a container (kill), sweep containers
// (sweep) and measure them (list, check), in the JSON of
// launch/containerwire.go. The Docker client lives in that second binary so
// that no process of the native path (exec, the timeout shim, PATH shims)
// pays for linking it: its package initialisation costs milliseconds.
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

// sweepContainers is sweep's launch.ContainerSweeper: watchdog-docker's
// sweep, which holds the Docker client.
func sweepContainers(dryRun bool, grace time.Duration) ([]launch.ContainerEvent, error) {
	helper, err := dockerHelper()
	if err != nil {
		return nil, &launch.NoEngineError{Reason: err.Error()}
	}
	args := []string{"sweep", "--grace", grace.String()}
	if dryRun {
		args = append(args, "--dry-run")
	}
	cmd := exec.Command(helper, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == launch.ExitNoEngine:
		return nil, &launch.NoEngineError{Reason: strings.TrimSpace(strings.TrimPrefix(stderr.String(), "watchdog: "))}
	case err != nil:
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out launch.ContainerSweep
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("bad report: %v", err)
	}
	return out.Actions, nil
}

// fillContainerUsage asks watchdog-docker, once for all running docker
// tasks, whether their containers run and what they use. Without the helper
// or an engine the figures stay empty: list and check still work.
func fillContainerUsage(views []taskView) {
	var refs []string
	at := map[string]int{}
	for i, v := range views {
		if v.Mode != registry.ModeDocker || v.Status != registry.StatusRunning {
			continue
		}
		ref := v.ContainerID
		if ref == "" {
			ref = v.ContainerName
		}
		if ref == "" {
			continue
		}
		at[ref] = i
		refs = append(refs, ref)
	}
	if len(refs) == 0 {
		return
	}
	helper, err := dockerHelper()
	if err != nil {
		return
	}
	out, err := exec.Command(helper, append([]string{"usage"}, refs...)...).Output()
	if err != nil {
		return
	}
	var us []launch.ContainerUsage
	if json.Unmarshal(out, &us) != nil {
		return
	}
	for _, u := range us {
		i, ok := at[u.Ref]
		if !ok {
			continue
		}
		v := &views[i]
		v.Alive, v.CPUPercent, v.MemoryBytes = u.Running, round1(u.CPUPercent), u.MemoryBytes
		v.measured = true
		if u.Running {
			v.ProcessCount = 1 // the container, as one
		}
	}
}
