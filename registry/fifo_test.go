package registry

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// promptly runs f and returns its error; f still running at the deadline
// (an open of a FIFO waiting for its other end) fails the test. Opening
// the FIFO for writing then lets it go, so the test ends either way.
func promptly(t *testing.T, fifo, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		if fd, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			syscall.Close(fd)
		}
		<-done
		t.Fatalf("%s: still waiting after 5s on the FIFO at %s", what, fifo)
		return nil
	}
}

func wantNotRegular(t *testing.T, what string, err error) {
	t.Helper()
	var pe *PermError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "not a regular file") {
		t.Errorf("%s: %v, want a PermError saying not a regular file", what, err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A FIFO put at the registry path after Open (Open itself refuses one):
// every read and write refuses it at once instead of waiting for a writer.
func TestFIFOAtRegistryPath(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	mkfifo(t, s.Path)
	put := func(r *Registry) error { r.Put("a", &Task{Status: StatusRunning}); return nil }
	wantNotRegular(t, "Update", promptly(t, s.Path, "Update", func() error { return s.Update(put) }))
	wantNotRegular(t, "Load", promptly(t, s.Path, "Load", func() error { _, err := s.Load(); return err }))
	wantNotRegular(t, "LoadWithHistory", promptly(t, s.Path, "LoadWithHistory", func() error { _, err := s.LoadWithHistory(); return err }))
	if fi, err := os.Lstat(s.Path); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was moved or replaced: %v %v", fi, err)
	}
}

func TestFIFOAtLockPath(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	mkfifo(t, s.LockPath)
	err = promptly(t, s.LockPath, "Update", func() error {
		return s.Update(func(r *Registry) error { r.Put("a", &Task{Status: StatusRunning}); return nil })
	})
	wantNotRegular(t, "Update", err)
	err = promptly(t, s.LockPath, "FilterHistory", func() error {
		_, err := s.FilterHistory(func(string, *Task) bool { return true }, false)
		return err
	})
	wantNotRegular(t, "FilterHistory", err)
}

// A FIFO at the history path or at the rotated one: readers refuse it,
// the archive's append refuses it (the tasks stay in the registry, with a
// warning), and cleanup's rewrite refuses it.
func TestFIFOAtHistoryPath(t *testing.T) {
	for _, suffix := range []string{"", ".1"} {
		s, warnings := archivingStore(t)
		fifo := HistoryPath(s.Path) + suffix
		mkfifo(t, fifo)
		wantNotRegular(t, "LoadWithHistory"+suffix, promptly(t, fifo, "LoadWithHistory", func() error { _, err := s.LoadWithHistory(); return err }))
		err := promptly(t, fifo, "FilterHistory", func() error {
			_, err := s.FilterHistory(func(string, *Task) bool { return false }, false)
			return err
		})
		wantNotRegular(t, "FilterHistory"+suffix, err)
		if suffix != "" {
			continue // the append opens only the current file
		}
		err = promptly(t, fifo, "Update that archives", func() error {
			return s.Update(func(r *Registry) error {
				for i := 0; i <= ArchiveAt; i++ {
					r.Put(fmt.Sprintf("done-%03d", i), finishedAt(i))
				}
				return nil
			})
		})
		if err != nil {
			t.Fatalf("Update with a FIFO as history: %v (the archive's failure should only warn)", err)
		}
		if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "not a regular file") {
			t.Errorf("warnings: %q", *warnings)
		}
		if r, err := s.Load(); err != nil || r.Len() != ArchiveAt+1 {
			t.Errorf("registry after the refused archive: %v, %v", r, err)
		}
	}
}

func TestFIFOAtIndexPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	idx := IndexPath()
	if err := os.MkdirAll(filepath.Dir(idx), 0o700); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, idx)
	wantNotRegular(t, "Known", promptly(t, idx, "Known", func() error { _, err := Known(); return err }))
	wantNotRegular(t, "Remember", promptly(t, idx, "Remember", func() error { return Remember("/some/registry.json") }))
}

// Not only FIFOs: a socket or a directory at the registry path is refused
// with the same error.
func TestOtherNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", s.Path)
	if err != nil {
		t.Fatalf("make a unix socket at the registry path: %v", err)
	}
	defer l.Close()
	_, err = s.Load()
	wantNotRegular(t, "Load of a socket", err)
	wantNotRegular(t, "Update of a socket", s.Update(func(*Registry) error { return nil }))
	l.Close()
	os.Remove(s.Path)
	if err := os.Mkdir(s.Path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load()
	wantNotRegular(t, "Load of a directory", err)
	os.Remove(s.LockPath)
	if err := os.Mkdir(s.LockPath, 0o700); err != nil {
		t.Fatal(err)
	}
	wantNotRegular(t, "Update with a directory as lock file", s.Update(func(*Registry) error { return nil }))
}
