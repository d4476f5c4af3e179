package registry

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestExtOrderedOptions(t *testing.T) {
	for _, c := range []struct {
		opts string
		want bool
	}{
		{"rw\nbsddf\ndelalloc\nbarrier\nauto_da_alloc\ndata=ordered\n", true},
		{"rw\ndelalloc\nauto_da_alloc\n", false}, // no journal: a crash can leave the file empty
		{"rw\ndelalloc\nnoauto_da_alloc\ndata=ordered\n", false},
		{"rw\nauto_da_alloc\ndata=writeback\n", false},
		{"rw\nauto_da_alloc\ndata=journal\n", true},
	} {
		if got := extOrderedOptions([]byte(c.opts)); got != c.want {
			t.Errorf("%q: got %v, want %v", c.opts, got, c.want)
		}
	}
}

func TestSyncForcedByEnvironment(t *testing.T) {
	t.Setenv("WATCHDOG_REGISTRY_SYNC", "always")
	s, err := Open(t.TempDir() + "/process_registry.json")
	if err != nil {
		t.Fatal(err)
	}
	if !s.needSync() {
		t.Fatal("WATCHDOG_REGISTRY_SYNC=always did not force the fsync")
	}
}

func TestWhichFilesystemsNeedSync(t *testing.T) {
	if renameIsOrdered("/proc") {
		t.Error("procfs taken for a filesystem that keeps renames whole: unknown ones must be synced")
	}
	var fs unix.Statfs_t
	if unix.Statfs("/dev/shm", &fs) == nil && fs.Type == unix.TMPFS_MAGIC && !renameIsOrdered("/dev/shm") {
		t.Error("tmpfs /dev/shm taken for one that needs an fsync")
	}
}

// The whole path on this machine's own filesystem: the device found through
// sysfs, its ext4 options read, the rule applied. (The
// disk may be ext4 without a journal, as the development machine's is:
// the registry there must be fsynced.)
func TestRenameIsOrderedHere(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type != unix.EXT4_SUPER_MAGIC {
		if fs.Type != unix.TMPFS_MAGIC && renameIsOrdered(dir) {
			t.Fatalf("%s (filesystem type %#x) taken for one that keeps renames whole", dir, fs.Type)
		}
		return
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	opts, err := ext4Options(unix.Major(st.Dev), unix.Minor(st.Dev))
	if err != nil {
		t.Fatalf("the ext4 options of %s: %v", dir, err)
	}
	if got, want := renameIsOrdered(dir), extOrderedOptions(opts); got != want {
		t.Fatalf("renameIsOrdered(%s) = %v, but its options %q say %v", dir, got, opts, want)
	}
	t.Logf("%s: ext4, rename keeps files whole without fsync: %v", dir, extOrderedOptions(opts))
}
