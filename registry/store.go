package registry

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/watchdog-run/watchdog/internal/random"
	"github.com/watchdog-run/watchdog/supervise"
)

// DefaultPath is the registry path used when nothing else is given,
// relative to the working directory (the earlier tool's location).
const DefaultPath = ".claude/process_registry.json"

// MaxSize bounds how much of a registry file is read. A larger file is
// refused rather than loaded: no registry this tool writes comes near it.
const MaxSize = 64 << 20

// Store is a registry file on disk with its lock.
type Store struct {
	// Path is the registry file.
	Path string
	// LockPath is the sidecar flock file.
	LockPath string
	// Warn receives warnings: a corrupt registry moved aside, history
	// lines skipped, old tasks that could not be archived. When it is nil
	// they are printed to os.Stderr as "watchdog: warning: <msg>", never
	// dropped: a quarantine must not go unreported.
	Warn func(msg string)
	// Archive moves old finished tasks to the history file on every Update
	// that changes something (see KeepFinished). Open turns it on.
	Archive bool

	syncOnce   sync.Once
	syncNeeded bool
}

// PermError is returned when the registry's location is unsafe to use.
type PermError struct {
	Path   string
	Reason string
	Hint   string
}

// Error names the path as human output shows values (supervise.Escape): a
// directory name must not write to the terminal.
func (e *PermError) Error() string {
	return fmt.Sprintf("registry %s: %s", supervise.Escape(e.Path), e.Reason)
}

// Open checks that path is safe to use as a registry and creates its
// directory (0700) if needed. It does not read the file.
func Open(path string) (*Store, error) { return open(path, true) }

// OpenForReading is Open for commands that only read: a missing directory
// is not created (it reads as an empty registry).
func OpenForReading(path string) (*Store, error) { return open(path, false) }

func open(path string, create bool) (*Store, error) {
	if path == "" {
		return nil, errors.New("no registry to use: HOME and XDG_STATE_HOME are not set (or not absolute), and no .claude/ is above the working directory; name one with --registry or WATCHDOG_REGISTRY")
	}
	path = filepath.Clean(path)
	dir := filepath.Dir(path)
	if err := checkDir(dir, create); err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	lock := strings.TrimSuffix(base, ".json") + ".lock"
	if lock == base {
		lock = base + ".lock"
	}
	s := &Store{Path: path, LockPath: filepath.Join(dir, lock), Archive: true}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := checkFile(path, fi); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func checkDir(dir string, create bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create registry directory: %w", err)
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &PermError{Path: dir, Reason: "not a directory"}
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return &PermError{Path: dir,
			Reason: fmt.Sprintf("directory is group- or world-writable (%04o) without the sticky bit; anyone could replace the registry", fi.Mode().Perm()),
			Hint:   fmt.Sprintf("chmod go-w %s, or choose another place with --registry", supervise.Escape(dir))}
	}
	return nil
}

func checkFile(path string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &PermError{Path: path, Reason: "is a symlink; refusing to follow it",
			Hint: "point --registry at the real file"}
	}
	if !fi.Mode().IsRegular() {
		return notRegular(path, fi.Mode())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return checkOwner(path, st)
	}
	return nil
}

// notRegular is the error for something at path that is not a regular
// file: a FIFO, a socket, a device or a directory.
func notRegular(path string, m fs.FileMode) *PermError {
	what := ""
	switch m.Type() {
	case fs.ModeNamedPipe:
		what = " (a named pipe)"
	case fs.ModeSocket:
		what = " (a socket)"
	case fs.ModeDevice | fs.ModeCharDevice:
		what = " (a character device)"
	case fs.ModeDevice:
		what = " (a block device)"
	case fs.ModeDir:
		what = " (a directory)"
	}
	return &PermError{Path: path, Reason: "not a regular file" + what,
		Hint: "move it aside; the watchdog reads and writes only regular files there"}
}

