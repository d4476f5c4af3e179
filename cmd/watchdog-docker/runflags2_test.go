package main

// More of docker run's flags, as docker-run takes them: -p, --mount,
// --shm-size, --cap-add/--cap-drop, --gpus and --platform (#19 item 10).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dockercontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"

	"github.com/watchdog-run/watchdog/supervise"
)

// refusedBefore checks that docker-run refused args with 125 and a
// message starting with prefix, before anything was made: no container,
// no registry.
func refusedBefore(t *testing.T, args []string, prefix string) {
	t.Helper()
	reg := newReg(t)
	r := wdWithin(t, 30*time.Second, reg, "", append(append([]string{"docker-run", "--id", "c-refused"}, args...), testImage)...)
	if r.code != 125 || !strings.HasPrefix(r.stderr, prefix) {
		t.Errorf("%q: exit %d stderr %q, want 125 and %q", args, r.code, r.stderr, prefix)
	}
	if !gone(t, "dev-task-c-refused") {
		engine.ContainerRemove(context.Background(), "dev-task-c-refused", dockercontainer.RemoveOptions{Force: true, RemoveVolumes: true})
		t.Fatalf("%q: a container was made", args)
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("%q: the refused run touched the registry: %v", args, err)
	}
}

// failedStart checks a run the engine refused: 125 with the engine's
// reason, no container left, the task recorded as failed to start.
func failedStart(t *testing.T, reg, id string, r result, reason string) {
	t.Helper()
	if r.code != 125 || !strings.Contains(r.stderr, reason) {
		t.Errorf("%s: exit %d stderr %q, want 125 and %q", id, r.code, r.stderr, reason)
	}
	if !gone(t, "dev-task-"+id) {
		t.Errorf("%s: container left behind", id)
	}
	if tk := task(t, reg, id); tk["status"] != "failed" || tk["reason"] != "start-failed" || tk["exit_code"] != float64(125) {
		t.Errorf("%s: record %v, want failed, start-failed, 125", id, tk)
	}
}

// freePort is a TCP port on 127.0.0.1 nobody listened on a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// greeting connects to addr until the container's greeting comes back
// (the engine's proxy may accept before it can reach the container), for
// at most within.
func greeting(t *testing.T, addr string, within time.Duration) string {
	t.Helper()
	limit := time.Now().Add(within)
	var last string
	for time.Now().Before(limit) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			last = err.Error()
		} else {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if line != "" {
				return line
			}
			last = fmt.Sprint(err)
		}
		time.Sleep(50 * time.Millisecond) // between polls, not to synchronise
	}
	t.Fatalf("%s: no greeting within %v: %s", addr, within, last)
	return ""
}

// stopTrapped ends a background run whose child traps TERM.
func stopTrapped(t *testing.T, cmd *exec.Cmd, out *bufio.Reader, name string) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(out)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(string(rest), "got terminated") {
		t.Errorf("TERM: exit %d output %q", code, rest)
	}
	if !gone(t, name) {
		t.Errorf("container %s left behind", name)
	}
}

