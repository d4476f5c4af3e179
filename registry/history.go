package registry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The registry file holds the running tasks and the most recent finished
// ones. Older finished tasks move to a history file beside it, one JSON
// object per line, appended and never rewritten: every exec rewrites the
// registry file twice, so its size is what each run pays for, while the
// history can grow without slowing anyone down. Commands that show the
// past (list, check, stats, rehydrate) read both; cleanup trims both.
const (
	// KeepFinished is how many finished tasks the registry file keeps.
	KeepFinished = 50
	// ArchiveAt is the number of finished tasks past which the oldest are
	// moved to the history, down to KeepFinished: the move is paid once
	// every fifty runs, not on every run.
	ArchiveAt = 100
	// HistoryMax is the size at which the history is rotated: the current
	// file becomes HISTORY.1 (replacing an older one) and a new one starts.
	HistoryMax = 32 << 20
)

// HistoryLine is one line of the history file.
type HistoryLine struct {
	ID         string          `json:"id"`
	ArchivedAt string          `json:"archived_at"`
	Task       json.RawMessage `json:"task"`
}

// HistoryPath is the history file of the registry at path:
// process_registry.json → process_registry.history.jsonl.
func HistoryPath(path string) string {
	return strings.TrimSuffix(path, ".json") + ".history.jsonl"
}

// archiveOld moves the oldest finished tasks past KeepFinished to the
// history, when there are more than ArchiveAt. It runs under the lock,
// before the registry is written: if the append fails the tasks stay where
// they are, and if the process dies between the two writes a task is in
// both files, which readers resolve in the registry's favour. Nothing is
// lost either way.
func (s *Store) archiveOld(r *Registry) error {
	if r.Len() <= ArchiveAt {
		return nil // the common case looks at nothing
	}
	type fin struct {
		id string
		at time.Time
	}
	var f []fin
	for id, e := range r.entries {
		status, _, ok := r.Peek(id)
		if !ok || status == StatusRunning || status == "" {
			continue // running tasks and undecodable entries stay
		}
		var at time.Time
		if e.task != nil {
			at = e.task.Completed()
			if at.IsZero() {
				at = e.task.Started()
			}
		} else {
			if v, ok := topLevelString(e.raw, "completed_at"); ok {
				at = parseTime(v)
			}
			if v, ok := topLevelString(e.raw, "started_at"); ok && at.IsZero() {
				at = parseTime(v)
			}
		}
		f = append(f, fin{id, at})
	}
	if len(f) <= ArchiveAt {
		return nil
	}
	sort.Slice(f, func(i, j int) bool {
		if !f[i].at.Equal(f[j].at) {
			return f[i].at.Before(f[j].at)
		}
		return f[i].id < f[j].id
	})
	move := f[:len(f)-KeepFinished]
	now := FormatTime(time.Now())
	var buf bytes.Buffer
	for _, m := range move {
		raw, err := r.rawEntry(m.id)
		if err != nil {
			return err
		}
		line, err := json.Marshal(HistoryLine{ID: m.id, ArchivedAt: now, Task: raw})
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if err := s.appendHistory(buf.Bytes()); err != nil {
		return err
	}
	for _, m := range move {
		r.Delete(m.id)
	}
	return nil
}

// rawEntry is an entry's JSON as it will be written.
func (r *Registry) rawEntry(id string) (json.RawMessage, error) {
	e := r.entries[id]
	if !e.dirty {
		return e.raw, nil
	}
	return json.Marshal(e.task)
}

// appendHistory appends whole lines to the history in one write, rotating
// it first when it has reached HistoryMax.
func (s *Store) appendHistory(lines []byte) error {
	path := HistoryPath(s.Path)
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Size()+int64(len(lines)) > HistoryMax {
		if err := os.Rename(path, path+".1"); err != nil {
			return fmt.Errorf("rotate history %s: %w", path, err)
		}
	}
	f, size, err := openHistory(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if size > 0 {
		// A crash may have cut the last append short: start on a line of
		// our own, or the first task would be glued to the torn one.
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] != '\n' {
			lines = append([]byte{'\n'}, lines...)
		}
	}
	if err := faultWrite(lines); err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	if _, err := f.Write(lines); err != nil {
		// A short append leaves a torn last line, which readers skip; the
		// tasks stay in the registry, so nothing is lost.
		return fmt.Errorf("append history %s: %w", path, err)
	}
	// Always synced, unlike the registry's renames: an append is not a
	// replace-by-rename, so no filesystem orders it before the rewrite of
	// the registry that drops these tasks, and a crash between the two
	// could lose them. It happens once every fifty runs.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("append history %s: %w", path, err)
	}
	if size == 0 {
		// A new file: its name must be as durable as its content.
		if err := syncDir(filepath.Dir(path)); err != nil {
			return fmt.Errorf("append history %s: sync directory: %w", path, err)
		}
	}
	return nil
}

