package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/watchdog-run/watchdog/registry"
)

// runConcurrent starts n supervisors at once into one registry; task i
// exits with i%7. It checks every exit status and every registry entry.
// With removeLock, the lock file is deleted again and again meanwhile, as a
// tmp cleaner or `git clean` would.
func runConcurrent(t *testing.T, n int, removeLock bool) {
	reg := filepath.Join(t.TempDir(), "process_registry.json")
	stopRemoving := func() {}
	if removeLock {
		stop := make(chan struct{})
		removed := make(chan int)
		go func() {
			count := 0
			for {
				select {
				case <-stop:
					removed <- count
					return
				default:
				}
				if os.Remove(filepath.Join(filepath.Dir(reg), "process_registry.lock")) == nil {
					count++
				}
				runtime.Gosched()
			}
		}()
		stopRemoving = func() {
			close(stop)
			if n := <-removed; n == 0 {
				t.Errorf("the lock file was never removed: the test did not test anything")
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command("watchdog", "--registry", reg, "exec", "--id", fmt.Sprintf("c%03d", i),
				"--timeout", "1m", "--", "wd-child", "-exit", fmt.Sprint(i%7))
			err := cmd.Run()
			if got := statusOf(err); got != fmt.Sprint(i%7) {
				out, _ := cmd.CombinedOutput()
				errs <- fmt.Errorf("task %d exited %s, want %d: %s", i, got, i%7, out)
			}
		}(i)
	}
	wg.Wait()
	stopRemoving()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := registry.Open(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Past registry.ArchiveAt finished tasks the oldest move to the
	// history: every task must be in exactly one of the two files.
	main, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := os.ReadFile(registry.HistoryPath(reg))
	if got := main.Len() + bytes.Count(hist, []byte("\n")); got != n {
		t.Fatalf("registry (%d) and history hold %d entries, want %d", main.Len(), got, n)
	}
	if n > registry.ArchiveAt && main.Len() > registry.ArchiveAt {
		t.Fatalf("registry holds %d finished tasks, more than %d", main.Len(), registry.ArchiveAt)
	}
	r, err := s.LoadWithHistory()
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != n {
		t.Fatalf("registry and history hold %d distinct tasks, want %d", r.Len(), n)
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("c%03d", i)
		task, err := r.Get(id)
		if err != nil || task == nil {
			t.Fatalf("%s: %v %v", id, task, err)
		}
		want := registry.StatusCompleted
		if i%7 != 0 {
			want = registry.StatusFailed
		}
		if task.Status != want || task.ExitCode == nil || *task.ExitCode != i%7 || task.Native == nil || task.Native.PID <= 1 {
			t.Errorf("%s: status %s exit %v native %+v; want %s exit %d", id, task.Status, task.ExitCode, task.Native, want, i%7)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(reg), ".*tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
}

func TestConcurrentExec50(t *testing.T) {
	if _, err := exec.LookPath("watchdog"); err != nil {
		t.Fatalf("watchdog not on PATH under testscript.Main: %v (PATH=%s)", err, os.Getenv("PATH"))
	}
	runConcurrent(t, 50, false)
}

func TestConcurrentExec200(t *testing.T) {
	runConcurrent(t, 200, false)
}

// Deleting the lock file while 60 supervisors write must lose no update
// (break E: a writer that locked the deleted file and one that locked its
// new namesake each rewrote the registry from their own read).
func TestConcurrentExecLockDeleted(t *testing.T) {
	runConcurrent(t, 60, true)
}
