package registry

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// IndexPath is the file listing every registry this user has used:
// $XDG_STATE_HOME/watchdog/registries, by default
// ~/.local/state/watchdog/registries. `sweep --all` reads it.
func IndexPath() string {
	dir := stateDir()
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "registries")
}

// Remember adds the registry's absolute path to the index if it is not
// there yet. Lines are appended with O_APPEND, which keeps concurrent
// writers' lines whole; duplicates are harmless and removed on reading.
func Remember(path string) error {
	idx := IndexPath()
	if idx == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	line := []byte(abs + "\n")
	b, err := readIndex(idx)
	var pe *PermError
	if errors.As(err, &pe) {
		return err
	}
	if err == nil && (bytes.HasPrefix(b, line) || bytes.Contains(b, append([]byte{'\n'}, line...))) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(idx), 0o700); err != nil {
		return err
	}
	var st syscall.Stat_t
	fd, err := openFile(idx, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT, 0o600, &st)
	if err != nil {
		return indexError(idx, err)
	}
	f := os.NewFile(uintptr(fd), idx)
	_, err = f.Write(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Known returns the registries in the index that still exist, without
// duplicates, in the order they were first used.
func Known() ([]string, error) {
	b, err := readIndex(IndexPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		p := sc.Text()
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		if _, err := os.Lstat(p); err == nil {
			out = append(out, p)
		}
	}
	return out, sc.Err()
}

// readIndex reads the index. Like every file of the registry it is opened
// without waiting (a FIFO there is refused, not waited on) and read only
// if it is a regular file; unlike them a symlink is followed, as it
// always was.
func readIndex(idx string) ([]byte, error) {
	var st syscall.Stat_t
	fd, err := openFile(idx, syscall.O_RDONLY, 0, &st)
	if err != nil {
		return nil, indexError(idx, err)
	}
	defer syscall.Close(fd)
	if st.Size > MaxIndexSize {
		return nil, &fs.PathError{Op: "read", Path: idx, Err: errTooLarge}
	}
	b, err := readFD(fd, st.Size, MaxIndexSize)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: idx, Err: err}
	}
	return b, nil
}

// MaxIndexSize bounds the index every exec reads: tens of thousands of
// registries' paths. A larger one is refused (exec then runs without
// adding to it), never read whole.
const MaxIndexSize = 4 << 20

func indexError(idx string, err error) error {
	var pe *PermError
	if errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: "open", Path: idx, Err: err}
}

// PruneIndex drops from the index the registries that no longer exist and
// repeated lines (test runs and removed checkouts leave many), and says how
// many lines went. The index is replaced atomically; a line another
// watchdog appends meanwhile lands in the old file, so whatever grew there
// after it was read is added again to the new one.
func PruneIndex() (dropped int, err error) {
	idx := IndexPath()
	if idx == "" {
		return 0, nil
	}
	var st syscall.Stat_t
	fd, err := openFile(idx, syscall.O_RDONLY, 0, &st)
	if errors.Is(err, syscall.ENOENT) {
		return 0, nil
	}
	if err != nil {
		return 0, indexError(idx, err)
	}
	defer syscall.Close(fd)
	b, err := readFD(fd, st.Size, 0)
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: idx, Err: err}
	}
	var keep bytes.Buffer
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		p := sc.Text()
		if p == "" || seen[p] || gone(p) {
			dropped++
			continue
		}
		seen[p] = true
		keep.WriteString(p + "\n")
	}
	if sc.Err() != nil || dropped == 0 {
		return 0, sc.Err()
	}
	if err := (&Store{Path: idx}).replaceFile(idx, keep.Bytes()); err != nil {
		return 0, err
	}
	late, _ := readFD(fd, 0, 0) // appended to the old file since
	for _, p := range strings.Split(string(late), "\n") {
		if p != "" {
			if err := Remember(p); err != nil {
				return dropped, err
			}
		}
	}
	return dropped, nil
}

// gone: nothing stands at path. A registry that cannot be looked at just
// now (a directory without permission, a filesystem not mounted yet on a
// path whose parent exists) keeps its line.
func gone(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Select is the registries a command reads: current if it exists and, with
// all, every other one of known (the index, Known) — each file once.
func Select(current string, known []string, all bool) []string {
	paths := []string{}
	if _, err := os.Lstat(current); err == nil {
		paths = append(paths, current)
	}
	if !all {
		return paths
	}
	for _, p := range known {
		seen := false
		for _, q := range paths {
			seen = seen || samePath(p, q)
		}
		if !seen && !samePath(p, current) {
			paths = append(paths, p) // each file once, however the index spells it
		}
	}
	return paths
}

// samePath reports whether two paths name the same existing file.
func samePath(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
