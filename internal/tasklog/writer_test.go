package tasklog

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stream makes n bytes of output: letters only (lines false), or lines of
// 1 to 200 bytes.
func stream(n int, lines bool, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	next := 1 + rng.IntN(200)
	for i := range b {
		b[i] = 'a' + byte(rng.IntN(26))
		if lines {
			if next--; next == 0 {
				b[i] = '\n'
				next = 1 + rng.IntN(200)
			}
		}
	}
	return b
}

// chunks cuts n bytes into odd sizes, a few of them larger than the cap.
func chunks(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 2))
	var sizes []int
	for n > 0 {
		k := 1 + rng.IntN(1500)
		switch rng.IntN(40) {
		case 0:
			k = 5000 + rng.IntN(20000) // more than the whole cap at once
		case 1:
			k = 1
		}
		k = min(k, n)
		sizes = append(sizes, k)
		n -= k
	}
	return sizes
}

// The marker as the README shows it, read here without the package's
// parser.
var markerRE = regexp.MustCompile(`^\[watchdog: (\d+) bytes of output dropped here, after its first (\d+) \(--log-max ([^)]+)\)\] *\n`)

type parsed struct {
	head, dropped int64
	text, width   int
	max           string
	tail          []byte
}

// parseLog splits a cut log file into head, marker and tail; ok false if
// it has no genuine marker.
func parseLog(t *testing.T, b []byte) (parsed, bool) {
	t.Helper()
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("\n[watchdog: "))
		if j < 0 {
			return parsed{}, false
		}
		q := i + j + 1
		if m := markerRE.FindSubmatch(b[q:]); m != nil {
			d, _ := strconv.ParseInt(string(m[1]), 10, 64)
			h, _ := strconv.ParseInt(string(m[2]), 10, 64)
			if h == int64(q) || h == int64(q-1) {
				return parsed{head: h, dropped: d, text: q, width: len(m[0]), max: string(m[3]), tail: b[q+len(m[0]):]}, true
			}
		}
		i = q
	}
}

// checkLog checks the log file against the output written so far.
func checkLog(t *testing.T, path string, out []byte, max int64, w *Writer, lines bool) parsed {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(out)) <= max {
		if !bytes.Equal(b, out) {
			t.Fatalf("below the cap the log is not the output (%d bytes, want %d)", len(b), len(out))
		}
		if w.Dropped() != 0 {
			t.Fatalf("Dropped = %d below the cap", w.Dropped())
		}
		return parsed{}
	}
	p, ok := parseLog(t, b)
	if !ok {
		t.Fatalf("after %d bytes (cap %d) the log has no marker: %d bytes", len(out), max, len(b))
	}
	window := min(max/16, 64<<10)
	lead := p.text - int(p.head)
	switch {
	case int64(len(b)) > max+int64(lead+p.width):
		t.Fatalf("log is %d bytes: more than the cap %d and its marker (%d)", len(b), max, lead+p.width)
	case p.max != FormatMax(max):
		t.Fatalf("marker says --log-max %s, want %s", p.max, FormatMax(max))
	case p.head > max/2 || p.head < max/2-window:
		t.Fatalf("head is %d bytes, want %d or up to %d fewer", p.head, max/2, window)
	case !bytes.Equal(b[:p.head], out[:p.head]):
		t.Fatalf("the head is not the output's first %d bytes", p.head)
	case (lead == 1) != (out[p.head-1] != '\n'):
		t.Fatalf("newline inserted before the marker: %v; the head ends with %q", lead == 1, out[p.head-1])
	case p.head+p.dropped+int64(len(p.tail)) != int64(len(out)):
		t.Fatalf("head %d + dropped %d + tail %d != output %d: the marker's count is wrong", p.head, p.dropped, len(p.tail), len(out))
	case !bytes.Equal(p.tail, out[len(out)-len(p.tail):]):
		t.Fatalf("the tail (%d bytes) is not the output's newest bytes", len(p.tail))
	case int64(len(p.tail)) < max/8-window:
		t.Fatalf("the tail keeps %d bytes, fewer than max/8 less the window (%d)", len(p.tail), max/8-window)
	case w.Dropped() != p.dropped:
		t.Fatalf("Dropped = %d, the marker says %d", w.Dropped(), p.dropped)
	}
	if lines {
		// Lines are shorter than the window: both cuts fall between lines.
		if out[p.head-1] != '\n' {
			t.Fatalf("the head does not end a line")
		}
		if out[p.head+p.dropped-1] != '\n' {
			t.Fatalf("the tail does not start a line")
		}
	}
	return p
}

