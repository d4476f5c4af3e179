package launch

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/watchdog-run/watchdog/registry"
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