// syncDir fsyncs the directory dir. O_DIRECTORY: whatever else stands at
// the name (a FIFO) is refused instead of waited on. A directory that
// cannot be opened is not synced, as before.
func syncDir(dir string) error {
	fd, err := openRetry(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	return syscall.Fsync(fd)
}

// openHistory opens a history file (the current or the rotated one)
// without following a symlink and refuses anything but a regular file of
// ours; it returns the file and its size.
func openHistory(path string, flags int, perm uint32) (*os.File, int64, error) {
	var st syscall.Stat_t
	fd, err := openFile(path, flags|syscall.O_NOFOLLOW, perm, &st)
	var pe *PermError
	switch {
	case err == syscall.ELOOP:
		return nil, 0, &PermError{Path: path, Reason: "is a symlink; refusing to follow it", Hint: "remove the symlink"}
	case errors.As(err, &pe):
		return nil, 0, err
	case err != nil:
		return nil, 0, fmt.Errorf("open history %s: %w", path, err)
	}
	if err := checkOwner(path, &st); err != nil {
		syscall.Close(fd)
		return nil, 0, err
	}
	return os.NewFile(uintptr(fd), path), st.Size, nil
}

// LoadWithHistory is Load plus every task in the history that the registry
// does not hold: the whole record, for commands that show the past. The
// result is for reading only. A task id reused over time appears once, as
// its latest run. Lines that do not parse are skipped and counted in the
// warning; an unfinished last line (an append in progress, or one a crash
// cut short) is skipped silently. Like Load it quarantines a registry that
// does not parse; ReadWithHistory is the read-only one.
//
// No lock is needed: a move appends to the history before it rewrites the
// registry, and the registry is read first, so a reader sees a moved task
// in one file or both, never in neither.
func (s *Store) LoadWithHistory() (*Registry, error) {
	r, err := s.Load()
	if err != nil {
		return nil, err
	}
	return s.addHistory(r)
}

// ReadWithHistory is LoadWithHistory built on Read: it changes nothing on
// disk, and a registry that does not parse is an error wrapping
// ErrCorrupt. The history files are only read (a missing one is empty);
// lines that do not parse are skipped with a warning, as in
// LoadWithHistory.
func (s *Store) ReadWithHistory() (*Registry, error) {
	r, err := s.Read()
	if err != nil {
		return nil, err
	}
	return s.addHistory(r)
}

// addHistory adds the tasks of the history files (the rotated one first)
// that r does not hold.
func (s *Store) addHistory(r *Registry) (*Registry, error) {
	path := HistoryPath(s.Path)
	bad := 0
	for _, p := range []string{path + ".1", path} {
		n, err := r.readHistory(p)
		if err != nil {
			return nil, err
		}
		bad += n
	}
	if bad > 0 {
		s.warn(fmt.Sprintf("history %s: skipped %d line(s) that do not parse", path, bad))
	}
	return r, nil
}

// readHistory adds the history file's tasks to r (read-only use) and
// returns how many lines it skipped.
func (r *Registry) readHistory(path string) (int, error) {
	f, _, err := openHistory(path, syscall.O_RDONLY, 0)
	if errors.Is(err, syscall.ENOENT) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if r.history == nil {
		r.history = make(map[string]bool)
	}
	bad := 0
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return bad, nil // an unfinished last line, if any: not a line yet
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var h HistoryLine
			if json.Unmarshal(line, &h) != nil || h.ID == "" || len(h.Task) == 0 || h.Task[0] != '{' {
				bad++
			} else if _, inRegistry := r.entries[h.ID]; !inRegistry || r.history[h.ID] {
				r.entries[h.ID] = &entry{raw: h.Task}
				r.history[h.ID] = true
			}
		}
		if err != nil {
			return bad, fmt.Errorf("read history %s: %w", path, err)
		}
	}
}

// FilterHistory rewrites the history keeping only the lines keep accepts,
// under the registry's lock, atomically (temp file and rename). It returns
// how many lines were dropped. The rotated file is filtered too.
func (s *Store) FilterHistory(keep func(id string, t *Task) bool, dryRun bool) (int, error) {
	unlock, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	dropped := 0
	path := HistoryPath(s.Path)
	for _, p := range []string{path + ".1", path} {
		data, err := readHistoryFile(p)
		if err != nil {
			return dropped, err
		}
		if data == nil {
			continue
		}
		var out bytes.Buffer
		n := 0
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var h HistoryLine
			var t Task
			if json.Unmarshal(line, &h) == nil && json.Unmarshal(h.Task, &t) == nil && !keep(h.ID, &t) {
				n++
				continue
			}
			out.Write(line)
		}
		dropped += n
		if n == 0 || dryRun {
			continue
		}
		if err := s.replaceFile(p, out.Bytes()); err != nil {
			return dropped, err
		}
	}
	return dropped, nil
}

// readHistoryFile is the whole of a history file; nothing when it does
// not exist.
func readHistoryFile(path string) ([]byte, error) {
	f, _, err := openHistory(path, syscall.O_RDONLY, 0)
	if errors.Is(err, syscall.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
