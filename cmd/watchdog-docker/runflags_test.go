package main

// docker run's own flags, as docker-run takes them (#19 items 10-13).

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dockercontainer "github.com/docker/docker/api/types/container"
	"github.com/watchdog-run/watchdog/supervise"
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
	return resultOf(t, err, &o, &e)
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

// inspectKept runs docker-run with --keep and returns the container the
// engine made, removed at the end of the test.
func inspectKept(t *testing.T, reg, id string, args ...string) (result, dockercontainer.InspectResponse) {
	t.Helper()
	name := "dev-task-" + id
	t.Cleanup(func() { engine.ContainerRemove(context.Background(), name, dockercontainer.RemoveOptions{Force: true}) })
	r := wdWithin(t, 60*time.Second, reg, "", append([]string{"docker-run", "--id", id, "--keep"}, args...)...)
	info, err := engine.ContainerInspect(context.Background(), name)
	if err != nil {
		t.Fatalf("%v: exit %d stderr %q; container: %v", args, r.code, r.stderr, err)
	}
	return r, info
}

// --rm is the default, accepted; --keep is its opposite.
func TestDockerRunRm(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-rm", "--rm", testImage, "-out", "rm")
	if r.code != 0 || r.stdout != "rm\nready\n" || !gone(t, "dev-task-c-rm") {
		t.Errorf("--rm: exit %d stdout %q stderr %q gone %v", r.code, r.stdout, r.stderr, gone(t, "dev-task-c-rm"))
	}
	r = wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-rm", "--rm", "--keep", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "--rm and --keep conflict") || !gone(t, "dev-task-c-rm") {
		t.Errorf("--rm --keep: exit %d stderr %q", r.code, r.stderr)
	}
}

