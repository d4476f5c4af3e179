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
		bench{"detach", "`watchdog exec -d -- sleep 5` until it returns: wall / after the recorded started_at, median and p95 of 50", "median after the start ≤ 5 ms", benchDetach})
}

const detachRounds = 50

// benchDetach times exec --detach: the whole foreground half (it starts
// the background half, which records the start and reports it), and the
// part of that after the start record's started_at: what the report and
// the foreground half's exit add. The tasks are killed afterwards.
func benchDetach(wd, dir string) (row, error) {
	reg := filepath.Join(dir, "detach", "process_registry.json")
	os.MkdirAll(filepath.Dir(reg), 0o700)
	var ids []string
	defer func() {
		for _, id := range ids {
			exec.Command(wd, "--registry", reg, "kill", id, "--grace", "1s").Run()
		}
	}()
	// A warm-up: the page cache and the registry's directory.
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("warm-%d", i)
		if err := exec.Command(wd, "--registry", reg, "exec", "-d", "--id", id, "--", "sleep", "5").Run(); err != nil {
			return row{}, fmt.Errorf("exec -d: %v", err)
		}
		ids = append(ids, id)
	}
	var wall, after []time.Duration
	for i := 0; i < detachRounds; i++ {
		id := fmt.Sprintf("detach-%d", i)
		cmd := exec.Command(wd, "--registry", reg, "exec", "-d", "--id", id, "--", "sleep", "5")
		start := time.Now()
		err := cmd.Run()
		returned := time.Now()
		if err != nil {
			return row{}, fmt.Errorf("exec -d: %v", err)
		}
		ids = append(ids, id)
		started, err := startedAt(reg, id)
		if err != nil {
			return row{}, err
		}
		wall = append(wall, returned.Sub(start))
		after = append(after, returned.Sub(started))
	}
	wm, wp := medianP95(wall)
	am, ap := medianP95(after)
	return row{ours: fmt.Sprintf("%s / %s wall; %s / %s after the start", ms(wm), ms(wp), ms(am), ms(ap)),
		ref: "-", ratio: "-", pass: am <= 5*time.Millisecond}, nil
}

func medianP95(ds []time.Duration) (time.Duration, time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)*95/100]
}

// startedAt is the recorded start of task id.
func startedAt(reg, id string) (time.Time, error) {
	var doc struct {
		Tasks map[string]struct {
			StartedAt string `json:"started_at"`
		} `json:"tasks"`
	}
	b, err := os.ReadFile(reg)
	if err != nil {
		return time.Time{}, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return time.Time{}, err
	}
	t, ok := doc.Tasks[id]
	if !ok {
		return time.Time{}, fmt.Errorf("no task %s", id)
	}
	return time.Parse(time.RFC3339Nano, t.StartedAt)
}
