//go:build !linux

package tasklog

import "os"

// copyRange copies n bytes from src at srcOff to dst at dstOff through a
// buffer (copy_file_range is Linux's).
func copyRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) error {
	return copyBuffered(dst, dstOff, src, srcOff, n)
}
