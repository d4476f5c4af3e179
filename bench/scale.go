package main

import (
	"bufio"
	"fmt"
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
