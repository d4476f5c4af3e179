package registry

import (
	"os"
	"path/filepath"
)

// needSync reports whether a file this store replaces must be fsynced
// before the rename. The guarantee the registry needs from a crash (power
// loss, kernel panic) is that the file is then either its old or its new
// content, never empty or torn; the last few seconds of updates may be
// lost, as they may be with any file that is not synced, and the runs they
// describe did not survive the crash either. Where the filesystem already
// gives that guarantee for replace-by-rename, the fsync buys nothing and is
// skipped:
//
//   - tmpfs and ramfs: nothing survives a crash;
//   - ext3 and ext4 with a journal in their default data=ordered mode (or
//     data=journal) and auto_da_alloc: the data of a file renamed over
//     another is forced to disk before the rename is committed
//     ("replace-via-rename", ext4(5)).
//
// Everywhere else (XFS, btrfs, NFS, ext4 without a journal, with
// noauto_da_alloc or data=writeback, anything unknown or unreadable) every
// write is fsynced.
// WATCHDOG_REGISTRY_SYNC=always forces the fsync everywhere.
func (s *Store) needSync() bool {
	s.syncOnce.Do(func() {
		s.syncNeeded = os.Getenv("WATCHDOG_REGISTRY_SYNC") == "always" || !renameIsOrdered(filepath.Dir(s.Path))
	})
	return s.syncNeeded
}
