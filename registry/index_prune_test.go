package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// PruneIndex keeps the registries that exist, once each, in their order,
// and drops the rest; an index with nothing to drop is not rewritten.
func TestPruneIndex(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	a, b, gone := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), filepath.Join(dir, "gone.json")
	for _, p := range []string{a, b} {
		os.WriteFile(p, []byte("{}"), 0o600)
	}
	underFile := filepath.Join(a, "r.json") // ENOTDIR: gone too
	os.MkdirAll(filepath.Dir(IndexPath()), 0o700)
	os.WriteFile(IndexPath(), []byte(a+"\n"+gone+"\n\n"+b+"\n"+a+"\n"+underFile+"\n"), 0o600)
	dropped, err := PruneIndex()
	if err != nil || dropped != 4 {
		t.Fatalf("PruneIndex: dropped %d, %v; want 4", dropped, err)
	}
	got, _ := os.ReadFile(IndexPath())
	if want := a + "\n" + b + "\n"; string(got) != want {
		t.Fatalf("index after pruning:\n%s\nwant:\n%s", got, want)
	}
	before, _ := os.Stat(IndexPath())
	if dropped, err := PruneIndex(); err != nil || dropped != 0 {
		t.Fatalf("second PruneIndex: dropped %d, %v; want 0", dropped, err)
	}
	if after, _ := os.Stat(IndexPath()); !os.SameFile(before, after) {
		t.Error("an index with nothing to drop was rewritten")
	}
	// A FIFO as the index is refused, not waited on.
	os.Remove(IndexPath())
	mkfifo(t, IndexPath())
	if _, err := PruneIndex(); err == nil || !strings.Contains(err.Error(), "regular") {
		t.Fatalf("PruneIndex of a FIFO: %v, want a refusal", err)
	}
}