// openFile opens path with flags plus O_NONBLOCK, O_NOCTTY and O_CLOEXEC,
// fills st from its fstat, and refuses anything but a regular file before
// a byte is read or written. O_NONBLOCK is what keeps a FIFO found at the
// path from hanging the open (opening one for reading otherwise waits for
// a writer, for writing waits for a reader); on a regular file it changes
// nothing. O_NOCTTY keeps a terminal found there from becoming ours. Pass
// O_NOFOLLOW for paths whose symlinks must not be followed; ELOOP is then
// returned as it is, for the caller to explain.
func openFile(path string, flags int, perm uint32, st *syscall.Stat_t) (int, error) {
	fd, err := openRetry(path, flags|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, perm)
	switch err {
	case nil:
	case syscall.ENXIO, syscall.ENODEV, syscall.EISDIR:
		// A FIFO without a reader opened for writing, a socket, a device
		// without a driver, a directory opened for writing.
		m := fs.FileMode(0)
		if fi, err := os.Lstat(path); err == nil {
			m = fi.Mode()
		}
		return -1, notRegular(path, m)
	default:
		return -1, err
	}
	if err := fstat(fd, st); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return -1, notRegular(path, statType(st))
	}
	return fd, nil
}

// statType is the fs.FileMode type bits of st.
func statType(st *syscall.Stat_t) fs.FileMode {
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	}
	return 0
}

func checkOwner(path string, st *syscall.Stat_t) error {
	if int(st.Uid) != os.Geteuid() {
		return &PermError{Path: path,
			Reason: fmt.Sprintf("owned by uid %d, not by you (uid %d)", st.Uid, os.Geteuid()),
			Hint:   "use your own registry with --registry or WATCHDOG_REGISTRY"}
	}
	return nil
}

// Read reads the registry without locking (renames make every state a
// reader can see a complete one) and without changing anything on disk: it
// creates, writes and renames nothing, so it is the read for commands that
// only look (a census, a dry run) and works on a Store from OpenForReading
// whose directory does not exist (an empty registry). A file that does not
// parse is an error wrapping ErrCorrupt that names the file; it is left as
// it is.
func (s *Store) Read() (*Registry, error) {
	data, err := s.read()
	if err != nil {
		return nil, err
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", s.Path, err)
	}
	return r, nil
}

// Load is Read for commands that write the registry anyway: a file that
// does not parse is quarantined (moved aside under the lock, byte for
// byte, to PATH.corrupt-<time>, with a warning through Warn) and an empty
// registry returned. A command that only reads uses Read.
func (s *Store) Load() (*Registry, error) {
	data, err := s.read()
	if err != nil {
		return nil, err
	}
	r, err := Parse(data)
	if err == nil {
		return r, nil
	}
	var out *Registry
	err = s.Update(func(reg *Registry) error { out = reg; return nil })
	return out, err
}

// Update runs one read-modify-write: lock, read, fn, write, unlock. If fn
// returns an error nothing is written and the error is returned. If fn
// changes nothing, nothing is written.
func (s *Store) Update(fn func(*Registry) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	data, release, err := s.readLocked()
	if err != nil {
		return err
	}
	defer release()
	r, perr := Parse(data)
	if perr != nil {
		if err := s.quarantine(perr); err != nil {
			return err
		}
		r = newRegistry()
	}
	if err := fn(r); err != nil {
		return err
	}
	if s.Archive && r.changed {
		if err := s.archiveOld(r); err != nil {
			// The tasks stay in the registry; the next update tries again.
			s.warn(fmt.Sprintf("could not move old finished tasks to the history: %v", err))
		}
	}
	if !r.changed {
		return nil
	}
	out, err := r.Encode()
	if err != nil {
		return err
	}
	return s.write(out)
}

