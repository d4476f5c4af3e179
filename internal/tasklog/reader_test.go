package tasklog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// piece is what Next returned: output, or a drop.
type piece struct {
	data    string
	dropped int64
}

// readAll reads r to its end, merging adjacent output.
func readAll(t *testing.T, r *Reader, bufSize int) []piece {
	t.Helper()
	var got []piece
	if err := r.Each(make([]byte, bufSize), func(data []byte, dropped int64) {
		got = addPiece(got, data, dropped)
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func addPiece(got []piece, data []byte, dropped int64) []piece {
	switch {
	case dropped > 0:
		return append(got, piece{dropped: dropped})
	case len(got) > 0 && got[len(got)-1].dropped == 0:
		got[len(got)-1].data += string(data)
		return got
	}
	return append(got, piece{data: string(data)})
}

func equalPieces(a, b []piece) bool { return slices.Equal(a, b) }

func describe(ps []piece) string {
	var s []string
	for _, p := range ps {
		if p.dropped > 0 {
			s = append(s, fmt.Sprintf("drop %d", p.dropped))
		} else {
			s = append(s, fmt.Sprintf("%d bytes", len(p.data)))
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// follower checks what a reader returns against the output: each piece of
// output must be the very next bytes of it, each drop must skip to a byte
// still ahead. pos is where the reader is in the output.
type follower struct {
	r       *Reader
	buf     []byte
	pos     int64
	drops   int
	dropped int64
}

// drain reads everything there is now and checks it.
func (f *follower) drain(t *testing.T, out func() []byte) {
	t.Helper()
	for {
		n, dropped, err := f.r.Next(f.buf)
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		o := out()
		switch {
		case dropped > 0:
			if f.pos+dropped > int64(len(o)) {
				t.Fatalf("at %d: a drop of %d goes past the %d bytes written", f.pos, dropped, len(o))
			}
			f.pos += dropped
			f.drops++
			f.dropped += dropped
		case n == 0:
			t.Fatalf("Next returned nothing and no error")
		default:
			if f.pos+int64(n) > int64(len(o)) || !bytes.Equal(f.buf[:n], o[f.pos:f.pos+int64(n)]) {
				t.Fatalf("at %d: %d bytes read are not the output's next (%d written)", f.pos, n, len(o))
			}
			f.pos += int64(n)
		}
	}
}

// TestFollowAcrossCuts: a reader that follows a log while it is written
// and cut (in lockstep with the writer, so that it reads between every
// kind of step: before the first cut, across the rename, in the head,
// mid-tail when the next cut comes) returns exactly the output, bar the
// drops it announces, and ends at its last byte.
func TestFollowAcrossCuts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inPlace bool
		bufSize int
	}{
		{"aside, small reads", false, 97},
		{"aside, large reads", false, 64 << 10},
		{"in place, small reads", true, 97},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "t.log")
			w, err := Create(path, MinMax)
			if err != nil {
				t.Fatal(err)
			}
			w.inPlace = tc.inPlace
			defer w.Close()
			out := stream(1<<20, true, 11)
			at := 0
			written := func() []byte { return out[:at] }
			if tc.inPlace {
				// A log cut in place from the first cut on can mislead
				// a reader that passed the head's end before it (see
				// Writer): this reader starts after it.
				for w.Dropped() == 0 {
					w.Write(out[at : at+100])
					at += 100
				}
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			f := &follower{r: r, buf: make([]byte, tc.bufSize)}
			for i, k := range chunks(len(out)-at, 5) {
				w.Write(out[at : at+k])
				at += k
				// Read every step at first, then now and then, so that
				// the reader is sometimes cut under, sometimes far behind.
				if i < 40 || i%7 == 0 {
					f.drain(t, written)
				}
			}
			f.drain(t, written)
			if f.pos != int64(len(out)) {
				t.Fatalf("the reader ended at %d of %d", f.pos, len(out))
			}
			if f.drops == 0 {
				t.Fatalf("the reader never saw a drop")
			}
			if f.dropped > w.Dropped() {
				t.Fatalf("the reader skipped %d bytes, the log dropped only %d", f.dropped, w.Dropped())
			}
			if !r.Truncated() {
				t.Errorf("Truncated false")
			}
		})
	}
}

// TestFollowConcurrent: the writer runs in its own goroutine as fast as it
// can while a reader follows; after each write the writer says how much it
// has written, and the reader, when it has read all there is, waits for
// the next such word (or the end). What it read must be exactly the
// output, bar announced drops.
func TestFollowConcurrent(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		t.Run(fmt.Sprint("in place ", inPlace), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "t.log")
			w, err := Create(path, 8<<10)
			if err != nil {
				t.Fatal(err)
			}
			w.inPlace = inPlace
			out := stream(4<<20, true, 13)
			at := 0
			if inPlace {
				// Past the first cut before the reader starts (as in
				// TestFollowAcrossCuts).
				for w.Dropped() == 0 {
					w.Write(out[at : at+100])
					at += 100
				}
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			progress := make(chan int, 1<<16)
			var mu sync.Mutex
			go func() {
				defer close(progress)
				defer w.Close()
				end := at
				for _, k := range chunks(len(out)-at, 9) {
					end += k
					// Claimed before the write: the reader may read the
					// bytes as soon as they are in the file.
					mu.Lock()
					at = end
					mu.Unlock()
					if _, err := w.Write(out[end-k : end]); err != nil {
						t.Error(err)
						return
					}
					select {
					case progress <- end:
					default: // the reader is behind: it reads all there is anyway
					}
				}
			}()
			written := func() []byte { mu.Lock(); defer mu.Unlock(); return out[:at] }
			f := &follower{r: r, buf: make([]byte, 4096)}
			for range progress {
				f.drain(t, written)
			}
			f.drain(t, written)
			if f.pos != int64(len(out)) {
				t.Fatalf("the reader ended at %d of %d", f.pos, len(out))
			}
		})
	}
}

