package tasklog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Writer is a log being written: what a command printed, as it arrives.
// Its methods are called from one goroutine at a time (the caller
// serialises the two streams' writes).
//
// Below the cap a Write is one pwrite. Past it the log is cut: the head
// stays, the marker is written or refreshed, the newest max/8 bytes are
// moved to just after the marker, the file is truncated, and writing goes
// on there. A cut moves max/8 bytes and makes room for at least 3/8 of
// max, so each byte of output is copied a third of a time on average, in
// the kernel where it can be (copy_file_range).
//
// The head is cut at the end of a line when one ends in its last
// 1/16 (at most 64 KiB); the tail starts at the beginning of a line when
// one begins in its first 1/16 (at most 64 KiB). Otherwise a line is cut
// where the byte count falls.
//
// The first cut builds the cut log in a new file beside the old one and
// renames it over the path: until then the log only grows, so a reader
// that does not know yet where the marker will go is never misled; a
// reader holding the old file sees it unlinked and reopens (Reader).
// Later cuts happen in place, bracketed by the marker's busy state. Where
// no file can be made beside the log (a directory the user may not write,
// a full disk), the first cut too is made in place: a reader that had
// already read past the head's end then takes what follows the marker for
// what came after what it had read, once.
//
// Writes are made in line, by the caller's goroutine: handing them to a
// goroutine of the log's own (a copy into a buffer, the file written
// meanwhile) made 1 GiB through `exec --log` slower on two cores, 0.52×
// the speed of writing it to a file directly instead of 0.63 to 0.75×.
type Writer struct {
	f       *os.File
	path    string
	max     int64
	maxText string
	size    int64 // the file's length
	out     int64 // bytes of output received
	m       *cutState
	err     error // the first error: the log is written no further
	// inPlace: the first cut too is made in place (tests of the way
	// taken when no file can be made beside the log).
	inPlace bool
}

// cutState is where a cut log's parts are.
type cutState struct {
	head  int64 // H: output bytes kept before the marker, and the marker's file offset
	lead  int64 // 1 when a newline was inserted before the marker text
	width int64 // the marker line's length
	tail  int64 // T: the output offset of the first byte after the marker
}

func (c *cutState) text() int64      { return c.head + c.lead }
func (c *cutState) dataStart() int64 { return c.head + c.lead + c.width }
func (c *cutState) dropped() int64   { return c.tail - c.head }

// Create makes a new log at path: its directory is made (0700) if
// missing, the file is created 0600 and must not exist, whatever stands
// at the name (a symlink, a FIFO, a file: nothing is followed, truncated
// or waited for). max is the cap (at least MinMax).
func Create(path string, max int64) (*Writer, error) {
	if err := makeDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	return CreateAt(path, max, false)
}

// CreateAt makes a log at path in an existing directory. With replace,
// an existing regular file there is emptied and used, as a shell
// redirection would (a FILE the user chose); without it any existing file
// is refused. A symlink at the path is never followed, and a FIFO or
// device is refused without blocking. max is the cap (at least MinMax).
func CreateAt(path string, max int64, replace bool) (*Writer, error) {
	if max < MinMax {
		return nil, fmt.Errorf("log cap %s is too small: at least %s", FormatMax(max), FormatMax(MinMax))
	}
	flags := unix.O_RDWR | unix.O_CREAT | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	if !replace {
		flags |= unix.O_EXCL
	}
	var f *os.File
	for try := 0; ; try++ {
		fd, err := openRetry(path, flags, 0o600)
		if err != nil {
			return nil, openError(path, err)
		}
		if f, err = regularFile(fd, path); err != nil {
			return nil, err
		}
		err = claim(f, path)
		if err == nil {
			break
		}
		f.Close()
		if err != errMovedAway || try == 8 {
			return nil, err
		}
	}
	if replace {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("log %s: %w", path, err)
		}
	}
	return &Writer{f: f, path: path, max: max, maxText: FormatMax(max)}, nil
}

// errMovedAway: the file opened no longer has the log's name (its writer
// renamed its first cut over it meanwhile); open the path again.
var errMovedAway = errors.New("log moved away while opened")

// claim takes the log for this writer: an exclusive flock on the open
// file, held as long as the file is open (and taken on the file of the
// first cut before it is renamed over the path). Two runs given the same
// --log=FILE would otherwise both write it, each at its own offsets: the
// second emptied what the first had written, and each run's record named
// one file that held the other's output, or a mix of both. A file system
// without flock is written unguarded, as before.
func claim(f *os.File, path string) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EWOULDBLOCK {
			return fmt.Errorf("log %s is being written by another run: two runs cannot share one log", path)
		}
		break
	}
	a, errA := os.Lstat(path)
	b, errB := f.Stat()
	if errA == nil && errB == nil && !os.SameFile(a, b) {
		return errMovedAway
	}
	return nil
}

