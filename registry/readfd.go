package registry

import (
	"errors"
	"syscall"
)

// errTooLarge is readFD's answer for a file that grew past its limit.
var errTooLarge = errors.New("larger than the limit")

// readFD reads fd to its end with plain read(2) calls into a buffer sized
// from hint (the size fstat told): one call for a file that did not grow,
// where os.ReadFile would grow its buffer from 512 bytes and register a
// pollable file with the poller. limit > 0 stops at that many bytes with
// errTooLarge.
func readFD(fd int, hint, limit int64) ([]byte, error) {
	b := make([]byte, 0, hint+512)
	for {
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return b, nil
		}
		b = b[:len(b)+n]
		if limit > 0 && int64(len(b)) > limit {
			return nil, errTooLarge
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