// Lines that look like the marker are output wherever they are not the
// marker: before a cut, in the head, in the tail.
func TestForgedMarkersAreOutput(t *testing.T) {
	// One copied from another log (it says it is elsewhere), and one
	// that says it is where it is but is not as wide as a marker.
	fake := func(head int) string {
		return fmt.Sprintf("[watchdog: 7 bytes of output dropped here, after its first %d (--log-max 4KiB)]\n", head+5)
	}
	var b strings.Builder
	for b.Len() < 1000 {
		fmt.Fprintf(&b, "line %d\n", b.Len())
		b.WriteString(fake(b.Len()))
		fmt.Fprintf(&b, "[watchdog: 7 bytes of output dropped here, after its first %d (--log-max 4KiB)]\n", b.Len())
	}
	out := b.String()
	path := filepath.Join(t.TempDir(), "t.log")
	w, err := Create(path, MinMax)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte(out))
	r, _ := Open(path)
	if got := readAll(t, r, 64); !equalPieces(got, []piece{{data: out}}) || r.Truncated() {
		t.Fatalf("uncut log with marker-like lines read as %s (truncated %v)", describe(got), r.Truncated())
	}
	r.Close()
	// Cut: the head and tail keep theirs as output; the real marker is
	// the one where the head ends.
	for len(out) < 20000 {
		more := fmt.Sprintf("more %d\n", len(out)) + fake(len(out))
		w.Write([]byte(more))
		out += more
	}
	lines, truncated, err := Tail(path, 0)
	if err != nil || !truncated {
		t.Fatalf("Tail: %v, truncated %v", err, truncated)
	}
	notes := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "[watchdog: ") && strings.HasSuffix(l, "(--log-max 4KiB)]") && !strings.Contains(l, "after its first") {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("%d drop notes in %d lines, want 1", notes, len(lines))
	}
	if !slices.Contains(lines, strings.TrimSuffix(fake(7), "\n")) {
		t.Errorf("a marker-like line in the head was lost")
	}
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if got, want := lines[len(lines)-4:], outLines[len(outLines)-4:]; !slices.Equal(got, want) {
		t.Errorf("the tail ends %q, want %q", got, want)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.log")
	w, _ := Create(small, MinMax)
	w.Write([]byte("one\ntwo\nthree\nno newline"))
	w.Close()
	for n, want := range map[int][]string{
		0: {"one", "two", "three", "no newline"},
		2: {"three", "no newline"},
		9: {"one", "two", "three", "no newline"},
	} {
		lines, truncated, err := Tail(small, n)
		if err != nil || truncated || !slices.Equal(lines, want) {
			t.Errorf("Tail(%d) = %q, %v, %v; want %q", n, lines, truncated, err, want)
		}
	}
	empty := filepath.Join(dir, "empty.log")
	w, _ = Create(empty, MinMax)
	w.Close()
	if lines, truncated, err := Tail(empty, 5); err != nil || truncated || len(lines) != 0 || lines == nil {
		t.Errorf("Tail of an empty log = %q, %v, %v", lines, truncated, err)
	}
	// A cut log: the note is a line of its own, where the drop was.
	cut := filepath.Join(dir, "cut.log")
	w, _ = Create(cut, MinMax)
	var all []string
	for i := 0; i < 2000; i++ {
		all = append(all, fmt.Sprintf("line %04d", i))
	}
	w.Write([]byte(strings.Join(all, "\n") + "\n"))
	dropped := w.Dropped()
	w.Close()
	lines, truncated, err := Tail(cut, 0)
	if err != nil || !truncated {
		t.Fatalf("Tail: %v, truncated %v", err, truncated)
	}
	note := DropNote(dropped, "4KiB")
	i := slices.Index(lines, note)
	if i < 0 {
		t.Fatalf("no %q in %q", note, lines)
	}
	if !slices.Equal(lines[:i], all[:i]) || !slices.Equal(lines[i+1:], all[len(all)-(len(lines)-i-1):]) {
		t.Fatalf("lines around the note are not the head and the tail:\n%q", lines)
	}
	if int64(len(strings.Join(all[i:len(all)-(len(lines)-i-1)], "\n"))+1) != dropped {
		t.Errorf("the note's count %d is not the lines missing", dropped)
	}
	last3, _, _ := Tail(cut, 3)
	if !slices.Equal(last3, all[len(all)-3:]) {
		t.Errorf("Tail(3) = %q", last3)
	}
	if _, _, err := Tail(filepath.Join(dir, "missing.log"), 0); !os.IsNotExist(err) {
		t.Errorf("missing log: %v", err)
	}
}

