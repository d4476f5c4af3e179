package main

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchdog-run/watchdog/launch"
	"github.com/watchdog-run/watchdog/registry"
)

// requireUnshare skips where a private PID namespace cannot be made, except
// in CI, where the test must run.
func requireUnshare(t *testing.T) {
	t.Helper()
	err := exec.Command("unshare", "-fp", "--mount-proc", "true").Run()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run this test: unshare -fp --mount-proc: %v", err)
	}
	t.Skipf("no private PID namespace here (%v); run as root", err)
}

// envInPIDNS marks a test binary running inside the private PID namespace
// that runInPrivatePIDNamespace made.
const envInPIDNS = "WATCHDOG_TEST_IN_PIDNS"

// runInPrivatePIDNamespace runs the calling test again, alone, in a
// private PID namespace (with its own /proc), and reports whether it did:
// the caller then returns. A sweep ends every orphaned tagged process it
// can see, so a test that sweeps must not see the machine's: inside, a
// wrong kill can only hit the test's own processes, and whatever the test
// leaves dies with the namespace. Its pid 1 is a shell that reaps orphans.
func runInPrivatePIDNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv(envInPIDNS) != "" {
		return false
	}
	requireUnshare(t)
	args := []string{"-fp", "--mount-proc", "sh", "-c", `"$0" "$@"; exit $?`, os.Args[0],
		"-test.run", "^" + t.Name() + "$", "-test.count", "1", "-test.timeout", "10m"}
	if f := flag.Lookup("test.v"); f != nil && f.Value.String() == "true" {
		args = append(args, "-test.v")
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), envInPIDNS+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a private PID namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "\nPASS") && !strings.HasPrefix(string(out), "PASS") {
		t.Fatalf("in a private PID namespace: no PASS (did the test run?)\n%s", out)
	}
	t.Logf("ran in a private PID namespace:\n%s", out)
	return true
}

// Registry entries with absurd pids and groups (0, 1, -1, 2^31, a reused
// pid) must never lead to a signal. The sweep runs in a private PID
// namespace whose pid 1 is a shell that reports every signal it gets, so a
// bug cannot hurt the machine and cannot go unseen.
func TestSweepNeverSignalsLowPIDs(t *testing.T) {
	requireUnshare(t)
	dir := t.TempDir()
	reg := filepath.Join(dir, "process_registry.json")
	dead := &registry.Proc{PID: 2147483646, StartTicks: 5}
	entries := map[string]*registry.Native{
		"pid1":   {PID: 1, PGID: 1},
		"pid0":   {PID: 0, PGID: 0},
		"neg":    {PID: -1, PGID: -1},
		"huge":   {PID: 1 << 31, PGID: 1 << 31},
		"reused": {PID: 2, PGID: -1, StartTicks: 1, RunTag: "WATCHDOG_RUN_ID=none"},
		"grp1":   {PID: 2, PGID: 1, StartTicks: 1},
	}
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(r *registry.Registry) error {
		for id, n := range entries {
			r.Put(id, &registry.Task{Mode: registry.ModeNative, Command: "x", Status: registry.StatusRunning,
				StartedAt: "2026-01-01T00:00:00Z", Native: n, Supervisor: dead, ConstitutionRules: []string{}})
		}
		// The earlier tool's format: pid 1, no supervisor.
		r.Put("rust1", &registry.Task{Mode: registry.ModeNative, Command: "y", Status: registry.StatusRunning,
			StartedAt: "2026-01-01T00:00:00Z", Native: &registry.Native{PID: 1, PGID: 1, StartTime: "Fri Jan 10 15:30:00 2026"}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	script := `
trap 'echo "pid1 got TERM"' TERM
trap 'echo "pid1 got INT"' INT
trap 'echo "pid1 got HUP"' HUP
trap 'echo "pid1 got CONT"' CONT
wd-child -hang -pidfile "$DIR/victim.pid" &
victim=$!
while [ ! -e "$DIR/victim.pid" ]; do :; done
watchdog --registry "$REG" sweep --json --grace 0.1 > "$DIR/sweep.json"
echo "sweep exit $?"
kill -0 $victim && echo "victim alive"
kill -KILL $victim
`
	cmd := exec.Command("unshare", "-fp", "--mount-proc", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "DIR="+dir, "REG="+reg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("namespace run: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "pid1 got") {
		t.Errorf("pid 1 was signalled:\n%s", text)
	}
	if !strings.Contains(text, "sweep exit 0") || !strings.Contains(text, "victim alive") {
		t.Errorf("want sweep exit 0 and the victim alive:\n%s", text)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "sweep.json"))
	var rep launch.SweepReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("sweep --json: %v\n%s", err, raw)
	}
	for _, a := range rep.Actions {
		if len(a.Signalled) > 0 || len(a.Killed) > 0 {
			t.Errorf("sweep signalled %v / killed %v for %s", a.Signalled, a.Killed, a.ID)
		}
	}
	r, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	for id := range entries {
		task, _ := r.Get(id)
		if task.Status != registry.StatusFailed || task.Reason != registry.ReasonLost {
			t.Errorf("%s: %s/%s, want failed/lost", id, task.Status, task.Reason)
		}
	}
}
