package launch

import (
	"slices"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// Serving finds the task that already serves port with the same command
// line in the same directory: recorded running and ready on that port,
// its supervisor alive, and a process of it listening there still. That
// task is what "ensure my dev server runs" wants (exec --reuse). A task
// whose supervisor is gone is never it: nothing would end it (sweep
// will); nor one that stopped listening.
func Serving(store *registry.Store, port int, argv []string, cwd string) (string, *registry.Task, error) {
	r, err := store.Read()
	if err != nil {
		return "", nil, err
	}
	for _, id := range r.IDs() {
		if status, _, ok := r.Peek(id); !ok || status != registry.StatusRunning {
			continue
		}
		t, err := r.Get(id)
		if err != nil || t == nil || t.Port != port || t.ReadyAt == "" || t.Cwd != cwd || !slices.Equal(t.Argv, argv) {
			continue
		}
		if SupervisorAlive(t) && listensOn(t, port) {
			return id, t, nil
		}
	}
	return "", nil, nil
}

// listensOn reports whether a process of the recorded task listens on port.
func listensOn(t *registry.Task, port int) bool {
	live, _, err := TaskTree(t).Members()
	if err != nil {
		return false
	}
	pids := make([]int, len(live))
	for i, p := range live {
		pids[i] = p.PID
	}
	return supervise.ListensOn(pids, port)
}

// ReuseReport is the report of a task found by Serving.
func ReuseReport(id string, t *registry.Task) *DetachReport {
	rep := &DetachReport{ID: id, RunID: t.RunID, Log: t.Log, Port: t.Port, Reused: true}
	if t.Native != nil {
		rep.PID = t.Native.PID
	}
	if t.ReadySeconds > 0 {
		s := t.ReadySeconds
		rep.ReadySeconds = &s
	}
	return rep
}