// TestCapKeepsHeadAndTail writes 1 MB through a 4 KiB cap in odd chunks
// (some larger than the cap) and checks the file after every write: never
// above the cap and its marker, the head the output's first bytes, the tail
// its newest, the marker's count exact. In place and aside (the first cut).
func TestCapKeepsHeadAndTail(t *testing.T) {
	for _, tc := range []struct {
		name           string
		lines, inPlace bool
		max            int64
	}{
		{"bytes", false, false, 4 << 10},
		{"lines", true, false, 4 << 10},
		{"bytes in place", false, true, 4 << 10},
		{"lines in place", true, true, 4 << 10},
		{"odd cap", true, false, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "t.log")
			w, err := Create(path, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			w.inPlace = tc.inPlace
			defer w.Close()
			out := stream(1<<20, tc.lines, 7)
			at := 0
			var last parsed
			for _, k := range chunks(len(out), 3) {
				if n, err := w.Write(out[at : at+k]); n != k || err != nil {
					t.Fatalf("Write(%d bytes) = %d, %v", k, n, err)
				}
				at += k
				last = checkLog(t, path, out[:at], tc.max, w, tc.lines)
			}
			if !tc.lines && last.head != tc.max/2 {
				t.Errorf("without newlines the head is exactly max/2: %d", last.head)
			}
			// A reader gives the same: the head, the drop, the tail.
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := readAll(t, r, 100)
			want := []piece{{data: string(out[:last.head])}, {dropped: last.dropped}, {data: string(last.tail)}}
			if !equalPieces(got, want) {
				t.Fatalf("reader: %s, want %s", describe(got), describe(want))
			}
			if !r.Truncated() || r.Max() != FormatMax(tc.max) {
				t.Errorf("Truncated %v, Max %q", r.Truncated(), r.Max())
			}
		})
	}
}

// A write that fits exactly is not cut; one byte more is.
func TestCapBoundary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	w, err := Create(path, MinMax)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	out := stream(int(MinMax)+1, false, 1)
	w.Write(out[:MinMax])
	checkLog(t, path, out[:MinMax], MinMax, w, false)
	w.Write(out[MinMax:])
	p := checkLog(t, path, out, MinMax, w, false)
	if p.dropped == 0 {
		t.Fatal("nothing dropped one byte over the cap")
	}
}

func TestCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.log")
	os.WriteFile(existing, []byte("keep me"), 0o600)
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("secret"), 0o600)
	link := filepath.Join(dir, "link.log")
	os.Symlink(target, link)
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		create  func() (*Writer, error)
		message string
	}{
		{"existing", func() (*Writer, error) { return Create(existing, DefaultMax) }, "already exists"},
		{"symlink", func() (*Writer, error) { return Create(link, DefaultMax) }, "already exists"},
		{"fifo", func() (*Writer, error) { return Create(fifo, DefaultMax) }, "already exists"},
		{"symlink replaced", func() (*Writer, error) { return CreateAt(link, DefaultMax, true) }, "is a symlink"},
		{"fifo replaced", func() (*Writer, error) { return CreateAt(fifo, DefaultMax, true) }, "is a FIFO"},
		{"directory replaced", func() (*Writer, error) { return CreateAt(dir, DefaultMax, true) }, "a directory"},
		{"tiny cap", func() (*Writer, error) { return Create(filepath.Join(dir, "new.log"), 100) }, "too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := noBlock(t, tc.create)
			if err == nil {
				w.Close()
				t.Fatalf("created a log")
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("error %q does not say %q", err, tc.message)
			}
		})
	}
	for f, want := range map[string]string{existing: "keep me", target: "secret"} {
		if b, _ := os.ReadFile(f); string(b) != want {
			t.Errorf("%s was changed: %q", f, b)
		}
	}
	// A FIFO with a reader: opened at once, then refused.
	rd, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if _, err := noBlock(t, func() (*Writer, error) { return CreateAt(fifo, DefaultMax, true) }); err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("FIFO with a reader: %v", err)
	}
	// A reader refuses a FIFO too, without waiting for a writer.
	if _, err := noBlock(t, func() (*Writer, error) { _, err := Open(fifo); return nil, err }); err == nil {
		t.Errorf("Open read a FIFO")
	}
	// The user's own file is emptied and used.
	w, err := CreateAt(existing, DefaultMax, true)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("new\n"))
	w.Close()
	if b, _ := os.ReadFile(existing); string(b) != "new\n" {
		t.Errorf("replaced log holds %q", b)
	}
}

// noBlock runs create, failing the test if it blocks (a FIFO opened
// without O_NONBLOCK would wait for its other end forever).
func noBlock(t *testing.T, create func() (*Writer, error)) (*Writer, error) {
	t.Helper()
	type result struct {
		w   *Writer
		err error
	}
	done := make(chan result, 1)
	go func() { w, err := create(); done <- result{w, err} }()
	select {
	case r := <-done:
		return r.w, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("blocked opening the log")
		return nil, nil
	}
}

