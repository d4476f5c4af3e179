package launch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// A sweep reports only what it did: a task that completed between the
// sweep's read and its locked update keeps its status, and the report does
// not claim to have marked it (break G).
func TestSweepReportsOnlyWhatItRecorded(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	running := &registry.Task{Mode: registry.ModeNative, Command: "x", Status: registry.StatusRunning,
		StartedAt: "2026-01-01T00:00:00Z", RunID: "run-g", ConstitutionRules: []string{},
		Native:     &registry.Native{PID: 2147483640, PGID: 2147483640, StartTicks: 7, RunTag: "WATCHDOG_RUN_ID=run-g-none"},
		Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5}}
	put := func(t *registry.Task) error {
		return s.Update(func(r *registry.Registry) error { r.Put("g1", t); return nil })
	}
	if err := put(running); err != nil {
		t.Fatal(err)
	}
	// Between the sweep's plan and its update, the task completes.
	FaultHook = func(point string) {
		if point != "sweep-before-record" {
			return
		}
		done := *running
		code := 0
		done.Status, done.Reason, done.ExitCode = registry.StatusCompleted, registry.ReasonExited, &code
		if err := put(&done); err != nil {
			t.Error(err)
		}
	}
	defer func() { FaultHook = nil }()

	var rep SweepReport
	evs, err := sweepRegistry(reg, SweepOptions{Grace: time.Second}, &containerSweep{}, &rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		t.Errorf("sweep reported %q for %s (status %q), but its update wrote nothing", ev.Detail, ev.ID, ev.Status)
	}
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Get("g1"); got.Status != registry.StatusCompleted {
		t.Fatalf("g1 is %s, want completed", got.Status)
	}

	// The same sweep without the race marks it, and says so.
	FaultHook = nil
	if err := put(running); err != nil {
		t.Fatal(err)
	}
	evs, err = sweepRegistry(reg, SweepOptions{Grace: time.Second}, &containerSweep{}, &rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Status != registry.StatusFailed || evs[0].Reason != registry.ReasonLost {
		t.Fatalf("want one event marking g1 failed (lost), got %+v", evs)
	}
}

// A finished task is never planned, whatever its pids; a dry run reports
// the plan and changes no byte of the registry.
func TestSweepRegistryDryRunAndFinished(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	orphan := &registry.Task{Mode: registry.ModeNative, Status: registry.StatusRunning, RunID: "run-o", ConstitutionRules: []string{},
		Native:     &registry.Native{PID: 2147483640, PGID: 2147483640, StartTicks: 7, RunTag: "WATCHDOG_RUN_ID=run-o-none"},
		Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5}}
	done := *orphan
	code := 0
	done.Status, done.Reason, done.ExitCode, done.RunID = registry.StatusCompleted, registry.ReasonExited, &code, "run-d"
	if err := s.Update(func(r *registry.Registry) error { r.Put("o", orphan); r.Put("d", &done); return nil }); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	var rep SweepReport
	evs, err := sweepRegistry(reg, SweepOptions{DryRun: true, Grace: time.Second}, &containerSweep{}, &rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ID != "o" || !evs[0].DryRun || evs[0].Reason != registry.ReasonLost {
		t.Fatalf("dry run: want one event for o (lost, dry run), got %+v", evs)
	}
	after, err := os.ReadFile(reg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("a dry run changed the registry:\n%s\n---\n%s", before, after)
	}
	evs, err = sweepRegistry(reg, SweepOptions{Grace: time.Second}, &containerSweep{}, &rep)
	if err != nil || len(evs) != 1 || evs[0].ID != "o" {
		t.Fatalf("sweep: want one event for o, got %+v, %v", evs, err)
	}
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Get("d"); got.Status != registry.StatusCompleted || got.Swept != "" {
		t.Fatalf("the finished task was touched: %+v", got)
	}
}

// An orphan with a live process: a dry run counts it and leaves it and the
// registry as they were; the sweep ends it and records failed (orphaned).
// The process is this test's own child, in its own group, with a run tag
// nothing else carries: the tree reaches nothing else.
func TestSweepRegistryEndsAnOrphan(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer cmd.Process.Kill()
	ticks, err := supervise.StartTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	orphan := &registry.Task{Mode: registry.ModeNative, Status: registry.StatusRunning, RunID: "run-e", ConstitutionRules: []string{},
		Native:     &registry.Native{PID: pid, PGID: pid, StartTicks: ticks, RunTag: "WATCHDOG_RUN_ID=sweep-test-orphan-" + t.Name()},
		Supervisor: &registry.Proc{PID: 2147483646, StartTicks: 5}}
	if err := s.Update(func(r *registry.Registry) error { r.Put("e", orphan); return nil }); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(reg)

	var rep SweepReport
	evs, err := sweepRegistry(reg, SweepOptions{DryRun: true, Grace: 5 * time.Second}, &containerSweep{}, &rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Action != "orphaned" || !evs[0].DryRun || len(evs[0].Signalled) != 0 {
		t.Fatalf("dry run: want one orphaned event, nothing signalled, got %+v", evs)
	}
	if n, ok := evs[0].WouldEnd(); !ok || n != 1 {
		t.Errorf("dry run: would end %d process(es) (%v), want 1", n, ok)
	}
	if after, _ := os.ReadFile(reg); !bytes.Equal(before, after) || !supervise.SameProcess(pid, ticks) {
		t.Fatalf("a dry run changed the registry or ended the process")
	}

	evs, err = sweepRegistry(reg, SweepOptions{Grace: 5 * time.Second}, &containerSweep{}, &rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Action != "orphaned" || evs[0].Reason != registry.ReasonOrphaned || !slices.Equal(evs[0].Signalled, []int{pid}) {
		t.Fatalf("want one orphaned event that signalled %d, got %+v", pid, evs)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the orphan's process still runs")
	}
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Get("e"); got.Status != registry.StatusFailed || got.Reason != registry.ReasonOrphaned || got.Swept == "" {
		t.Fatalf("e is %s (%s), swept %q; want failed (orphaned), swept", got.Status, got.Reason, got.Swept)
	}
}
