package registry

import (
	"bytes"
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
	opts, err := ext4Options(unix.Major(st.Dev), unix.Minor(st.Dev))
	if err != nil {
		return false // cannot tell: sync
	}
	return extOrderedOptions(opts)
}

// ext4Options reads every option in effect on the ext4 filesystem of
// device major:minor from /proc/fs/ext4/NAME/options (the device's name
// from sysfs). Unlike the mount table it says whether there is a journal,
// and it is cheaper to read.
func ext4Options(major, minor uint32) ([]byte, error) {
	var link [256]byte
	n, err := unix.Readlink("/sys/dev/block/"+strconv.FormatUint(uint64(major), 10)+":"+strconv.FormatUint(uint64(minor), 10), link[:])
	if err != nil {
		return nil, err
	}
	name := link[:n]
	if i := bytes.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return readProcFile("/proc/fs/ext4/" + string(name) + "/options")
}

// readProcFile reads a /proc file (pollable: os.ReadFile would register
// it with the poller).
func readProcFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readFD(fd, 4<<10, 0)
}

// extOrderedOptions is the rule on an ext4 filesystem's options: a journal
// that orders data before metadata (data=ordered, the default, or
// data=journal) and auto_da_alloc (the default). Without a journal
// (mkfs -O ^has_journal: no data= line at all) a crash can leave a renamed
// file empty, so it needs the fsync.
func extOrderedOptions(opts []byte) bool {
	journal, alloc := false, false
	for _, o := range bytes.Fields(opts) {
		switch string(o) {
		case "data=ordered", "data=journal":
			journal = true
		case "auto_da_alloc":
			alloc = true
		}
	}
	return journal && alloc
}
