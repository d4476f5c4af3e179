package main

// End-to-end tests of docker-run, kill and sweep for containers against the
// real engine. No image can be pulled here, so the test builds its own:
// FROM scratch around a static helper (testdata/dockerchild) it compiles.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	dockercontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/watchdog-run/watchdog/internal/testhome"
	"github.com/watchdog-run/watchdog/launch/container"
)

const testImage = "watchdog-test-child:latest"

var (
	binDir string // watchdog and watchdog-docker, built for the test
	engine *client.Client
)

func TestMain(m *testing.M) {
	code := func() int {
		defer testhome.Isolate()()
		dir, err := os.MkdirTemp("", "watchdog-docker-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		defer func() {
			if engine != nil { // the image the tests built goes with them
				engine.ImageRemove(context.Background(), testImage, image.RemoveOptions{Force: true, PruneChildren: true})
			}
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// setup builds the binaries and the image once, or skips (fails in CI)
// when no engine answers.
var setupErr error
var setupDone bool

func setup(t *testing.T) {
	t.Helper()
	if !setupDone {
		setupDone = true
		setupErr = doSetup()
	}
	if setupErr == nil {
		return
	}
	var ee *container.EngineError
	if ok := asEngineError(setupErr, &ee); ok && os.Getenv("CI") == "" {
		t.Skipf("no Docker engine: %v", setupErr)
	}
	t.Fatalf("setup: %v", setupErr)
}

func asEngineError(err error, target **container.EngineError) bool {
	e, ok := err.(*container.EngineError)
	if ok {
		*target = e
	}
	return ok
}

func doSetup() error {
	ctx := context.Background()
	cli, err := container.Connect(ctx)
	if err != nil {
		return err
	}
	engine = cli
	root, _ := filepath.Abs("../..")
	for out, pkg := range map[string]string{"watchdog": ".", "watchdog-docker": "./cmd/watchdog-docker", "child": "./testdata/dockerchild"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, out), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return buildImage(ctx, filepath.Join(binDir, "child"))
}

func buildImage(ctx context.Context, child string) error {
	bin, err := os.ReadFile(child)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY child /child\nENTRYPOINT [\"/child\"]\n")},
		{"child", 0o755, bin},
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))})
		tw.Write(f.data)
	}
	tw.Close()
	resp, err := engine.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{testImage}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("build image: %w", err)
		}
		if msg.Error != "" {
			return fmt.Errorf("build image: %s", msg.Error)
		}
	}
}

type result struct {
	stdout, stderr string
	code           int
	signal         string
}

// wd runs the watchdog with a registry of the test's own.
func wd(t *testing.T, reg string, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "watchdog"), append([]string{"--registry", reg}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	return resultOf(t, cmd.Run(), &o, &e)
}

// resultOf is a finished watchdog's status and output.
func resultOf(t *testing.T, err error, stdout, stderr *bytes.Buffer) result {
	t.Helper()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run watchdog: %v", err)
	}
	return r
}

func newReg(t *testing.T) string { return filepath.Join(t.TempDir(), "process_registry.json") }

func gone(t *testing.T, name string) bool {
	_, err := engine.ContainerInspect(context.Background(), name)
	return client.IsErrNotFound(err)
}