// Lines splits at newlines, puts notes on lines of their own and hands
// on an endless line in pieces.
func TestLines(t *testing.T) {
	var got []string
	emit := func(b []byte) { got = append(got, string(b)) }
	var l Lines
	l.Feed([]byte("a\nb"), emit)
	l.Feed([]byte("c\n\nd"), emit)
	l.Note("[note]", emit)
	l.Feed([]byte("e"), emit)
	l.Flush(emit)
	if want := []string{"a", "bc", "", "d", "[note]", "e"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = nil
	l.Feed(bytes.Repeat([]byte("x"), MaxLine*2+5), emit)
	l.Flush(emit)
	if len(got) != 3 || len(got[0]) != MaxLine || len(got[2]) != 5 {
		t.Fatalf("long line in %d pieces", len(got))
	}
}

// The reader moves to the file the first cut renames over the log, also
// when it has read nothing yet, and a log removed under it ends its
// reading without error.
func TestReaderRemovedLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	w, _ := Create(path, MinMax)
	w.Write([]byte("hello\n"))
	r, _ := Open(path)
	defer r.Close()
	os.Remove(path)
	got := readAll(t, r, 64)
	if !equalPieces(got, []piece{{data: "hello\n"}}) {
		t.Fatalf("got %s", describe(got))
	}
	w.Close()
}

// A cut between a reader's reading of the marker and of the bytes after
// it: the reader notices the marker changed, reads again, and returns the
// drop and the right bytes, not those that moved under it.
func TestCutBetweenReads(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "t.log")
		w, _ := Create(path, MinMax)
		w.inPlace = inPlace
		out := stream(1<<16, true, 17)
		at := 0
		write := func(n int) { w.Write(out[at : at+n]); at += n }
		for w.Dropped() == 0 {
			write(100)
		}
		r, _ := Open(path)
		f := &follower{r: r, buf: make([]byte, 50)}
		written := func() []byte { return out[:at] }
		f.drain(t, written) // now in the tail, past the marker's drop
		drops := f.drops
		write(10)
		cuts := 0
		testHookRead = func() {
			if cuts == 0 {
				before := w.Dropped()
				write(int(MinMax)) // one cut, at least
				if w.Dropped() == before {
					t.Fatal("no cut")
				}
			}
			cuts++
		}
		f.drain(t, written)
		testHookRead = nil
		if cuts < 2 || f.pos != int64(at) || f.drops != drops+1 {
			t.Fatalf("in place %v: %d marker reads, at %d of %d, %d drops after %d", inPlace, cuts, f.pos, at, f.drops, drops)
		}
		r.Close()
		w.Close()
	}
}

// The log replaced by another file while a reader follows it (a file
// renamed over its name, by hand or a rotation): the reader stays
// with the file its writer goes on writing. It used to move to the new
// file and return its bytes from the old offset, mid-line, and never the
// writer's later output.
func TestReaderReplacedLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.log")
	w, _ := Create(path, DefaultMax)
	defer w.Close()
	w.Write([]byte("line 0\nline 1\n"))
	r, _ := Open(path)
	defer r.Close()
	f := &follower{r: r, buf: make([]byte, 64)}
	var out []byte
	written := func() []byte { return out }
	out = append(out, "line 0\nline 1\n"...)
	f.drain(t, written)
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte(strings.Repeat("SOMETHING ELSE ENTIRELY\n", 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil { // the log now has no name
		t.Fatal(err)
	}
	for i := 2; i < 5; i++ {
		line := fmt.Sprintf("line %d\n", i)
		w.Write([]byte(line))
		out = append(out, line...)
		f.drain(t, written)
	}
	if f.pos != int64(len(out)) {
		t.Fatalf("read %d of %d bytes", f.pos, len(out))
	}
}
