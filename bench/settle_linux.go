package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// settle drops the page cache of each binary about to be timed, so that
// it is read back from disk on its next start, as a binary is after a
// reboot. How a binary's page cache was filled changes how fast it
// starts: one just written with write(2) (cp, install) started 0.3–0.6 ms
// faster per exec on the 4.7 MB watchdog (0.1–0.2 ms on the floor) than
// the same bytes written through mmap (the Go linker) or read back (Linux
// 6.18, ext4; large folios). Without this a copied binary would time
// faster than a freshly built one. Best effort: errors are ignored.
func settle(paths ...string) {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		// Only clean pages can be dropped.
		if f.Sync() == nil {
			_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		}
		f.Close()
	}
}
