package launch

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/watchdog-run/watchdog/internal/tasklog"
	"github.com/watchdog-run/watchdog/supervise"
)

// OutputOptions are the options that pass the command's output through the
// watchdog (--log, --idle-timeout) or keep it from prompting
// (--non-interactive).
type OutputOptions struct {
	// Log is the file the output is kept in; empty: none. LogChosen: the
	// user named it (--log=FILE), so an existing file there is replaced,
	// as a shell's redirection would; the default path must be new.
	Log       string
	LogChosen bool
	LogMax    int64 // its size cap (--log-max)
	// Idle ends the task when its output has been silent this long.
	Idle           time.Duration
	NonInteractive bool
}

// passesOutput reports whether the output goes through the watchdog.
func (o OutputOptions) passesOutput() bool { return o.Log != "" || o.Idle > 0 }

// NonInteractiveEnv is what --non-interactive sets, over the caller's
// values, so that the usual tools fail instead of waiting for an answer
// (stdin is /dev/null as well). The README lists them.
var NonInteractiveEnv = []string{
	"GIT_TERMINAL_PROMPT=0",          // git: no username/password prompt
	"GIT_EDITOR=true",                // git commit/merge/rebase: no editor; an empty message aborts
	"GIT_SEQUENCE_EDITOR=true",       // git rebase -i: the todo list as it is
	"GIT_PAGER=cat",                  // git log/diff: no pager
	"GCM_INTERACTIVE=never",          // Git Credential Manager: no dialog
	"EDITOR=true",                    // crontab -e, visudo, many more
	"VISUAL=true",                    // ditto, preferred over EDITOR by some
	"PAGER=cat",                      // man, less-based tools
	"MANPAGER=cat",                   // man
	"SYSTEMD_PAGER=cat",              // systemctl, journalctl
	"DEBIAN_FRONTEND=noninteractive", // apt, dpkg: defaults instead of questions
	"PIP_NO_INPUT=1",                 // pip: no prompts
	"SSH_ASKPASS_REQUIRE=never",      // ssh: no askpass program
	"NPM_CONFIG_YES=false",           // npx: no "Ok to proceed?"; refuses instead
}

// withNonInteractive sets NonInteractiveEnv over env.
func withNonInteractive(env []string) []string {
	set := map[string]bool{}
	for _, kv := range NonInteractiveEnv {
		set[kv[:strings.IndexByte(kv, '=')+1]] = true
	}
	out := make([]string, 0, len(env)+len(NonInteractiveEnv))
	for _, kv := range env {
		if i := strings.IndexByte(kv, '='); i >= 0 && set[kv[:i+1]] {
			continue
		}
		out = append(out, kv)
	}
	return append(out, NonInteractiveEnv...)
}

// CreateLog makes the log file: a new one at the default path (its
// directory made if missing), or the file the user named (emptied if it
// exists); never through a symlink, never blocking on a FIFO.
func (o OutputOptions) CreateLog() (*tasklog.Writer, error) {
	if o.LogChosen {
		return tasklog.CreateAt(o.Log, o.LogMax, true)
	}
	return tasklog.Create(o.Log, o.LogMax)
}

// taskOutput is the output side of a native run: the pipes and the log.
type taskOutput struct {
	pipes   *supervise.Output
	log     *tasklog.Writer
	callers []*os.File // copies of the caller's stdout and stderr
	// callerStderr is the writer stderr replaced, for after close.
	callerStderr io.Writer
}

// stderr is where the run's own messages go while the output passes
// through the watchdog (the idle timeout's notice, --verbose, warnings
// before the end is recorded): the copy of the caller's stderr when w is
// this process's stderr. The caller's reader may be gone by then (`2>&1 |
// head -1`): through the copy that is an error, where a write to
// descriptor 2 would end the watchdog with SIGPIPE before it records the
// end, leaving the task running with no supervisor.
func (t *taskOutput) stderr(w io.Writer) io.Writer {
	t.callerStderr = w
	if f, ok := w.(*os.File); ok && f == os.Stderr && len(t.callers) == 2 {
		return t.callers[1]
	}
	return w
}

// openOutput makes what passes the output through the watchdog, when the
// options ask for it: the log file first (a log that cannot be made stops
// the run before anything starts), then the pipes. The caller's stdout and
// stderr are written through copies of their descriptors: Go ends a
// program that writes to a closed pipe on descriptor 1 or 2 itself, and
// the watchdog must live to record the end. A detached run passes nothing
// on: its output goes to the log alone.
func openOutput(o *Options, detached bool) (*taskOutput, error) {
	if !o.Output.passesOutput() {
		return nil, nil
	}
	t := &taskOutput{}
	var log io.Writer
	if o.Output.Log != "" {
		if !detached {
			if err := notYourStream(o.Output.Log); err != nil {
				return nil, notStarted{err}
			}
		}
		w, err := o.Output.CreateLog()
		if err != nil {
			return nil, notStarted{Failf("choose another file with --log=FILE", "cannot keep the log: %v", err)}
		}
		t.log, log = w, w
	}
	var stdout, stderr io.Writer
	if !detached {
		for fd := range 3 {
			if fd == 0 {
				continue
			}
			f, err := dupFile(fd)
			if err != nil {
				t.close()
				return nil, fmt.Errorf("cannot pass the output on: %w", err)
			}
			t.callers = append(t.callers, f)
		}
		stdout, stderr = t.callers[0], t.callers[1]
	}
	pipes, err := supervise.NewOutput(stdout, stderr, log)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("cannot pass the output on: %w", err)
	}
	t.pipes = pipes
	return t, nil
}

// notYourStream refuses a --log=FILE that is the caller's own stdout or
// stderr (`exec --log=out.txt -- make > out.txt`): the log's writes and
// the copies passed on to the caller would land in one file, each at its
// own offsets, garbling both (and with >> the log emptied what was there).
func notYourStream(path string) *ExitError {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return nil
	}
	for fd, name := range []string{1: "stdout", 2: "stderr"} {
		var s unix.Stat_t
		if name != "" && unix.Fstat(fd, &s) == nil && s.Dev == st.Dev && s.Ino == st.Ino {
			return Failf("leave out --log=FILE (your "+name+" keeps the output already), or give another file",
				"--log=%s is your %s: the output would be written into it twice", supervise.Escape(path), name)
		}
	}
	return nil
}

// dupFile is a copy of descriptor fd, close-on-exec.
func dupFile(fd int) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), fmt.Sprintf("fd %d", fd)), nil
}

// close releases the log and the copies; the pipes are the supervisor's.
func (t *taskOutput) close() error {
	var err error
	if t.log != nil {
		err = t.log.Close()
	}
	for _, f := range t.callers {
		f.Close()
	}
	return err
}
