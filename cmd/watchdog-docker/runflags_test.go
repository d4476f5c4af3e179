package main

// docker run's own flags, as docker-run takes them (#19 items 10-13).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wdWithin runs the watchdog as wd does, but gives up (and fails) after
// limit: a hang is a failure, not a stuck test run.
func wdWithin(t *testing.T, limit time.Duration, reg, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "watchdog"), append([]string{"--registry", reg}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v: still running after %v; stdout %q stderr %q", args, limit, o.String(), e.String())
	}
	r := result{stdout: o.String(), stderr: e.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run watchdog: %v", err)
	}
	return r
}

// -it with stdin a pipe is refused as docker run refuses it, before
// anything is made: no container, no record. -t alone still runs, as
// docker run's does.
func TestDockerTTYWithoutTerminal(t *testing.T) {
	setup(t)
	reg := newReg(t)
	for _, flags := range [][]string{{"-it"}, {"-i", "-t"}, {"--interactive", "--tty"}} {
		args := append(append([]string{"docker-run", "--id", "c-notty"}, flags...), testImage, "-cat")
		r := wdWithin(t, 30*time.Second, reg, "hi\n", args...)
		if r.code != 125 || !strings.HasPrefix(r.stderr, "watchdog: the input device is not a TTY\nwatchdog: hint: drop -t") {
			t.Errorf("%v: exit %d stderr %q", flags, r.code, r.stderr)
		}
		if !gone(t, "dev-task-c-notty") {
			t.Fatalf("%v: a container was made", flags)
		}
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("the refused run touched the registry: %v", err)
	}
	r := wdWithin(t, 60*time.Second, reg, "hi\n", "docker-run", "--id", "c-tonly", "-t", testImage, "-out", "through a tty")
	if r.code != 0 || !strings.Contains(r.stdout, "through a tty\r\n") {
		t.Errorf("-t alone: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// docker-run's help names the command users type, whether it is asked of
// watchdog or of the helper directly.
func TestDockerRunHelpName(t *testing.T) {
	setup(t)
	reg := newReg(t)
	for _, args := range [][]string{{"docker-run", "--help"}, {"docker-run", "-h"}, {"docker-run", "--timeout", "1", "--help"}} {
		r := wdWithin(t, 30*time.Second, reg, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "NAME:\n   watchdog docker-run - ") ||
			!strings.Contains(r.stdout, "USAGE:\n   watchdog docker-run [command options] IMAGE") || strings.Contains(r.stdout, "watchdog-docker run") {
			t.Errorf("%v: exit %d stderr %q help:\n%s", args, r.code, r.stderr, r.stdout)
		}
	}
	out, err := exec.Command(filepath.Join(binDir, "watchdog-docker"), "run", "--help").Output()
	if err != nil || !strings.Contains(string(out), "USAGE:\n   watchdog docker-run [command options] IMAGE") || strings.Contains(string(out), "watchdog-docker run") {
		t.Errorf("watchdog-docker run --help: %v\n%s", err, out)
	}
	// The helper's own help still names the helper.
	out, err = exec.Command(filepath.Join(binDir, "watchdog-docker"), "--help").Output()
	if err != nil || !strings.Contains(string(out), "USAGE:\n   watchdog-docker ") {
		t.Errorf("watchdog-docker --help: %v\n%s", err, out)
	}
}
