package tasklog

import (
	"os"

	"golang.org/x/sys/unix"
)

// copyRange copies n bytes from src at srcOff to dst at dstOff with
// copy_file_range(2): the bytes stay in the kernel (and a filesystem that
// shares extents shares them). Where it is refused (an older kernel,
// another filesystem), through a buffer.
func copyRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) error {
	for n > 0 {
		k, err := unix.CopyFileRange(int(src.Fd()), &srcOff, int(dst.Fd()), &dstOff, int(min(n, 1<<30)), 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || k == 0 {
			return copyBuffered(dst, dstOff, src, srcOff, n)
		}
		n -= int64(k)
	}
	return nil
}
