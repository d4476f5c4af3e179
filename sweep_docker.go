package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/watchdog-run/watchdog/launch"
)

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
