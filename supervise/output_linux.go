package supervise

import (
	"os"

	"golang.org/x/sys/unix"
)

// setPipeSize asks for a larger pipe; the default stays if refused.
func setPipeSize(f *os.File, size int) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
	}
}