func TestCreateDirectory(t *testing.T) {
	base := t.TempDir()
	path := PathFor(filepath.Join(base, ".claude", "process_registry.json"), "T1", "run1")
	if want := filepath.Join(base, ".claude", "watchdog-logs", "T1.run1.log"); path != want {
		t.Fatalf("PathFor = %s, want %s", path, want)
	}
	w, err := Create(path, DefaultMax)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	for p, mode := range map[string]fs.FileMode{filepath.Dir(path): 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, want mode %o", p, fi.Mode(), mode)
		}
	}
	// A name planted in the directory is never followed.
	os.Remove(path)
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.Symlink(target, path)
	if _, err := Create(path, DefaultMax); err == nil {
		t.Errorf("created a log through a symlink")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Errorf("the symlink's target was created")
	}
}

func TestFormatMax(t *testing.T) {
	for n, want := range map[int64]string{64 << 20: "64MiB", 4 << 10: "4KiB", 1 << 30: "1GiB", 5000: "5000", 1536 << 10: "1536KiB"} {
		if got := FormatMax(n); got != want {
			t.Errorf("FormatMax(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestMarkerRoundTrip(t *testing.T) {
	for _, busy := range []bool{false, true} {
		w := markerWidth(2048, "4KiB")
		for _, d := range []int64{1, 999, 1 << 40, 1<<63 - 1} {
			line := markerLine(d, 2048, "4KiB", busy, w)
			if int64(len(line)) != w {
				t.Fatalf("line of %d bytes, width %d", len(line), w)
			}
			m, ok := parseMarker(append(line, "rest"...))
			if !ok || m.dropped != d || m.head != 2048 || m.busy != busy || m.max != "4KiB" || m.width != w {
				t.Fatalf("parse(%q) = %+v %v", line, m, ok)
			}
		}
	}
	for _, bad := range []string{
		"[watchdog: 5 bytes of output dropped here]\n",
		"[watchdog: x bytes of output dropped here, after its first 10 (--log-max 4KiB)]\n",
		"[watchdog: 5 bytes of output dropped here, after its first 10 (--log-max 4KiB)]", // no newline
		"[watchdog: 0 bytes of output dropped here, after its first 10 (--log-max 4KiB)]\n",
		"[watchdog: 99999999999999999999 bytes of output dropped here, after its first 10 (--log-max 4KiB)]\n",
	} {
		if m, ok := parseMarker([]byte(bad)); ok {
			t.Errorf("parsed %q as %+v", bad, m)
		}
	}
}

// TestCreateRefusesPlantedDirectory: the default logs' directory is
// refused when it is a symlink, another user's, or writable by others.
func TestCreateRefusesPlantedDirectory(t *testing.T) {
	base := t.TempDir()
	elsewhere := t.TempDir()
	link := filepath.Join(base, "link")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{link: "symlink", open: "writable by others"}
	if os.Geteuid() == 0 {
		theirs := filepath.Join(base, "theirs")
		if err := os.Mkdir(theirs, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cases[theirs] = "another user"
	}
	for dir, want := range cases {
		w, err := Create(filepath.Join(dir, "T.run.log"), DefaultMax)
		if err == nil {
			w.Close()
			t.Errorf("Create in %s succeeded", dir)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Create in %s: %v; want it to say %q", dir, err, want)
		}
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("a log was made through the symlink: %v", entries)
	}
}

// Two runs given the same --log=FILE: the second is refused while the
// first writes it, before its cut and after (the cut's new file is
// claimed too), and may have it once the first closed it. Before, the
// second emptied the first's log and both wrote it at their own offsets.
func TestCreateRefusesALogBeingWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.log")
	first, err := CreateAt(path, MinMax, true)
	if err != nil {
		t.Fatal(err)
	}
	first.Write([]byte("first run\n"))
	second := func(when string) {
		t.Helper()
		if w, err := CreateAt(path, MinMax, true); err == nil {
			w.Close()
			t.Errorf("%s: a second writer got the log", when)
		} else if !strings.Contains(err.Error(), "being written by another run") {
			t.Errorf("%s: %v", when, err)
		}
	}
	second("before a cut")
	if b, _ := os.ReadFile(path); string(b) != "first run\n" {
		t.Fatalf("the refused writer changed the log: %q", b)
	}
	first.Write(bytes.Repeat([]byte("x\n"), int(MinMax))) // the first cut: a new file renamed over the path
	if first.Dropped() == 0 {
		t.Fatal("no cut")
	}
	second("after the first cut")
	first.Close()
	w, err := CreateAt(path, MinMax, true)
	if err != nil {
		t.Fatalf("after the first closed it: %v", err)
	}
	w.Close()
}