// -p publishes a container port on the host: a fixed host port, and one
// the engine chooses (read back from the container), both answer with
// what the container writes.
func TestDockerRunPublish(t *testing.T) {
	setup(t)
	reg := newReg(t)
	port := freePort(t)
	cmd, out, stderr := startBackground(t, reg, "--id", "c-pub", "--timeout", "2m",
		"-p", "127.0.0.1:"+port+":8080", "-p", "127.0.0.1::8080/tcp", testImage, "-listen", "8080", "-trap")
	info, err := engine.ContainerInspect(context.Background(), "dev-task-c-pub")
	if err != nil {
		t.Fatalf("inspect: %v (stderr %s)", err, stderr)
	}
	if _, ok := info.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8080/tcp", info.Config.ExposedPorts)
	}
	want := []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: port}, {HostIP: "127.0.0.1"}}
	if got := info.HostConfig.PortBindings["8080/tcp"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("port bindings %v, want %v", got, want)
	}
	if line := greeting(t, "127.0.0.1:"+port, 30*time.Second); line != "hello from the container\n" {
		t.Errorf("127.0.0.1:%s: %q", port, line)
	}
	var chosen string
	for _, b := range info.NetworkSettings.Ports["8080/tcp"] {
		if b.HostPort != port && b.HostIP == "127.0.0.1" {
			chosen = b.HostPort
		}
	}
	if chosen == "" {
		t.Errorf("no engine-chosen host port for 8080/tcp: %v", info.NetworkSettings.Ports)
	} else if line := greeting(t, "127.0.0.1:"+chosen, 30*time.Second); line != "hello from the container\n" {
		t.Errorf("127.0.0.1:%s (chosen): %q", chosen, line)
	}
	stopTrapped(t, cmd, out, "dev-task-c-pub")

	// Ranges, UDP, and no host IP, as docker run takes them.
	_, info = inspectKept(t, reg, "c-pub-range", "-p", "127.0.0.1::9000-9001", "-p", "53/udp", testImage)
	for _, p := range []nat.Port{"9000/tcp", "9001/tcp", "53/udp"} {
		if _, ok := info.Config.ExposedPorts[p]; !ok {
			t.Errorf("range: %s not exposed: %v", p, info.Config.ExposedPorts)
		}
		if len(info.HostConfig.PortBindings[p]) != 1 {
			t.Errorf("range: %s not bound: %v", p, info.HostConfig.PortBindings)
		}
	}

	for _, v := range []string{"80:abc", "8080:80/bogus", "99999:80", "1.2.3:80:80", "", "8080:"} {
		refusedBefore(t, []string{"-p", v}, "watchdog: -p: invalid "+supervise.Quote(v)+": ")
	}
}

