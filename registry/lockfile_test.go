package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// The lock file removed again and again (a tmp cleaner, git clean) while
// writers update the registry: no update is lost. Each writer has its own
// Store and so its own lock descriptors, as separate processes would.
func TestLockFileRemovedDuringUpdates(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "process_registry.json"))
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 60, 5
	var removes atomic.Int64
	stop := make(chan struct{})
	removerDone := make(chan struct{})
	go func() {
		defer close(removerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if os.Remove(s.LockPath) == nil {
				removes.Add(1)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ws, err := Open(s.Path)
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("w%02d-%d", w, i)
				if err := ws.Update(func(r *Registry) error { r.Put(id, &Task{Status: StatusCompleted}); return nil }); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	<-removerDone
	if n := removes.Load(); n < writers {
		t.Fatalf("the lock file was removed only %d times during %d updates: the test tested little", n, writers*each)
	}
	r, err := s.LoadWithHistory() // Open archives: finished tasks past the newest move to the history
	if err != nil {
		t.Fatal(err)
	}
	var lost []string
	for w := 0; w < writers; w++ {
		for i := 0; i < each; i++ {
			if id := fmt.Sprintf("w%02d-%d", w, i); !hasEntry(r, id) {
				lost = append(lost, id)
			}
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d of %d updates lost with the lock file removed %d times, e.g. %v", len(lost), writers*each, removes.Load(), lost[:min(len(lost), 5)])
	}
}

func hasEntry(r *Registry, id string) bool {
	_, ok := r.Raw(id)
	return ok
}
