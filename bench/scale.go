//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The scale rows (#18): the reading commands with many running tasks on a
// busy machine, and with a few on a quiet one. The fixture is real: tasks
// are `watchdog exec` supervisors with a running command each, and the
// other processes are this user's (so their environments could carry a run
// tag and must be considered).

const (
	scaleTasks  = 200
	scaleOthers = 2000
	smallTasks  = 10
)

// fixture is a set of running tasks in one registry and other processes.
type fixture struct {
	reg    string
	sups   []*exec.Cmd
	others []*exec.Cmd
}

var fixtures = map[string]*fixture{}

// stopFixtures ends every fixture: the supervisors with TERM (each ends
// its own tree), the other processes with KILL.
func stopFixtures() {
	for _, f := range fixtures {
		for _, c := range f.sups {
			c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range f.others {
			c.Process.Kill()
		}
		for _, c := range append(f.sups, f.others...) {
			c.Wait()
		}
	}
	fixtures = map[string]*fixture{}
}

// getFixture starts (once) tasks running tasks recorded in their own
// registry, and others processes beside them; it returns when every task
// is recorded as running.
func getFixture(wd, dir, name string, tasks, others int) (*fixture, error) {
	if f := fixtures[name]; f != nil {
		return f, nil
	}
	f := &fixture{reg: filepath.Join(dir, name, "process_registry.json")}
	fixtures[name] = f
	for i := 0; i < others; i++ {
		c := exec.Command("sleep", "3600")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // gone with the bench, whatever happens
		if err := c.Start(); err != nil {
			return nil, err
		}
		f.others = append(f.others, c)
	}
	for i := 0; i < tasks; i++ {
		c := exec.Command(wd, "--registry", f.reg, "exec", "--id", fmt.Sprintf("t%03d", i), "--timeout", "1h", "--",
			"sh", "-c", "echo ready; exec sleep 3600")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		out, err := c.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := c.Start(); err != nil {
			return nil, err
		}
		f.sups = append(f.sups, c)
		// "ready" comes from the command, after its start was recorded.
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			return nil, fmt.Errorf("task %d did not start: %q %v", i, line, err)
		}
	}
	return f, waitRunning(wd, f.reg, tasks)
}

