package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

func init() {
	benches = append(benches,
		bench{"wait", "`watchdog wait` wake-up after its task ends (`exec -- sleep 0.2`; wait's end − the recorded completed_at), median / p95 of 50", "≤ 50 ms", benchWait},
		bench{"wait-registry", "the same for a task no supervisor watches (`register`; `kill` closes the record while wait watches the registry's directory)", "≤ 50 ms", benchWaitRegistry})
}

const waitRounds = 50

// benchWait times how long after a task ends its waiter returns: wait
// sleeps on a pidfd of the supervisor, which records the end and exits.
func benchWait(wd, dir string) (row, error) {
	reg := filepath.Join(dir, "wait", "process_registry.json")
	return waitLatency(wd, reg, func(id string) (func() error, error) {
		task := exec.Command(wd, "--registry", reg, "exec", "--id", id, "--", "sleep", "0.2")
		if err := task.Start(); err != nil {
			return nil, err
		}
		return task.Wait, nil
	}, nil)
}

// benchWaitRegistry: a registered task has no supervisor, so wait watches
// the registry's directory; kill closes the record.
func benchWaitRegistry(wd, dir string) (row, error) {
	reg := filepath.Join(dir, "wait-registry", "process_registry.json")
	return waitLatency(wd, reg, func(id string) (func() error, error) {
		return func() error { return nil }, exec.Command(wd, "--registry", reg, "register", id, "-c", "bench").Run()
	}, func(id string) error {
		// Late enough that wait has read the registry and sleeps.
		time.Sleep(100 * time.Millisecond)
		return exec.Command(wd, "--registry", reg, "kill", id).Run()
	})
}

// waitLatency starts a task per round (start), a wait on it once it is
// recorded, and ends it (end; nil: it ends by itself), and reports the
// time from the recorded completed_at to wait's exit.
func waitLatency(wd, reg string, start func(id string) (func() error, error), end func(id string) error) (row, error) {
	os.MkdirAll(filepath.Dir(reg), 0o700)
	var lat []time.Duration
	late := 0
	for i := 0; i < waitRounds; i++ {
		id := fmt.Sprintf("wait-%d", i)
		done, err := start(id)
		if err != nil {
			return row{}, err
		}
		if err := awaitRunning(reg, id); err != nil {
			return row{}, err
		}
		waiter := exec.Command(wd, "--registry", reg, "wait", id)
		began := time.Now()
		if err := waiter.Start(); err != nil {
			return row{}, err
		}
		if end != nil {
			if err := end(id); err != nil {
				return row{}, err
			}
		}
		waiter.Wait() // its status is the task's
		returned := time.Now()
		if err := done(); err != nil {
			return row{}, err
		}
		completed, err := completedAt(reg, id)
		if err != nil {
			return row{}, err
		}
		if completed.Before(began) {
			late++ // the task ended before wait started: not a wake-up
			continue
		}
		lat = append(lat, returned.Sub(completed))
	}
	if len(lat) == 0 {
		return row{}, fmt.Errorf("every task ended before its wait started")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	med, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	ours := fmt.Sprintf("%s / %s", ms(med), ms(p95))
	if late > 0 {
		ours += fmt.Sprintf(" (%d of %d rounds)", len(lat), waitRounds)
	}
	return row{ours: ours, ref: "-", ratio: "-", pass: p95 <= 50*time.Millisecond}, nil
}

// awaitRunning polls the registry until the task is recorded running.
func awaitRunning(reg, id string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if t, err := readTask(reg, id); err == nil && t.Status == "running" {
			return nil
		}
	}
	return fmt.Errorf("task %s never recorded running", id)
}

func completedAt(reg, id string) (time.Time, error) {
	t, err := readTask(reg, id)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, t.CompletedAt)
}

type benchTask struct {
	Status      string `json:"status"`
	CompletedAt string `json:"completed_at"`
}

func readTask(reg, id string) (benchTask, error) {
	var doc struct {
		Tasks map[string]benchTask `json:"tasks"`
	}
	b, err := os.ReadFile(reg)
	if err != nil {
		return benchTask{}, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return benchTask{}, err
	}
	t, ok := doc.Tasks[id]
	if !ok {
		return benchTask{}, fmt.Errorf("no task %s", id)
	}
	return t, nil
}
