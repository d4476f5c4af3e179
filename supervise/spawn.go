package supervise

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Environment variables every process of a task inherits.
const (
	EnvTaskID = "TASK_ID"         // the earlier tool's tag: the task id
	EnvRunID  = "WATCHDOG_RUN_ID" // unique per run: what identifies the tree
	// EnvSupervisor is "PID.STARTTICKS" of the supervisor, so sweep can tell
	// whether a tagged process still has one even if the registry never
	// recorded it (the supervisor died between fork and write).
	EnvSupervisor = "WATCHDOG_SUPERVISOR"
)

// Exit statuses for a command that cannot be run, as a shell reports them.
const (
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// StartError is a command that could not be started. Code is 127 when it was not
// found and 126 when it was found but could not be executed.
type StartError struct {
	Name string
	Err  error
	Code int
}

func (e *StartError) Error() string {
	return fmt.Sprintf("failed to run command %s: %s", Quote(e.Name), Strerror(e.Err))
}

func (e *StartError) Unwrap() error { return e.Err }

// Resolve finds a command as execvp(3) does: a name with a slash is used as
// it is; otherwise each PATH entry is tried (an empty PATH means
// /bin:/usr/bin), skipping entries where the file exists but cannot be
// executed. The result is 127 if nothing was found and 126 if only
// non-executable files were.
func Resolve(name string) (string, error) {
	if name == "" {
		return "", &StartError{Name: name, Err: syscall.ENOENT, Code: ExitNotFound}
	}
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", err.(*StartError)
		}
		return name, nil
	}
	path, ok := os.LookupEnv("PATH")
	if !ok {
		path = "/bin:/usr/bin"
	}
	var denied error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		cand := dir + "/" + name
		err := executable(cand)
		if err == nil {
			return cand, nil
		}
		if e := err.(*StartError); e.Code == ExitNotExecutable && denied == nil {
			denied = &StartError{Name: name, Err: e.Err, Code: e.Code}
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &StartError{Name: name, Err: syscall.ENOENT, Code: ExitNotFound}
}

func executable(path string) error {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return &StartError{Name: path, Err: err, Code: ExitNotFound}
		}
		return &StartError{Name: path, Err: err, Code: ExitNotExecutable}
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return &StartError{Name: path, Err: syscall.EACCES, Code: ExitNotExecutable}
	}
	if err := syscall.Access(path, 1 /* X_OK */); err != nil {
		return &StartError{Name: path, Err: err, Code: ExitNotExecutable}
	}
	return nil
}

// Env returns base with the task's tags set, replacing any inherited ones.
// supervisor is the EnvSupervisor value ("PID.STARTTICKS").
func Env(base []string, taskID, runID, supervisor string) []string {
	env := make([]string, 0, len(base)+3)
	for _, kv := range base {
		if strings.HasPrefix(kv, EnvTaskID+"=") || strings.HasPrefix(kv, EnvRunID+"=") || strings.HasPrefix(kv, EnvSupervisor+"=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, EnvTaskID+"="+taskID, EnvRunID+"="+runID, EnvSupervisor+"="+supervisor)
}

// RunTag is the environment entry that identifies a run's processes.
func RunTag(runID string) string { return EnvRunID + "=" + runID }

// Spec is a process to start.
type Spec struct {
	Path string   // resolved program path
	Argv []string // argv[0] included
	Env  []string
	// NewSession puts the process in a session (and process group) of its
	// own, without a controlling terminal. Otherwise it stays in the
	// caller's process group, as `timeout --foreground` does.
	NewSession bool
	// NewGroup puts the process in a new process group in the caller's
	// session (ignored with NewSession).
	NewGroup bool
	// CgroupFD, if above 0, is a cgroup v2 directory the process is
	// created in (Linux).
	CgroupFD int
	// Files are the process's stdin, stdout and stderr; nil: the caller's.
	Files []uintptr
}

// Process is a started process.
type Process struct {
	PID int
}

// Start starts the process with Files, or the caller's stdin, stdout and
// stderr. A
// file without a #! line that the kernel refuses (ENOEXEC) is run with
// /bin/sh, as execvp(3) does.
func Start(s Spec) (*Process, error) {
	files := s.Files
	if files == nil {
		files = []uintptr{0, 1, 2}
	}
	attr := &syscall.ProcAttr{
		Env:   s.Env,
		Files: files,
		Sys:   sysProcAttr(s),
	}
	pid, err := syscall.ForkExec(s.Path, s.Argv, attr)
	if err == syscall.ENOEXEC {
		argv := append([]string{"/bin/sh", s.Path}, s.Argv[1:]...)
		pid, err = syscall.ForkExec("/bin/sh", argv, attr)
	}
	if err != nil {
		code := ExitNotExecutable
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
			code = ExitNotFound
		}
		return nil, &StartError{Name: s.Argv[0], Err: err, Code: code}
	}
	return &Process{PID: pid}, nil
}

// Strerror renders an errno as C's strerror does ("No such file or
// directory"), so messages match the shell's and coreutils'.
func Strerror(err error) string {
	s := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s = errno.Error()
	}
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// DisplayCommand joins argv for display (the registry's "command"),
// quoting what a shell would need quoted.
func DisplayCommand(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]{}~!#") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}