// lock takes the registry's lock: an exclusive flock on the lock file.
//
// The flock is on the inode, and the lock file can be removed while it is
// held (a tmp cleaner, git clean). The writers already waiting on the old
// inode would then get it one after another while a writer that came after
// the removal locks the new file the path names, and two read-modify-writes
// would run at once. So a lock counts only if, once it is taken, the path
// still names the locked inode; otherwise it is dropped and taken again on
// what the path names now. (The holder at the time of the removal and the
// first writer after it are kept apart by the flock on the registry file
// itself, see readLocked.)
func (s *Store) lock() (func(), error) {
	for {
		var held syscall.Stat_t
		fd, err := openFile(s.LockPath, syscall.O_RDWR|syscall.O_CREAT|syscall.O_NOFOLLOW, 0o600, &held)
		if err != nil {
			var pe *PermError
			switch {
			case err == syscall.ELOOP:
				return nil, &PermError{Path: s.LockPath, Reason: "lock file is a symlink; refusing to follow it",
					Hint: "remove the symlink"}
			case errors.As(err, &pe):
				return nil, err
			}
			return nil, fmt.Errorf("open registry lock: %w", err)
		}
		err = checkOwner(s.LockPath, &held)
		if err == nil {
			err = flock(fd)
			if err != nil {
				err = fmt.Errorf("lock registry: %w", err)
			}
		}
		if err != nil {
			syscall.Close(fd)
			return nil, err
		}
		same, err := names(s.LockPath, &held)
		if same {
			return func() { syscall.Close(fd) }, nil // closing releases the flock
		}
		syscall.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("lock registry: %w", err)
		}
		// Removed or replaced while we waited: lock what is there now.
	}
}

// names reports whether path (not followed) is still the file st describes.
// A missing path is not an error: it names nothing.
func names(path string, st *syscall.Stat_t) (bool, error) {
	var now syscall.Stat_t
	err := syscall.Lstat(path, &now)
	if err == syscall.ENOENT {
		return false, nil
	}
	return err == nil && now.Dev == st.Dev && now.Ino == st.Ino, err
}

