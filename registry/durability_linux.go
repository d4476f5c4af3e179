package registry

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// renameIsOrdered reports whether the filesystem holding dir keeps a file
// replaced by rename whole across a crash without an fsync (see needSync).
func renameIsOrdered(dir string) bool {
	var fs unix.Statfs_t
	if unix.Statfs(dir, &fs) != nil {
		return false
	}
	switch fs.Type {
	case unix.TMPFS_MAGIC, unix.RAMFS_MAGIC:
		return true
	case unix.EXT4_SUPER_MAGIC: // ext2, ext3 and ext4 share it
	default:
		return false
	}
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil {
		return false
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	return extOrdered(mi, unix.Major(st.Dev), unix.Minor(st.Dev))
}

// extOrdered finds the mount of device major:minor in mountinfo and reports
// whether it is ext3 or ext4 journalling data in order (data=ordered, the
// default, or data=journal) with auto_da_alloc (the default).
func extOrdered(mountinfo []byte, major, minor uint32) bool {
	dev := []byte(strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10))
	for _, line := range bytes.Split(mountinfo, []byte("\n")) {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		f := bytes.Fields(line)
		if len(f) < 3 || !bytes.Equal(f[2], dev) {
			continue
		}
		sep := bytes.Index(line, []byte(" - "))
		if sep < 0 {
			return false
		}
		g := bytes.Fields(line[sep+3:])
		if len(g) < 3 {
			return false
		}
		if fstype := string(g[0]); fstype != "ext4" && fstype != "ext3" {
			return false
		}
		for _, o := range bytes.Split(g[2], []byte(",")) {
			switch string(o) {
			case "noauto_da_alloc", "data=writeback":
				return false
			}
		}
		return true
	}
	return false
}