// readRegistry returns one task's fields.
func task(t *testing.T, reg, id string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tasks map[string]map[string]any `json:"tasks"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Tasks[id]
}

func TestDockerExitCodesAndStreams(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wd(t, reg, "", nil, "docker-run", "--id", "c-exit", testImage, "-out", "to stdout", "-err", "to stderr", "-exit", "3")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3; stderr %s", r.code, r.stderr)
	}
	if r.stdout != "to stdout\nready\n" || r.stderr != "to stderr\n" {
		t.Errorf("streams not separate:\nstdout %q\nstderr %q", r.stdout, r.stderr)
	}
	if !gone(t, "dev-task-c-exit") {
		t.Error("container not removed at the end")
	}
	tk := task(t, reg, "c-exit")
	if tk["mode"] != "docker" || tk["status"] != "failed" || tk["exit_code"] != float64(3) {
		t.Errorf("record: %v", tk)
	}
	if d := tk["docker"].(map[string]any); d["container_name"] != "dev-task-c-exit" || d["container_id"] == "" {
		t.Errorf("docker record: %v", d)
	}
	if r := wd(t, reg, "", nil, "docker-run", "--id", "c-ok", testImage); r.code != 0 || task(t, reg, "c-ok")["status"] != "completed" {
		t.Errorf("exit 0: %d %v", r.code, r.stderr)
	}
}

func TestDockerStdinAndEnv(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wd(t, reg, "line one\nline two\n", nil, "docker-run", "-i", "--id", "c-in", "-e", "GREETING=hi", testImage, "-cat", "-env", "TASK_ID")
	if r.code != 0 || !strings.Contains(r.stdout, "TASK_ID=c-in\nline one\nline two\n") {
		t.Errorf("stdin/env: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = wd(t, reg, "", nil, "docker-run", "--id", "c-env", "-e", "GREETING=hi", testImage, "-env", "GREETING")
	if !strings.Contains(r.stdout, "GREETING=hi") {
		t.Errorf("-e not passed: %q", r.stdout)
	}
}

func TestDockerTimeout(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wd(t, reg, "", nil, "docker-run", "--id", "c-slow", "--timeout", "0.5", testImage, "-hang")
	if r.code != 124 {
		t.Fatalf("exit %d, want 124; stderr %s", r.code, r.stderr)
	}
	if !gone(t, "dev-task-c-slow") {
		t.Error("timed-out container still there")
	}
	if tk := task(t, reg, "c-slow"); tk["reason"] != "timeout" || tk["exit_code"] != float64(124) {
		t.Errorf("record: %v", tk)
	}
	r = wd(t, reg, "", nil, "docker-run", "--id", "c-stubborn", "--timeout", "0.3", "--kill-after", "0.3", testImage, "-ignore-term")
	if r.code != 137 || !gone(t, "dev-task-c-stubborn") {
		t.Errorf("TERM-ignoring container: exit %d (want 137), gone %v", r.code, gone(t, "dev-task-c-stubborn"))
	}
}

func TestDockerLimitsLabelsKeep(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wd(t, reg, "", nil, "docker-run", "--id", "c-lim", "--keep", "--memory", "64m", "--cpus", "0.5", "--label", "team=infra", "--timeout", "1m", testImage)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	defer engine.ContainerRemove(context.Background(), "dev-task-c-lim", dockercontainer.RemoveOptions{Force: true})
	info, err := engine.ContainerInspect(context.Background(), "dev-task-c-lim")
	if err != nil {
		t.Fatalf("--keep: container gone: %v", err)
	}
	if info.HostConfig.Memory != 64<<20 || info.HostConfig.NanoCPUs != 5e8 {
		t.Errorf("limits: memory %d nanocpus %d", info.HostConfig.Memory, info.HostConfig.NanoCPUs)
	}
	l := info.Config.Labels
	for _, k := range []string{container.LabelTaskID, container.LabelRunID, container.LabelSupervisor, container.LabelHost, container.LabelDeadline} {
		if l[k] == "" {
			t.Errorf("label %s missing: %v", k, l)
		}
	}
	if l["team"] != "infra" || l[container.LabelTaskID] != "c-lim" {
		t.Errorf("labels: %v", l)
	}
	rl := task(t, reg, "c-lim")["docker"].(map[string]any)["resource_limits"].(map[string]any)
	if rl["memory"] != "64m" || rl["cpu"] != "0.5" {
		t.Errorf("resource_limits: %v", rl)
	}
}

// startBackground runs docker-run and returns once the container said ready.
func startBackground(t *testing.T, reg string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "watchdog"), append([]string{"--registry", reg, "docker-run"}, args...)...)
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopBackground(cmd, reg) })
	r := bufio.NewReader(out)
	lines := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		if line != "ready\n" {
			t.Fatalf("want ready, got %q (stderr %s)", line, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("container not ready: %s", stderr.String())
	}
	return cmd, r, &stderr
}

// stopBackground ends a run a test left going (it failed half-way): TERM,
// which the supervisor forwards before removing its container, then KILL
// after a deadline, and whatever container of this registry is left is
// removed, so a failing test leaves nothing running.
func stopBackground(cmd *exec.Cmd, reg string) {
	if cmd.ProcessState == nil { // the test did not wait for it
		done := make(chan struct{})
		cmd.Process.Signal(syscall.SIGTERM)
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	abs, _ := filepath.Abs(reg)
	ids, _ := exec.Command("docker", "ps", "-aq", "--filter", "label="+container.LabelRegistry+"="+abs).Output()
	if f := strings.Fields(string(ids)); len(f) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, f...)...).Run()
	}
}

func TestDockerSignalForwarding(t *testing.T) {
	setup(t)
	reg := newReg(t)
	cmd, out, _ := startBackground(t, reg, "--id", "c-sig", testImage, "-trap", "-exit", "5")
	cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(out)
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != 5 || !strings.Contains(string(rest), "got terminated") {
		t.Errorf("TERM not forwarded: err %v, output %q", err, rest)
	}
	if !gone(t, "dev-task-c-sig") {
		t.Error("container not removed")
	}
}

func TestDockerSupervisorKilledThenSweep(t *testing.T) {
	setup(t)
	reg := newReg(t)
	cmd, _, _ := startBackground(t, reg, "--id", "c-orphan", "--timeout", "10m", testImage, "-hang")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if gone(t, "dev-task-c-orphan") {
		t.Fatal("container gone without a sweep")
	}
	// A container without our labels must never be touched.
	ctx := context.Background()
	cr, err := engine.ContainerCreate(ctx, &dockercontainer.Config{Image: testImage, Cmd: []string{"-hang"}}, nil, nil, nil, "not-ours-"+fmt.Sprint(time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.ContainerRemove(ctx, cr.ID, dockercontainer.RemoveOptions{Force: true})
	engine.ContainerStart(ctx, cr.ID, dockercontainer.StartOptions{})

	r := wd(t, reg, "", nil, "sweep", "--grace", "2s")
	if r.code != 0 || !regexp.MustCompile(`c-orphan: container dev-task-c-orphan: supervisor pid [0-9]+ is gone`).MatchString(r.stdout) {
		t.Errorf("sweep: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if !gone(t, "dev-task-c-orphan") {
		t.Error("sweep left the orphaned container")
	}
	if tk := task(t, reg, "c-orphan"); tk["status"] != "failed" || tk["reason"] != "orphaned" {
		t.Errorf("record: %v", tk)
	}
	info, err := engine.ContainerInspect(ctx, cr.ID)
	if err != nil || !info.State.Running {
		t.Errorf("sweep touched a container without watchdog labels: %v", err)
	}
	if r := wd(t, reg, "", nil, "sweep"); r.stdout != "" {
		t.Errorf("second sweep not quiet: %q", r.stdout)
	}
}

func TestDockerKill(t *testing.T) {
	setup(t)
	reg := newReg(t)
	cmd, _, _ := startBackground(t, reg, "--id", "c-kill", testImage, "-hang")
	// list and check show the live container and what it uses.
	if r := wd(t, reg, "", nil, "list"); !regexp.MustCompile(`(?m)^c-kill +docker +running +dev-task-c-kill .* [0-9.]+ +[0-9.]+[BKMG] +- +`).MatchString(r.stdout) {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r := wd(t, reg, "", nil, "check", "c-kill"); !regexp.MustCompile(`container: +dev-task-c-kill [0-9a-f]{12}: running, CPU [0-9.]+%, memory [0-9.]+[BKMG]`).MatchString(r.stdout) {
		t.Errorf("check:\n%s", r.stdout)
	}
	r := wd(t, reg, "", nil, "kill", "c-kill", "--grace", "5s")
	if r.code != 0 {
		t.Fatalf("kill: %d %s", r.code, r.stderr)
	}
	cmd.Wait()
	if !gone(t, "dev-task-c-kill") {
		t.Error("killed container still there")
	}
	if tk := task(t, reg, "c-kill"); tk["status"] != "cancelled" || tk["reason"] != "killed" {
		t.Errorf("record: %v", tk)
	}
}

func TestDockerRefusals(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r := wd(t, reg, "", []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, "docker-run", "--id", "c-noengine", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "no Docker engine reachable") || !strings.Contains(r.stderr, "hint:") {
		t.Errorf("unreachable engine: %d %q", r.code, r.stderr)
	}
	r = wd(t, reg, "", nil, "docker-run", "--id", "c-noimage", "watchdog-no-such-image:never")
	if r.code != 125 || !strings.Contains(r.stderr, "is not present on the Docker engine") {
		t.Errorf("missing image: %d %q", r.code, r.stderr)
	}
	// -t is docker run's --tty: "docker-run -t 10m IMAGE" reads 10m as the
	// image, and the hint says what happened.
	r = wd(t, reg, "", nil, "docker-run", "--id", "c-tty", "-t", "10m", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "hint: -t is --tty in docker-run, as in docker run; the deadline is --timeout") {
		t.Errorf("-t 10m: %d %q", r.code, r.stderr)
	}
	cmd, _, _ := startBackground(t, reg, "--id", "c-taken", "--timeout", "1m", testImage, "-hang")
	r = wd(t, reg, "", nil, "docker-run", "--id", "other", "--name", "dev-task-c-taken", testImage)
	if r.code != 125 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("name taken: %d %q", r.code, r.stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	// An unknown option is a usage error as exec's: a message and a hint on
	// stderr, not the whole help on stdout.
	r = wd(t, reg, "", nil, "docker-run", "--bogus", testImage)
	if r.code != 125 || r.stdout != "" || r.stderr != "watchdog: flag provided but not defined: -bogus\nwatchdog: hint: run 'watchdog docker-run --help' for usage\n" {
		t.Errorf("unknown option: %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"--memory", "lots"}, {"--cpus", "-1"}, {"-v", "nocolon"}, {"--timeout", "-3"}, {"--id", "a/b"}} {
		r = wd(t, reg, "", nil, append(append([]string{"docker-run"}, args...), testImage)...)
		if r.code != 125 {
			t.Errorf("%v: exit %d, want 125 (%s)", args, r.code, r.stderr)
		}
	}
}

// Without --id the task is docker-XXXXXXXX and its container
// dev-task-docker-XXXXXXXX: the default name does not say "task" twice.
func TestDockerDefaultNames(t *testing.T) {
	setup(t)
	reg := newReg(t)
	if r := wd(t, reg, "", nil, "docker-run", testImage, "-exit", "0"); r.code != 0 {
		t.Fatalf("exit %d; stderr %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tasks map[string]map[string]any `json:"tasks"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Tasks) != 1 {
		t.Fatalf("registry: %v, %d tasks", err, len(doc.Tasks))
	}
	for id, tk := range doc.Tasks {
		if !regexp.MustCompile(`^docker-[0-9a-f]{8}$`).MatchString(id) {
			t.Errorf("generated id %q, want docker-XXXXXXXX", id)
		}
		if d, _ := tk["docker"].(map[string]any); d["container_name"] != "dev-task-"+id {
			t.Errorf("container name %v, want dev-task-%s", d["container_name"], id)
		}
	}
}
