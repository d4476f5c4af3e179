package tasklog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Reader reads a log as the output it keeps, from its first byte: the
// head, then where the log was cut the count of bytes dropped there, then
// the tail; and, while the log's writer goes on, what it adds, however
// often it cuts the log meanwhile. A reader tracks its place in the whole
// output (not in the file), so it never returns a byte twice, and when
// bytes it had not returned yet were dropped it says how many, once, and
// goes on from the oldest byte still kept.
//
// It relies on the writer's order (Writer): the file only grows until the
// first cut, which renames a new file over it; after that the marker says
// "being dropped" while anything after it moves. A read after the marker
// is kept only if the marker read the same, finished, before and after it.
type Reader struct {
	path     string
	f        *os.File
	stale    []byte // a busy marker waited for in vain: its writer died in a cut
	pos      int64  // the output offset of the next byte to return
	afterNL  bool   // the byte before pos was a newline (or pos is 0)
	m        *found
	max      string // the cap, as the marker says it
	unlinked bool   // f no longer has a name: the writer moved to a new file
	// foreign is a file found at the path that is not the writer's cut
	// (reopen): it is not moved to, nor looked through again.
	foreign os.FileInfo
}

// found is a marker a reader has seen, and where.
type found struct {
	head  int64 // the head's length: output bytes before the marker
	text  int64 // the file offset of its text (head, or head+1 after an inserted newline)
	width int64 // its line's length
	last  int64 // the highest drop count read so far
}

func (m *found) dataStart() int64 { return m.text + m.width }

