package launch

import (
	"slices"

	"github.com/watchdog-run/watchdog/registry"
)

// Serving finds the task that already serves port with the same command
// line: recorded running and ready on that port, its supervisor alive.
// That task is what "ensure my dev server runs" wants (exec --reuse).
func Serving(store *registry.Store, port int, argv []string) (string, *registry.Task, error) {
	r, err := store.Read()
	if err != nil {
		return "", nil, err
	}
	for _, id := range r.IDs() {
		if status, _, ok := r.Peek(id); !ok || status != registry.StatusRunning {
			continue
		}
		t, err := r.Get(id)
		if err != nil || t == nil || t.Port != port || t.ReadyAt == "" || !slices.Equal(t.Argv, argv) {
			continue
		}
		if SupervisorAlive(t) {
			return id, t, nil
		}
	}
	return "", nil, nil
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