// makeDir makes the log's directory if it is missing. One that exists is
// used as it is (a FILE the user chose may be anywhere): the file's own
// O_EXCL|O_NOFOLLOW is what keeps a planted name from being used.
func makeDir(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("log directory: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	// The default logs' directory is the watchdog's, beside the registry:
	// one planted there (a symlink to elsewhere, another user's, one
	// anyone may write) is refused as a planted registry directory is.
	switch st, _ := fi.Sys().(*syscall.Stat_t); {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("log directory %s is a symlink; refusing to follow it", dir)
	case !fi.IsDir():
		return fmt.Errorf("log directory %s is not a directory", dir)
	case st != nil && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("log directory %s belongs to another user (uid %d)", dir, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("log directory %s is writable by others (mode %04o)", dir, fi.Mode().Perm())
	}
	return nil
}

// openError says why a log could not be opened for writing.
func openError(path string, err error) error {
	switch err {
	case unix.EEXIST:
		return fmt.Errorf("log %s already exists", path)
	case unix.ELOOP:
		return fmt.Errorf("log %s is a symlink; refusing to follow it", path)
	case unix.ENXIO, unix.ENODEV, unix.EISDIR:
		return notRegular(path)
	}
	return fmt.Errorf("log %s: %w", path, err)
}

func notRegular(path string) error {
	what := "not a regular file"
	if fi, err := os.Lstat(path); err == nil {
		switch m := fi.Mode(); {
		case m&fs.ModeNamedPipe != 0:
			what = "a FIFO, not a regular file"
		case m.IsDir():
			what = "a directory, not a regular file"
		case m&fs.ModeDevice != 0:
			what = "a device, not a regular file"
		case m&fs.ModeSocket != 0:
			what = "a socket, not a regular file"
		}
	}
	return fmt.Errorf("log %s is %s", path, what)
}

// regularFile wraps fd, opened with O_NONBLOCK so that a FIFO could not
// hang the open, once it is known to be a regular file; it is put back in
// blocking mode (on a regular file O_NONBLOCK changes nothing, but the
// file is handed on as an ordinary one).
func regularFile(fd int, path string) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("log %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, notRegular(path)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("log %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func openRetry(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Write adds p to the log. It always takes all of p (the bytes a cut
// drops count as written); an error means the log is broken and is
// written no further.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.kept()+int64(len(p)) <= w.max {
		if _, err := w.f.WriteAt(p, w.size); err != nil {
			w.err = fmt.Errorf("log %s: %w", w.path, err)
			return 0, w.err
		}
		w.size += int64(len(p))
		w.out += int64(len(p))
		return len(p), nil
	}
	if err := w.cut(p); err != nil {
		w.err = fmt.Errorf("log %s: %w", w.path, err)
		return 0, w.err
	}
	return len(p), nil
}

// Close closes the log file.
func (w *Writer) Close() error { return w.f.Close() }

// Dropped is the number of output bytes the cap has dropped so far.
func (w *Writer) Dropped() int64 {
	if w.m == nil {
		return 0
	}
	return w.m.dropped()
}

// kept is the number of output bytes in the file.
func (w *Writer) kept() int64 {
	if w.m == nil {
		return w.size
	}
	return w.size - w.m.lead - w.m.width
}

func (w *Writer) window() int64 { return window(w.max) }

// cut makes room for p: the head stays, the newest max/8 bytes of output
// (p's included) follow the marker, the rest is dropped.
func (w *Writer) cut(p []byte) error {
	end := w.out + int64(len(p))
	next := &cutState{}
	if w.m != nil {
		*next = *w.m
	} else {
		head, err := w.headEnd(p)
		if err != nil {
			return err
		}
		last, err := w.output(head-1, head, p)
		if err != nil {
			return err
		}
		next.head = head
		if last[0] != '\n' {
			next.lead = 1
		}
		next.width = markerWidth(head, w.maxText)
	}
	tail, err := w.tailStart(end, p)
	if err != nil {
		return err
	}
	next.tail = tail
	if w.m == nil && !w.inPlace {
		if err := w.cutAside(next, end, p); err == nil {
			return nil
		}
		// No room or no right to make a file beside the log: cut it in
		// place, as every later cut is.
	}
	return w.cutInPlace(next, end, p)
}

// headEnd chooses where the head ends: the end of a line near max/2.
func (w *Writer) headEnd(p []byte) (int64, error) {
	h := w.max / 2
	lo := h - w.window()
	b, err := w.output(lo, h, p)
	if err != nil {
		return 0, err
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return lo + int64(i) + 1, nil
		}
	}
	return h, nil
}

// tailStart chooses where the kept tail begins: the start of a line near
// end - max/8.
func (w *Writer) tailStart(end int64, p []byte) (int64, error) {
	t := end - w.max/8
	b, err := w.output(t, t+w.window(), p)
	if err != nil {
		return 0, err
	}
	for i, c := range b {
		if c == '\n' {
			return t + int64(i) + 1, nil
		}
	}
	return t, nil
}

// fileOffset is where output byte x (received before p, and kept) is in
// the file.
func (w *Writer) fileOffset(x int64) int64 {
	if w.m == nil || x < w.m.head {
		return x
	}
	return w.m.dataStart() + x - w.m.tail
}

// output returns the output bytes [a, b), from the file and from p. The
// range lies in one part of the log (the head, or the kept tail and p).
func (w *Writer) output(a, b int64, p []byte) ([]byte, error) {
	buf := make([]byte, 0, b-a)
	if a < w.out {
		n := min(b, w.out) - a
		buf = buf[:n]
		if _, err := w.f.ReadAt(buf, w.fileOffset(a)); err != nil {
			return nil, err
		}
	}
	if b > w.out {
		buf = append(buf, p[max(a, w.out)-w.out:b-w.out]...)
	}
	return buf, nil
}

// copyOutput writes the output bytes [a, b) to dst at off: those in the
// log's file are copied file to file, p's are written.
func (w *Writer) copyOutput(dst *os.File, off, a, b int64, p []byte) error {
	if a < w.out {
		n := min(b, w.out) - a
		if err := copyRange(dst, off, w.f, w.fileOffset(a), n); err != nil {
			return err
		}
		off, a = off+n, a+n
	}
	if a < b {
		if _, err := dst.WriteAt(p[a-w.out:b-w.out], off); err != nil {
			return err
		}
	}
	return nil
}

// cutAside is the first cut: the cut log is written to a new file in the
// same directory and renamed over the path, so the file readers have open
// only ever grew.
func (w *Writer) cutAside(next *cutState, end int64, p []byte) (err error) {
	dir, base := filepath.Split(w.path)
	tmp, err := os.CreateTemp(dir, "."+base+".cut-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return err
	}
	// The log's new file is this writer's from the moment it has the
	// name (claim): no other run may open it and write it meanwhile.
	_ = unix.Flock(int(tmp.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := w.copyOutput(tmp, 0, 0, next.head, p); err != nil {
		return err
	}
	line := markerLine(next.dropped(), next.head, w.maxText, false, next.width)
	if next.lead == 1 {
		line = append([]byte{'\n'}, line...)
	}
	if _, err := tmp.WriteAt(line, next.head); err != nil {
		return err
	}
	if err := w.copyOutput(tmp, next.dataStart(), next.tail, end, p); err != nil {
		return err
	}
	if fi, err := w.f.Stat(); err == nil {
		_ = tmp.Chmod(fi.Mode().Perm()) // a FILE the user chose keeps its mode
	}
	if err := os.Rename(tmp.Name(), w.path); err != nil {
		return err
	}
	w.f.Close()
	w.f, w.m, w.size, w.out = tmp, next, next.dataStart()+end-next.tail, end
	return nil
}

// cutInPlace cuts the log in its own file. The marker reads "being
// dropped" from before the first byte moves until the file has its new
// length: a reader that sees the same finished marker before and after
// reading knows what it read was not moved under it.
func (w *Writer) cutInPlace(next *cutState, end int64, p []byte) error {
	busy, at := markerLine(next.dropped(), next.head, w.maxText, true, next.width), next.text()
	if w.m == nil && next.lead == 1 {
		busy, at = append([]byte{'\n'}, busy...), next.head
	}
	if _, err := w.f.WriteAt(busy, at); err != nil {
		return err
	}
	if next.tail < w.out {
		if err := copyWithin(w.f, next.dataStart(), w.fileOffset(next.tail), w.out-next.tail); err != nil {
			return err
		}
	}
	if from := max(next.tail, w.out); from < end {
		if _, err := w.f.WriteAt(p[from-w.out:], next.dataStart()+from-next.tail); err != nil {
			return err
		}
	}
	size := next.dataStart() + end - next.tail
	if err := w.f.Truncate(size); err != nil {
		return err
	}
	done := markerLine(next.dropped(), next.head, w.maxText, false, next.width)
	if _, err := w.f.WriteAt(done, next.text()); err != nil {
		return err
	}
	w.m, w.size, w.out = next, size, end
	return nil
}

// copyWithin moves n bytes of f from src to dst (dst < src): in one
// kernel copy when the ranges do not overlap, else front to back through
// a buffer, which never overwrites a byte before it is read.
func copyWithin(f *os.File, dst, src, n int64) error {
	if dst == src || n == 0 {
		return nil
	}
	if src-dst >= n {
		return copyRange(f, dst, f, src, n)
	}
	return copyBuffered(f, dst, f, src, n)
}

// copyBuffered copies n bytes from src at srcOff to dst at dstOff through
// a buffer, front to back.
func copyBuffered(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) error {
	buf := make([]byte, min(n, 1<<20))
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := src.ReadAt(buf[:k], srcOff); err != nil {
			return err
		}
		if _, err := dst.WriteAt(buf[:k], dstOff); err != nil {
			return err
		}
		srcOff, dstOff, n = srcOff+k, dstOff+k, n-k
	}
	return nil
}