// Open opens the log at path for reading. A FIFO there is refused without
// blocking; a missing file is an error satisfying errors.Is(err,
// fs.ErrNotExist).
func Open(path string) (*Reader, error) {
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f, err := regularFile(fd, path)
	if err != nil {
		return nil, err
	}
	return &Reader{path: path, f: f, afterNL: true}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Truncated reports whether the log was cut (a marker was read).
func (r *Reader) Truncated() bool { return r.m != nil }

// Max is the log's cap as its marker says it ("64MiB"); empty until a
// marker was read.
func (r *Reader) Max() string { return r.max }

// Next reads what comes next: n bytes of output into buf, or dropped > 0
// (and n == 0) where bytes not returned yet were dropped. io.EOF means
// nothing more for now: a log whose writer goes on grows, and Next reads
// the new bytes when called again.
func (r *Reader) Next(buf []byte) (n int, dropped int64, err error) {
	if len(buf) == 0 {
		return 0, 0, errors.New("tasklog: Next with an empty buffer")
	}
	for {
		wasUnlinked := r.unlinked
		var again bool
		if r.m == nil {
			n, again, err = r.nextPlain(buf)
		} else {
			n, dropped, err = r.nextCut(buf)
		}
		if err != nil || n > 0 || dropped > 0 {
			return n, dropped, err
		}
		if again {
			continue
		}
		// Nothing at pos in this file.
		if wasUnlinked {
			// Read to its end after it lost its name, which is after
			// its writer's last write to it: the next file goes on.
			if switched, err := r.reopen(); err != nil || !switched {
				return 0, 0, errOr(err, io.EOF)
			}
			continue
		}
		if r.linkCount() == 0 {
			r.unlinked = true
			continue // read it once more, now that it is final
		}
		return 0, 0, io.EOF
	}
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// nextPlain reads a log not known to be cut, looking for the marker in
// what it reads. again: the marker was found at pos, call again.
func (r *Reader) nextPlain(buf []byte) (n int, again bool, err error) {
	k, err := r.f.ReadAt(buf, r.pos)
	if err != nil && err != io.EOF {
		return 0, false, err
	}
	data := buf[:k]
	if k == 0 {
		return 0, false, nil
	}
	start := 0
	if r.afterNL && bytes.HasPrefix(data, needle[1:]) {
		start = -1 // the needle's newline is the byte before pos
	}
	for i := start; i < len(data); {
		var j int
		if i < 0 {
			j = -1 // a candidate at data[0]
		} else if j = bytes.Index(data[i:], needle); j < 0 {
			break
		} else {
			j += i
		}
		q := r.pos + int64(j) + 1
		if m := markerAt(r.f, q); m != nil {
			if m.head < r.pos {
				// The newline inserted before the marker was read as
				// output (the log was cut in place under this reader).
				r.pos = m.head
			}
			n := int(m.head - r.pos)
			r.m = m
			r.advance(data[:n])
			return n, n == 0, nil
		}
		i = j + 1
	}
	n = k
	if k == len(buf) {
		// More may follow: keep back a possible start of the needle,
		// to be read again with the rest of it.
		n -= partialNeedle(data)
		if n == 0 {
			n = k // a buffer too small to hold back in
		}
	}
	r.advance(data[:n])
	return n, false, nil
}

func (r *Reader) advance(b []byte) {
	if len(b) > 0 {
		r.pos += int64(len(b))
		r.afterNL = b[len(b)-1] == '\n'
	}
}

// partialNeedle is the length of the longest end of data that begins the
// needle.
func partialNeedle(data []byte) int {
	for l := min(len(needle)-1, len(data)); l > 0; l-- {
		if bytes.Equal(data[len(data)-l:], needle[:l]) {
			return l
		}
	}
	return 0
}

// nextCut reads a cut log: the head as it is, then the tail under the
// marker's guard.
func (r *Reader) nextCut(buf []byte) (int, int64, error) {
	m := r.m
	if r.pos < m.head {
		k, err := r.f.ReadAt(buf[:min(int64(len(buf)), m.head-r.pos)], r.pos)
		if err != nil && err != io.EOF {
			return 0, 0, err
		}
		r.advance(buf[:k])
		return k, 0, nil
	}
	for {
		cur, raw, err := r.stableMarker()
		if err != nil {
			return 0, 0, err
		}
		if t := cur.tailStart(); r.pos < t {
			dropped := t - r.pos
			r.pos, r.afterNL = t, true
			return 0, dropped, nil
		}
		if testHookRead != nil {
			testHookRead()
		}
		k, err := r.f.ReadAt(buf, m.dataStart()+r.pos-cur.tailStart())
		if err != nil && err != io.EOF {
			return 0, 0, err
		}
		if again, rerr := r.readMarker(); rerr != nil || !bytes.Equal(again, raw) {
			continue // the log was cut while it was read
		}
		r.advance(buf[:k])
		return k, 0, nil
	}
}

// testHookRead, if set, runs between a reader's reading of the marker and
// of the bytes after it (a test cuts the log there).
var testHookRead func()

// busyWait is how long a reader waits for a cut in progress to finish
// before it takes the marker as it stands (its writer died in a cut).
const busyWait = 5 * time.Second

// stableMarker reads the marker until two reads agree and it is not busy.
func (r *Reader) stableMarker() (marker, []byte, error) {
	deadline := time.Now().Add(busyWait)
	for {
		a, err1 := r.readMarker()
		b, err2 := r.readMarker()
		if err := errors.Join(err1, err2); err != nil {
			return marker{}, nil, err
		}
		late := time.Now().After(deadline)
		if bytes.Equal(a, b) {
			cur, ok := parseMarker(a)
			ok = ok && cur.head == r.m.head && cur.width == r.m.width && cur.dropped >= r.m.last
			if ok && (!cur.busy || late || bytes.Equal(a, r.stale)) {
				if cur.busy {
					r.stale = a
				}
				r.m.last, r.max = cur.dropped, cur.max
				return cur, a, nil
			}
			if !ok && late {
				return marker{}, nil, fmt.Errorf("log %s: its marker line at byte %d is damaged", r.path, r.m.text)
			}
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *Reader) readMarker() ([]byte, error) {
	b := make([]byte, r.m.width)
	k, err := r.f.ReadAt(b, r.m.text)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return b[:k], nil
}

// markerAt returns the marker whose text starts at file offset q (after a
// newline) if it is a genuine one: it says it is there. A line that only
// looks like one is read a few times over, in case it was read while the
// writer rewrote it.
func markerAt(f *os.File, q int64) *found {
	b := make([]byte, markerLimit)
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(time.Millisecond)
		}
		k, err := f.ReadAt(b, q)
		if err != nil && err != io.EOF {
			return nil
		}
		m, ok := parseMarker(b[:k])
		if ok && m.genuine(q) {
			return &found{head: m.head, text: q, width: m.width, last: m.dropped}
		}
	}
	return nil
}

// findMarker looks through f for its marker, reading it from the start.
func findMarker(f *os.File) *found {
	buf := make([]byte, 1<<20)
	for off := int64(0); ; {
		k, err := f.ReadAt(buf, off)
		data := buf[:k]
		for i := 0; ; {
			j := bytes.Index(data[i:], needle)
			if j < 0 {
				break
			}
			if m := markerAt(f, off+int64(i+j)+1); m != nil {
				return m
			}
			i += j + 1
		}
		if err != nil || k < len(needle) {
			return nil
		}
		off += int64(k - len(needle) + 1)
	}
}

// linkCount is the number of names the open file has (0: replaced or
// removed); 1 when it cannot be told.
func (r *Reader) linkCount() uint64 {
	fi, err := r.f.Stat()
	if err != nil {
		return 1
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// reopen moves to the file now at the path (the writer's first cut
// renamed it there) and finds its marker. false: there is none to move to.
func (r *Reader) reopen() (bool, error) {
	nr, err := Open(r.path)
	if err != nil {
		return false, nil // removed: nothing more will come
	}
	a, errA := r.f.Stat()
	b, errB := nr.f.Stat()
	if errA == nil && errB == nil && os.SameFile(a, b) || errB == nil && r.foreign != nil && os.SameFile(r.foreign, b) {
		nr.Close()
		return false, nil
	}
	// The writer's first cut always has a marker. A file without one was
	// put there by someone else (the log moved or replaced by hand, a
	// rotation): its bytes are not the output at this reader's place,
	// and the writer goes on writing the file this reader has open.
	m := findMarker(nr.f)
	if m == nil {
		r.foreign = b
		nr.Close()
		return false, nil
	}
	r.f.Close()
	r.f, r.unlinked, r.m = nr.f, false, m
	if r.m != nil && r.pos > r.m.head {
		// Read past the head already: what comes next is after the
		// marker (or dropped).
		r.afterNL = true
	}
	return true, nil
}
