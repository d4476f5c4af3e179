package registry

import (
	"fmt"
	"path/filepath"
	"testing"
)

// entryFor is a finished task as exec records it.
func entryFor(i int) *Task {
	code := 0
	return &Task{Mode: ModeNative, Command: "make test", Status: StatusCompleted,
		StartedAt: "2026-11-26T00:57:22.402787061Z", CompletedAt: "2026-11-26T00:57:23.40590633Z",
		Native: &Native{PID: 5804 + i, PGID: 5804 + i, StartTime: "Thu Nov 26 00:57:22 2026", EnvTag: fmt.Sprintf("TASK_ID=t%d", i),
			StartTicks: 69807, BootID: "29fa2058-0e59-49c6-a961-75f93161e342", RunTag: "WATCHDOG_RUN_ID=4e41535d-822f-4827-8575-b2aabd8ccffc"},
		ConstitutionRules: []string{}, ExitCode: &code, Reason: ReasonExited, RunID: "4e41535d-822f-4827-8575-b2aabd8ccffc",
		Argv: []string{"make", "test"}, Cwd: "/src/app",
		Supervisor: &Proc{PID: 5797, StartTicks: 69807, Host: "vm", BootID: "29fa2058-0e59-49c6-a961-75f93161e342"}}
}

func registryOf(b *testing.B, n int) *Store {
	s, err := Open(filepath.Join(b.TempDir(), "process_registry.json"))
	if err != nil {
		b.Fatal(err)
	}
	err = s.Update(func(r *Registry) error {
		for i := 0; i < n; i++ {
			r.Put(fmt.Sprintf("t%05d", i), entryFor(i))
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkExecUpdate is what one exec does to the registry, twice per run:
// lock, read, check its id, put its entry, write.
func BenchmarkExecUpdate(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchExecUpdate(b, n, false) })
	}
}

// BenchmarkExecUpdateArchiving is the same with the history on, as the
// watchdog runs it: a registry that starts with n finished tasks moves all
// but the newest KeepFinished of them to the history on the first update;
// what follows is the steady state every exec pays for.
func BenchmarkExecUpdateArchiving(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchExecUpdate(b, n, true) })
	}
}

func benchExecUpdate(b *testing.B, n int, archive bool) {
	s := registryOf(b, n)
	s.Archive = archive
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := s.Update(func(r *Registry) error {
			r.Peek("bench")
			r.Put("bench", entryFor(i))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadPeekAll is sweep's read: load and peek every entry's status.
func BenchmarkLoadPeekAll(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := registryOf(b, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := s.Load()
				if err != nil {
					b.Fatal(err)
				}
				for _, id := range r.IDs() {
					r.Peek(id)
				}
			}
		})
	}
}
