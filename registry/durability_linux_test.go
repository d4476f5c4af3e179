package registry

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestExtOrdered(t *testing.T) {
	mi := []byte(`22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,errors=remount-ro
30 27 254:16 / /data rw - ext4 /dev/vdb rw,noauto_da_alloc
31 27 254:32 / /wb rw - ext4 /dev/vdc rw,data=writeback
32 27 254:48 / /old rw - ext2 /dev/vdd rw
33 27 254:64 / /j rw - ext3 /dev/vde rw,data=journal
`)
	for _, c := range []struct {
		major, minor uint32
		want         bool
	}{{254, 0, true}, {254, 16, false}, {254, 32, false}, {254, 48, false}, {254, 64, true}, {8, 1, false}} {
		if got := extOrdered(mi, c.major, c.minor); got != c.want {
			t.Errorf("%d:%d: got %v, want %v", c.major, c.minor, got, c.want)
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