// --mount: a bind mount (a relative source made absolute) shows the
// host's file and takes writes unless readonly; a tmpfs has its size; an
// anonymous volume goes with the container; bad values are refused first.
func TestDockerRunMount(t *testing.T) {
	setup(t)
	reg := newReg(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-bind", "--mount", "type=bind,source="+dir+",target=/data",
		testImage, "-read", "/data/file", "-write", "/data/new")
	if r.code != 0 || r.stdout != "read: from the host\nwrite: ok\nready\n" {
		t.Errorf("bind: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "new")); err != nil || string(b) != "written\n" {
		t.Errorf("bind: the container's write is not on the host: %q %v", b, err)
	}
	for _, ro := range []string{"readonly", "ro", "readonly=true", "ro=1"} {
		r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-bind-ro", "--mount", "type=bind,src="+dir+",dst=/data,"+ro,
			testImage, "-read", "/data/file", "-write", "/data/file")
		if r.code != 0 || r.stdout != "read: from the host\nwrite: open /data/file: read-only file system\nready\n" {
			t.Errorf("bind %s: exit %d stdout %q stderr %q", ro, r.code, r.stdout, r.stderr)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "file")); string(b) != "from the host" {
		t.Errorf("readonly bind written: %q", b)
	}
	r = wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-bind-rw", "--mount", "type=bind,src="+dir+",dst=/data,readonly=false",
		testImage, "-write", "/data/file")
	if r.code != 0 || r.stdout != "write: ok\nready\n" {
		t.Errorf("bind readonly=false: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	// A relative source is taken from the working directory, as -v's.
	cmd := exec.Command(filepath.Join(binDir, "watchdog"), "--registry", reg, "docker-run", "--id", "c-bind-rel", "--keep",
		"--mount", "type=bind,src=.,dst=/here,ro", testImage, "-read", "/here/file")
	t.Cleanup(func() {
		engine.ContainerRemove(context.Background(), "dev-task-c-bind-rel", dockercontainer.RemoveOptions{Force: true})
	})
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	r = resultOf(t, cmd.Run(), &o, &e)
	if r.code != 0 || r.stdout != "read: written\n\nready\n" {
		t.Errorf("relative bind: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if info, err := engine.ContainerInspect(context.Background(), "dev-task-c-bind-rel"); err != nil {
		t.Errorf("relative bind: %v", err)
	} else if m := info.HostConfig.Mounts; len(m) != 1 || m[0].Type != mount.TypeBind || m[0].Source != dir || m[0].Target != "/here" || !m[0].ReadOnly {
		t.Errorf("relative bind: mounts %+v, want %s on /here, read-only", m, dir)
	}

	r, info := inspectKept(t, reg, "c-tmpfs", "--mount", "type=tmpfs,destination=/scratch,tmpfs-size=1m", testImage,
		"-write", "/scratch/x", "-statfs", "/scratch")
	if r.code != 0 || r.stdout != "write: ok\nstatfs: 1048576 bytes\nready\n" {
		t.Errorf("tmpfs: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if m := info.HostConfig.Mounts; len(m) != 1 || m[0].Type != mount.TypeTmpfs || m[0].TmpfsOptions == nil || m[0].TmpfsOptions.SizeBytes != 1<<20 {
		t.Errorf("tmpfs: mounts %+v", m)
	}

	// An anonymous volume is removed with the container, as docker run
	// --rm removes it.
	cmdv, outv, _ := startBackground(t, reg, "--id", "c-vol", "--timeout", "2m", "--mount", "type=volume,target=/v", testImage, "-trap")
	vinfo, err := engine.ContainerInspect(context.Background(), "dev-task-c-vol")
	if err != nil || len(vinfo.Mounts) != 1 || vinfo.Mounts[0].Name == "" {
		t.Fatalf("volume: %v %+v", err, vinfo.Mounts)
	}
	vol := vinfo.Mounts[0].Name
	t.Cleanup(func() { engine.VolumeRemove(context.Background(), vol, true) })
	stopTrapped(t, cmdv, outv, "dev-task-c-vol")
	if _, err := engine.VolumeInspect(context.Background(), vol); !client.IsErrNotFound(err) {
		t.Errorf("anonymous volume %s left behind: %v", vol, err)
	}

	for _, v := range []string{
		"type=tmpfs,target=/x,size=1m", "type=tmpfs", "source=" + dir, "type=bind,target=/x", "type=nfs,target=/x",
		"type=tmpfs,target=/x,tmpfs-size=lots", "type=bind,src=/tmp,target=rel", "type=tmpfs,target=/x,ro=maybe",
		"type=tmpfs,src=/tmp,target=/x", "type=bind,src=/tmp,target=/x,tmpfs-size=1m", "type=bind,src=/tmp,target=/x,nonsense",
	} {
		refusedBefore(t, []string{"--mount", v}, "watchdog: --mount: invalid "+supervise.Quote(v)+": ")
	}
}

// Values that hold commas stay whole, as docker run's: -e, --label.
func TestDockerRunCommasNotSplit(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r, info := inspectKept(t, reg, "c-commas", "-e", "LIST=a,b, c", "--label", "k=x,y", testImage, "-env", "LIST")
	if r.code != 0 || !strings.Contains(r.stdout, "LIST=a,b, c\n") || info.Config.Labels["k"] != "x,y" {
		t.Errorf("commas: exit %d stdout %q stderr %q labels %v", r.code, r.stdout, r.stderr, info.Config.Labels)
	}
}

// --shm-size sizes /dev/shm (the engine's default is 64m).
func TestDockerRunShmSize(t *testing.T) {
	setup(t)
	reg := newReg(t)
	r, info := inspectKept(t, reg, "c-shm", "--shm-size", "32m", testImage, "-statfs", "/dev/shm")
	if r.code != 0 || r.stdout != "statfs: 33554432 bytes\nready\n" || info.HostConfig.ShmSize != 32<<20 {
		t.Errorf("--shm-size 32m: exit %d stdout %q stderr %q ShmSize %d", r.code, r.stdout, r.stderr, info.HostConfig.ShmSize)
	}
	r = wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-shm-default", testImage, "-statfs", "/dev/shm")
	if r.code != 0 || r.stdout != "statfs: 67108864 bytes\nready\n" {
		t.Errorf("default /dev/shm: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, v := range []string{"lots", "0", "-1m", ""} {
		refusedBefore(t, []string{"--shm-size", v}, "watchdog: --shm-size: invalid size "+supervise.Quote(v))
	}
}

// capEff is the CapEff the child printed.
func capEff(t *testing.T, stdout string) uint64 {
	t.Helper()
	_, rest, ok := strings.Cut(stdout, "CapEff: ")
	hex, _, _ := strings.Cut(rest, "\n")
	n, err := strconv.ParseUint(hex, 16, 64)
	if !ok || err != nil {
		t.Fatalf("no CapEff in %q", stdout)
	}
	return n
}

// --cap-add and --cap-drop change what the container may do, as its
// effective capabilities show.
func TestDockerRunCaps(t *testing.T) {
	setup(t)
	reg := newReg(t)
	const netBindService, netAdmin = 1 << 10, 1 << 12
	run := func(id string, args ...string) uint64 {
		t.Helper()
		r := wdWithin(t, 60*time.Second, reg, "", append(append([]string{"docker-run", "--id", id}, args...), testImage, "-caps")...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d stderr %q", args, r.code, r.stderr)
		}
		return capEff(t, r.stdout)
	}
	def := run("c-caps")
	if def == 0 || def&netAdmin != 0 {
		t.Errorf("default CapEff %#x: want some, not NET_ADMIN", def)
	}
	if c := run("c-caps-none", "--cap-drop", "ALL"); c != 0 {
		t.Errorf("--cap-drop ALL: CapEff %#x, want 0", c)
	}
	if c := run("c-caps-admin", "--cap-add", "NET_ADMIN"); c != def|netAdmin {
		t.Errorf("--cap-add NET_ADMIN: CapEff %#x, want %#x", c, def|netAdmin)
	}
	if c := run("c-caps-one", "--cap-drop", "all", "--cap-add", "cap_net_bind_service", "--cap-add", "NET_ADMIN"); c != netBindService|netAdmin {
		t.Errorf("--cap-drop all --cap-add cap_net_bind_service --cap-add NET_ADMIN: CapEff %#x, want %#x", c, netBindService|netAdmin)
	}
	// A name the engine does not know: it refuses to create the container.
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-caps-bogus", "--cap-add", "BOGUS", testImage)
	failedStart(t, reg, "c-caps-bogus", r, "unknown capability")
	for _, v := range []string{"NET ADMIN", "", "CAP_", "net-admin"} {
		refusedBefore(t, []string{"--cap-add", v}, "watchdog: --cap-add: invalid "+supervise.Quote(v)+": ")
		refusedBefore(t, []string{"--cap-drop", v}, "watchdog: --cap-drop: invalid "+supervise.Quote(v)+": ")
	}
}

// --gpus asks the engine for GPUs; this one has no GPU support, and says
// so: 125 with its reason, nothing left, the start recorded as failed. A
// value docker run would refuse is refused before anything is made.
func TestDockerRunGPUs(t *testing.T) {
	setup(t)
	reg := newReg(t)
	if info, err := engine.Info(context.Background()); err != nil {
		t.Fatal(err)
	} else if _, ok := info.Runtimes["nvidia"]; ok {
		t.Skip("this engine has the NVIDIA runtime: it may have GPUs")
	}
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-gpus", "--gpus", "all", testImage, "-out", "with gpus")
	failedStart(t, reg, "c-gpus", r, "could not select device driver")
	if !strings.Contains(r.stderr, "hint: the engine has no GPU support") {
		t.Errorf("--gpus all: no hint: %q", r.stderr)
	}
	for _, v := range []string{"banana", "-2", "count=x", "driver=nvidia,foo=1", "count=1,count=2", `"device=0`} {
		refusedBefore(t, []string{"--gpus", v}, "watchdog: --gpus: invalid "+supervise.Quote(v)+": ")
	}
}

// --platform must match the local image (nothing is pulled): this
// machine's own runs, another is refused with the engine's reason, and a
// malformed one before anything is made.
func TestDockerRunPlatform(t *testing.T) {
	setup(t)
	reg := newReg(t)
	own := "linux/" + runtime.GOARCH
	for _, p := range []string{own, "linux", runtime.GOARCH, strings.ToUpper(own)} {
		r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-plat", "--platform", p, testImage, "-out", "on "+p)
		if r.code != 0 || r.stdout != "on "+p+"\nready\n" {
			t.Errorf("--platform %s: exit %d stdout %q stderr %q", p, r.code, r.stdout, r.stderr)
		}
	}
	other := "linux/arm64"
	if runtime.GOARCH == "arm64" {
		other = "linux/amd64"
	}
	r := wdWithin(t, 60*time.Second, reg, "", "docker-run", "--id", "c-plat-other", "--platform", other, testImage)
	failedStart(t, reg, "c-plat-other", r, "platform")
	if !strings.Contains(r.stderr, other) || !strings.Contains(r.stderr, "hint: the local image is for another platform; docker-run never pulls") {
		t.Errorf("--platform %s: stderr %q", other, r.stderr)
	}
	for _, v := range []string{"//", "", "linux/", "/amd64", "linux/amd64/v2/x", "linux/am d64", "banana", "linux:amd64"} {
		refusedBefore(t, []string{"--platform", v}, "watchdog: --platform: invalid "+supervise.Quote(v)+": ")
	}
}
