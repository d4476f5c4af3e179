package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestListMatchesCheck: list and report read the machine once and share
// every process's environment between the tasks they show (#18); each
// task's tree must still be exactly what check of that task alone finds.
// Twelve tasks, each with another shape of tree (a grandchild, a setsid
// escapee found only by its run tag, a daemon, a process in a group of its
// own, all of them).
func TestListMatchesCheck(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"watchdog", "wd-child"} {
		if err := os.Symlink(self, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"),
		"WATCHDOG_REGISTRY="+filepath.Join(dir, "r.json"), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	wd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "watchdog"), args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("watchdog %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	shapes := []string{"", "grandchild", "setsid", "daemon", "pgrp", "grandchild,setsid,daemon,pgrp"}
	want := map[string]int{} // id → processes in its tree
	var readies []string
	for i := 0; i < 2*len(shapes); i++ {
		id, shape := fmt.Sprintf("t%02d", i), shapes[i%len(shapes)]
		tdir := filepath.Join(dir, id)
		os.MkdirAll(tdir, 0o755)
		ready := filepath.Join(tdir, "ready")
		readies = append(readies, ready)
		cmd := exec.Command(filepath.Join(dir, "watchdog"), "exec", "--id", id, "--timeout", "1m", "--",
			"wd-child", "-spawn", shape, "-dir", tdir, "-ready", ready, "-hang")
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
		want[id] = 1 + len(strings.FieldsFunc(shape, func(r rune) bool { return r == ',' }))
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, r := range readies {
		for {
			if _, err := os.Stat(r); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never appeared", r)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
		}
	}

	type task struct {
		ID           string `json:"id"`
		Alive        bool   `json:"alive"`
		ProcessCount int    `json:"process_count"`
		Processes    []struct {
			PID int `json:"pid"`
		} `json:"processes"`
	}
	pids := func(tk task) []int {
		var out []int
		for _, p := range tk.Processes {
			out = append(out, p.PID)
		}
		slices.Sort(out)
		return out
	}
	var list struct{ Tasks []task }
	if err := json.Unmarshal(wd("list", "--json"), &list); err != nil {
		t.Fatal(err)
	}
	var report struct{ Tasks []task }
	if err := json.Unmarshal(wd("report", "--json", "--sample", "10ms"), &report); err != nil {
		t.Fatal(err)
	}
	if len(list.Tasks) != len(want) || len(report.Tasks) != len(want) {
		t.Fatalf("list shows %d tasks, report %d; want %d", len(list.Tasks), len(report.Tasks), len(want))
	}
	for _, lt := range list.Tasks {
		var ct task
		if err := json.Unmarshal(wd("check", lt.ID, "--json"), &ct); err != nil {
			t.Fatal(err)
		}
		rt := report.Tasks[slices.IndexFunc(report.Tasks, func(r task) bool { return r.ID == lt.ID })]
		if ct.ProcessCount != want[lt.ID] {
			t.Errorf("check %s: %d processes, want %d", lt.ID, ct.ProcessCount, want[lt.ID])
		}
		if lt.ProcessCount != ct.ProcessCount || lt.Alive != ct.Alive {
			t.Errorf("list %s: %d processes (alive %v); check: %d (alive %v)", lt.ID, lt.ProcessCount, lt.Alive, ct.ProcessCount, ct.Alive)
		}
		if !slices.Equal(pids(rt), pids(ct)) {
			t.Errorf("report %s: pids %v; check: %v", lt.ID, pids(rt), pids(ct))
		}
	}
}
