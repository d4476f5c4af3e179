package random

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Bytes fills b from the kernel's random source. It panics only if
// the kernel cannot provide randomness at all, as crypto/rand does.
func Bytes(b []byte) {
	for len(b) > 0 {
		n, err := unix.Getrandom(b, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			panic("watchdog: no randomness from the kernel: " + err.Error())
		}
		b = b[n:]
	}
}