// waitRunning waits until the registry records n running tasks.
func waitRunning(wd, reg string, n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := exec.Command(wd, "--registry", reg, "stats", "--json").Output()
		if err == nil && strings.Contains(string(out), fmt.Sprintf(`"running": %d,`, n)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d tasks not recorded running: %s %v", n, out, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}

// scaleRow times one reading command against a fixture: the median of a
// few runs.
func scaleRow(wd, dir, name string, tasks, others int, target time.Duration, args ...string) (row, error) {
	f, err := getFixture(wd, dir, name, tasks, others)
	if err != nil {
		return row{}, err
	}
	argv := append([]string{wd, "--registry", f.reg}, args...)
	var ds []time.Duration
	for i := 0; i < 7; i++ {
		d, err := timeRun(argv)
		if err != nil {
			return row{}, fmt.Errorf("%s: %v", strings.Join(args, " "), err)
		}
		ds = append(ds, d)
	}
	m := median(ds)
	return row{ours: ms(m), ref: "-", ratio: "-", pass: m <= target}, nil
}

var scaleBenches = []bench{
	{"scale", "`watchdog list`, 200 running tasks, 2,000 other processes", "≤ 200 ms", func(wd, dir string) (row, error) {
		return scaleRow(wd, dir, "big", scaleTasks, scaleOthers, 200*time.Millisecond, "list")
	}},
	{"scale", "`watchdog list --json`, the same", "≤ 200 ms", func(wd, dir string) (row, error) {
		return scaleRow(wd, dir, "big", scaleTasks, scaleOthers, 200*time.Millisecond, "list", "--json")
	}},
	{"scale", "`watchdog report --sample 100ms`, the same", "≤ 400 ms", func(wd, dir string) (row, error) {
		return scaleRow(wd, dir, "big", scaleTasks, scaleOthers, 400*time.Millisecond, "report", "--sample", "100ms")
	}},
	{"scale", "`watchdog sweep`, the same, nothing to do", "≤ 200 ms", func(wd, dir string) (row, error) {
		return scaleRow(wd, dir, "big", scaleTasks, scaleOthers, 200*time.Millisecond, "sweep")
	}},
	{"scale-small", "`watchdog list`, 10 running tasks, no other processes", "≤ 30 ms", func(wd, dir string) (row, error) {
		stopFixtures() // the quiet machine
		return scaleRow(wd, dir, "small", smallTasks, 0, 30*time.Millisecond, "list")
	}},
	{"scale-small", "`watchdog report --sample 100ms`, the same", "≤ 150 ms", func(wd, dir string) (row, error) {
		return scaleRow(wd, dir, "small", smallTasks, 0, 150*time.Millisecond, "report", "--sample", "100ms")
	}},
	{"scale-small", "`watchdog sweep`, the same, nothing to do", "≤ 30 ms", func(wd, dir string) (row, error) {
		return scaleRow(wd, dir, "small", smallTasks, 0, 30*time.Millisecond, "sweep")
	}},
}

func init() {
	benches = append(benches, scaleBenches...)
}

// The deadline row (#13): a timed-out exec with 2,000 other processes of
// the same user on the machine, from start to return, beyond what
// `timeout` takes for the same command. With a cgroup the end of the tree
// is one read of cgroup.events; the tree's containment (the fallback)
// scans /proc. As root both are measured: the fallback as nobody, who
// gets no cgroup.
func benchTimedOut(wd, dir string, asNobody bool) (row, error) {
	var cred *syscall.Credential
	if asNobody {
		if os.Geteuid() != 0 {
			return row{}, fmt.Errorf("the fallback row runs as nobody: run the bench as root")
		}
		cred = &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	}
	// Its own scratch directory: the bench's is root's alone (0700).
	work, err := os.MkdirTemp("", "watchdog-bench-timedout-")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755)
	var others []*exec.Cmd
	defer func() {
		for _, c := range others {
			c.Process.Kill()
			c.Wait()
		}
	}()
	for i := 0; i < scaleOthers; i++ {
		c := exec.Command("sleep", "3600")
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			return row{}, err
		}
		others = append(others, c)
	}
	reg := filepath.Join(work, "reg") // the registry's directory must be the user's own, 0700
	if err := os.MkdirAll(reg, 0o700); err != nil {
		return row{}, err
	}
	if cred != nil {
		os.Chown(reg, int(cred.Uid), int(cred.Gid))
	}
	env := append(os.Environ(), "WATCHDOG_REGISTRY="+filepath.Join(reg, "r.json"), "XDG_STATE_HOME="+reg, "HOME="+reg)
	run := func(argv ...string) (time.Duration, error) {
		c := exec.Command(argv[0], argv[1:]...)
		c.Env, c.Dir = env, work
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		start := time.Now()
		err := c.Run()
		d := time.Since(start)
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 124 {
			err = nil
		}
		return d, err
	}
	ours := []string{wd, "exec", "--timeout", "0.2", "--", "sleep", "10"}
	ref := []string{"timeout", "0.2", "sleep", "10"}
	var os_, rs []time.Duration
	for i := 0; i < 21; i++ {
		d1, err := run(ours...)
		if err != nil {
			return row{}, fmt.Errorf("watchdog exec: %v", err)
		}
		d2, err := run(ref...)
		if err != nil {
			return row{}, fmt.Errorf("timeout: %v", err)
		}
		os_, rs = append(os_, d1), append(rs, d2)
	}
	mo, mr := median(os_), median(rs)
	extra := mo - mr
	r := row{ours: ms(mo), ref: ms(mr), ratio: fmt.Sprintf("+%.2f ms", float64(extra.Microseconds())/1000), pass: extra <= 10*time.Millisecond}
	if asNobody {
		r.info, r.pass = true, false
	}
	return r, nil
}

func init() {
	benches = append(benches,
		bench{"timedout", "a timed-out `exec --timeout 0.2 -- sleep 10`, 2,000 other processes of the same user: start to return, beyond `timeout`'s (root: a cgroup)", "≤ 10 ms", func(wd, dir string) (row, error) {
			return benchTimedOut(wd, dir, false)
		}},
		bench{"timedout", "(for scale) the same as another user (nobody): no cgroup, the tree's containment", "-", func(wd, dir string) (row, error) {
			return benchTimedOut(wd, dir, true)
		}})
}