func flock(fd int) error {
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

// read returns the registry's bytes; nothing when it does not exist.
func (s *Store) read() ([]byte, error) {
	var st syscall.Stat_t
	fd, err := s.openRegistry(&st)
	if err != nil || fd < 0 {
		return nil, err
	}
	defer syscall.Close(fd)
	return s.readAll(fd, &st)
}

// readLocked is read for Update, under the lock file's flock: it also
// holds an flock on the registry file it read until release is called,
// after the write. Writers replace that file by rename, so a writer that
// waited for it finds another file at the path and locks that one instead.
// This second lock matters when the lock file was removed while held: the
// holder and a writer that created a new lock file after the removal both
// hold "the" lock, but not the same registry file. A registry that does
// not exist yet has no file to lock; its directory is locked instead,
// until the first write has created it. Where a read-only descriptor
// cannot be flocked (NFS emulates flock with fcntl locks, which need a
// writable one for an exclusive lock) the lock file's flock is all there
// is.
func (s *Store) readLocked() (data []byte, release func(), err error) {
	for {
		var st syscall.Stat_t
		fd, err := s.openRegistry(&st)
		if err != nil {
			return nil, nil, err
		}
		if fd < 0 {
			dfd := lockDir(filepath.Dir(s.Path))
			if dfd < 0 {
				return nil, func() {}, nil
			}
			if err := syscall.Lstat(s.Path, &st); err == syscall.ENOENT {
				return nil, func() { syscall.Close(dfd) }, nil
			}
			syscall.Close(dfd)
			continue // created while we waited: lock the file
		}
		if flock(fd) == nil {
			if same, err := names(s.Path, &st); !same {
				syscall.Close(fd)
				if err != nil {
					return nil, nil, fmt.Errorf("lock registry: %w", err)
				}
				continue // replaced while we waited: read the new one
			}
		}
		data, err := s.readAll(fd, &st)
		if err != nil {
			syscall.Close(fd)
			return nil, nil, err
		}
		return data, func() { syscall.Close(fd) }, nil
	}
}

// lockDir flocks the directory dir and returns its descriptor; -1 if it
// cannot (then there is no second lock, see readLocked).
func lockDir(dir string) int {
	fd, err := openRetry(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return -1
	}
	if flock(fd) != nil {
		syscall.Close(fd)
		return -1
	}
	return fd
}

// openRegistry opens the registry for reading and fills st; fd -1 when
// there is no registry.
func (s *Store) openRegistry(st *syscall.Stat_t) (int, error) {
	fd, err := openFile(s.Path, syscall.O_RDONLY|syscall.O_NOFOLLOW, 0, st)
	var pe *PermError
	switch {
	case err == syscall.ENOENT:
		return -1, nil
	case err == syscall.ELOOP:
		return -1, &PermError{Path: s.Path, Reason: "is a symlink; refusing to follow it",
			Hint: "point --registry at the real file"}
	case errors.As(err, &pe):
		return -1, err
	case err != nil:
		return -1, fmt.Errorf("open registry: %w", err)
	}
	if err := checkOwner(s.Path, st); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// readAll reads the registry's bytes from fd, whose fstat is st.
func (s *Store) readAll(fd int, st *syscall.Stat_t) ([]byte, error) {
	if st.Size > MaxSize {
		return nil, &PermError{Path: s.Path,
			Reason: fmt.Sprintf("is %d bytes, more than the %d this tool reads", st.Size, MaxSize),
			Hint:   "move it aside; watchdog cleanup keeps registries small"}
	}
	data, err := readFD(fd, st.Size, MaxSize)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, &PermError{Path: s.Path, Reason: "grew past the size this tool reads"}
	case err != nil:
		return nil, fmt.Errorf("read registry: %w", err)
	}
	return data, nil
}

// quarantine moves a registry that does not parse aside, byte for byte.
func (s *Store) quarantine(cause error) error {
	aside := s.Path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(s.Path, aside); err != nil {
		return fmt.Errorf("registry %s does not parse (%v) and could not be moved aside: %w", s.Path, cause, err)
	}
	s.warn(fmt.Sprintf("registry %s does not parse (%v); moved it to %s and started an empty one", s.Path, cause, aside))
	return nil
}

// warn reports msg to Warn, or to standard error when Warn is nil.
func (s *Store) warn(msg string) {
	if s.Warn != nil {
		s.Warn(msg)
		return
	}
	fmt.Fprintf(os.Stderr, "watchdog: warning: %s\n", msg)
}

// write replaces the registry atomically.
func (s *Store) write(data []byte) error { return s.replaceFile(s.Path, data) }

// replaceFile replaces path atomically: temp file, fsync where the
// filesystem needs it (needSync), rename.
func (s *Store) replaceFile(path string, data []byte) error {
	// The writer's pid is in the name, so a temporary file left by a writer
	// that died mid-write can be recognised and removed (RemoveStaleTemps).
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.tmp-%d-%s", filepath.Base(path), os.Getpid(), tempSuffix()))
	// O_EXCL|O_NOFOLLOW: whatever stands at the name, a planted symlink
	// included, makes the write fail instead of being followed.
	fd, err := openNoFollow(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write registry: temporary file %s: %w", tmp, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := faultWrite(data); err != nil {
		return fmt.Errorf("write registry %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write registry %s: %w", path, err)
	}
	if s.needSync() {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("write registry %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write registry %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write registry %s: %w", path, err)
	}
	ok = true
	return nil
}

// tempSuffix makes the random part of temporary file names (a variable so
// tests can predict it).
var tempSuffix = func() string {
	var b [6]byte
	random.Bytes(b[:])
	return hex.EncodeToString(b[:])
}

// FaultWrite, when set (tests only), is called before the registry's bytes
// are written; an error it returns is treated as a failed write.
var FaultWrite func(data []byte) error

func faultWrite(data []byte) error {
	if FaultWrite == nil {
		return nil
	}
	return FaultWrite(data)
}

// openNoFollow opens path without following a symlink there. It is for
// the temporary files, created with O_EXCL: every existing file is opened
// with openFile.
func openNoFollow(path string, flags int, perm uint32) (int, error) {
	return openRetry(path, flags|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
}

func openRetry(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := syscall.Open(path, flags, perm)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// RemoveStaleTemps removes temporary files of this registry whose writer
// is no longer alive (it died between creating and renaming them), and
// returns their names. Files of live writers are left alone.
func (s *Store) RemoveStaleTemps(alive func(pid int) bool) []string {
	dir := filepath.Dir(s.Path)
	// Temporary files of the registry and of its history (cleanup rewrites
	// the history the same way).
	prefixes := []string{"." + filepath.Base(s.Path) + ".tmp-", "." + filepath.Base(HistoryPath(s.Path)) + ".tmp-",
		"." + filepath.Base(HistoryPath(s.Path)) + ".1.tmp-"}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		var rest string
		ok := false
		for _, p := range prefixes {
			if rest, ok = strings.CutPrefix(name, p); ok {
				break
			}
		}
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		if os.Remove(filepath.Join(dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}
