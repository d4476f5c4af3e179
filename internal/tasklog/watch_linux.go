package tasklog

import (
	"bytes"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Watch returns a channel that is sent to when the log at path may have
// changed (written, cut, renamed over, removed), and a function that ends
// the watch. A wake-up waits in the channel until taken; many changes
// meanwhile make one. On Linux it is inotify on the log's directory (the
// directory, so that the file renamed over the log by its first cut is
// watched too); where that cannot be had, a tick every 200 ms.
func Watch(path string) (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return poll(c)
	}
	const events = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
		unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), events); err != nil {
		unix.Close(fd)
		return poll(c)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close wakes the Read below
	name := []byte(filepath.Base(path))
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			if concerns(buf[:n], name) {
				wake(c)
			}
		}
	}()
	return c, func() { _ = f.Close() }
}

// concerns reports whether a batch of inotify events is about the file
// name, or about the directory itself, or lost some (overflow).
func concerns(b, name []byte) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			return true
		}
		got := bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00")
		if ev.Len == 0 || ev.Mask&unix.IN_Q_OVERFLOW != 0 || bytes.Equal(got, name) {
			return true
		}
		b = b[end:]
	}
	return false
}