// --init makes the engine's docker-init pid 1: at the deadline it passes
// TERM on and the container ends (124, not 137 after the grace).
func TestDockerRunInit(t *testing.T) {
	setup(t)
	reg := newReg(t)
	cmd, _, stderr := startBackground(t, reg, "--id", "c-init", "--init", "--timeout", "1", "--kill-after", "60s", testImage, "-hang")
	top, err := engine.ContainerTop(context.Background(), "dev-task-c-init", nil)
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, title := range top.Titles {
		if title == "CMD" || title == "COMMAND" {
			col = i
		}
	}
	if col < 0 || len(top.Processes) != 2 || !strings.Contains(top.Processes[0][col], "docker-init") || !strings.Contains(top.Processes[1][col], "/child -hang") {
		t.Errorf("--init: processes %v %v", top.Titles, top.Processes)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 124 {
		t.Errorf("--init --timeout 1: exit %d, want 124; stderr %s", code, stderr)
	}
	if !gone(t, "dev-task-c-init") {
		t.Error("container left behind")
	}
	_, info := inspectKept(t, reg, "c-init-on", "--init", testImage)
	if info.HostConfig.Init == nil || !*info.HostConfig.Init {
		t.Errorf("--init: HostConfig.Init %v", info.HostConfig.Init)
	}
	_, info = inspectKept(t, reg, "c-init-unset", testImage)
	if info.HostConfig.Init != nil {
		t.Errorf("no --init: HostConfig.Init %v, want the engine's default", *info.HostConfig.Init)
	}
}

// --entrypoint replaces the image's (one program, not split); "" clears it.
func TestDockerRunEntrypoint(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r, info := inspectKept(t, reg, "c-ep", "--entrypoint", "/child", testImage, "-out", "via entrypoint")
	if r.code != 0 || r.stdout != "via entrypoint\nready\n" || len(info.Config.Entrypoint) != 1 || info.Config.Entrypoint[0] != "/child" {
		t.Errorf("--entrypoint /child: exit %d stdout %q stderr %q entrypoint %q", r.code, r.stdout, r.stderr, info.Config.Entrypoint)
	}
	r = wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-ep-clear", "--entrypoint", "", testImage, "/child", "-out", "no entrypoint")
	if r.code != 0 || r.stdout != "no entrypoint\nready\n" {
		t.Errorf("--entrypoint '': exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-ep-none", "--entrypoint", "/no/such/program", testImage)
	if r.code != 127 || !gone(t, "dev-task-c-ep-none") {
		t.Errorf("--entrypoint missing: exit %d (want 127) stderr %q", r.code, r.stderr)
	}
}

// --hostname names the container's host; a name sethostname would refuse
// is refused first.
func TestDockerRunHostname(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r, info := inspectKept(t, reg, "c-host", "--hostname", "box-1.test", testImage, "-env", "HOSTNAME")
	if r.code != 0 || !strings.Contains(r.stdout, "HOSTNAME=box-1.test\n") || info.Config.Hostname != "box-1.test" {
		t.Errorf("--hostname: exit %d stdout %q stderr %q hostname %q", r.code, r.stdout, r.stderr, info.Config.Hostname)
	}
	for _, h := range []string{"a b", "-lead", strings.Repeat("h", 65), "x/y"} {
		r := wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-host-bad", "--hostname", h, testImage)
		if r.code != 125 || !strings.HasPrefix(r.stderr, "watchdog: --hostname: invalid") || !gone(t, "dev-task-c-host-bad") {
			t.Errorf("--hostname %q: exit %d stderr %q", h, r.code, r.stderr)
		}
	}
}

// --env-file reads KEY=VALUE lines as docker run does; -e comes after.
func TestDockerRunEnvFile(t *testing.T) {
	setup(t)
	reg := newReg(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "env")
	os.WriteFile(f, []byte("\uFEFF# a comment\n\nA=1\n  B=two words \n# C=no\nD=x=y\r\nE=\nFROM_HERE\nUNSET_HERE\n"), 0o644)
	g := filepath.Join(dir, "env2")
	os.WriteFile(g, []byte("G=second file\n"), 0o644)
	t.Setenv("FROM_HERE", "here")
	os.Unsetenv("UNSET_HERE")
	r, info := inspectKept(t, reg, "c-envf", "--env-file", f, "--env-file", g, "-e", "H=flag", testImage, "-env", "B")
	if r.code != 0 || !strings.Contains(r.stdout, "B=two words \n") {
		t.Errorf("--env-file: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	want := []string{"A=1", "B=two words ", "D=x=y", "E=", "FROM_HERE=here", "G=second file", "H=flag"}
	at := 0
	for _, kv := range info.Config.Env {
		if at < len(want) && kv == want[at] {
			at++
		}
		if strings.HasPrefix(kv, "C=") || strings.HasPrefix(kv, "UNSET_HERE") || strings.HasPrefix(kv, "#") {
			t.Errorf("--env-file: %q should not be there", kv)
		}
	}
	if at != len(want) {
		t.Errorf("--env-file: env %q, want %q in order", info.Config.Env, want)
	}
	bad := filepath.Join(dir, "bad")
	for content, msg := range map[string]string{"=v\n": "no variable name", "MY VAR=v\n": "contains whitespace", "K=\xff\n": "not valid UTF-8"} {
		os.WriteFile(bad, []byte(content), 0o644)
		r := wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-envf-bad", "--env-file", bad, testImage)
		if r.code != 125 || !strings.HasPrefix(r.stderr, "watchdog: --env-file: ") || !strings.Contains(r.stderr, msg) || !gone(t, "dev-task-c-envf-bad") {
			t.Errorf("--env-file %q: exit %d stderr %q", content, r.code, r.stderr)
		}
	}
	r = wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-envf-bad", "--env-file", filepath.Join(dir, "none"), testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "--env-file: open ") {
		t.Errorf("--env-file missing: exit %d stderr %q", r.code, r.stderr)
	}
}

// --pull never and missing run the image present; always is refused, as
// nothing is ever pulled.
func TestDockerRunPull(t *testing.T) {
	setup(t)
	reg := newReg(t)
	for _, p := range []string{"never", "missing"} {
		r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-pull", "--pull", p, testImage, "-out", p)
		if r.code != 0 || r.stdout != p+"\nready\n" {
			t.Errorf("--pull %s: exit %d stdout %q stderr %q", p, r.code, r.stdout, r.stderr)
		}
	}
	r := wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-pull-no", "--pull", "always", testImage)
	if r.code != 125 || !strings.HasPrefix(r.stderr, "watchdog: --pull always: docker-run never pulls images\nwatchdog: hint: pull it first") || !gone(t, "dev-task-c-pull-no") {
		t.Errorf("--pull always: exit %d stderr %q", r.code, r.stderr)
	}
	r = wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-pull-no", "--pull", "sometimes", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "--pull: invalid "+supervise.Quote("sometimes")) {
		t.Errorf("--pull sometimes: exit %d stderr %q", r.code, r.stderr)
	}
	r = wdWithin(t, 30*time.Second, reg, "", "docker-run", "--id", "c-pull-no", "--pull", "never", "watchdog-no-such-image:never")
	if r.code != 125 || !strings.Contains(r.stderr, "is not present on the Docker engine") {
		t.Errorf("--pull never, no image: exit %d stderr %q", r.code, r.stderr)
	}
}
