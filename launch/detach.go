package launch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/watchdog-run/watchdog/supervise"
)

// A detached run (exec --detach) is two processes. The caller's watchdog
// (the foreground half) starts the watchdog again, with the same
// arguments, as the background half: in a session of its own, stdin and
// stdout from /dev/null, and a pipe on which it reports the start. The
// background half runs the task exactly as exec does, its output to the
// task's log alone, and reports once the start is recorded (or, with
// --ready-*, once the task is ready, or why it failed). The foreground
// half prints that report and exits; the task runs on, supervised.

// envReport names the background half's report pipe. It is removed from
// the environment before anything reads it further, so the command never
// inherits it.
const envReport = "WATCHDOG_DETACHED_REPORT"

// envTie carries --tie's process, resolved by the foreground half ("parent"
// is its parent, not the background half's), as PID.STARTTICKS.
const envTie = "WATCHDOG_DETACHED_TIE"

// DetachReport is what the background half tells the foreground half, and
// what the caller is told (exec --detach --json).
type DetachReport struct {
	ID    string `json:"id"`
	RunID string `json:"run_id,omitempty"`
	PID   int    `json:"pid,omitempty"`
	Log   string `json:"log,omitempty"`
	// Ready is how long after the start the task was ready (--ready-*).
	ReadySeconds *float64 `json:"ready_seconds,omitempty"`
	Port         int      `json:"port,omitempty"`
	// Reused: the task was already running and ready (--reuse).
	Reused bool `json:"reused,omitempty"`

	// A failure: the status to exit with and why; LogTail is the end of
	// the task's log when it ran and ended.
	Code    int      `json:"-"`
	Msg     string   `json:"-"`
	Hint    string   `json:"-"`
	LogTail []string `json:"-"`
}

// wireReport is a DetachReport on the pipe.
type wireReport struct {
	DetachReport
	Code    int      `json:"code,omitempty"`
	Msg     string   `json:"msg,omitempty"`
	Hint    string   `json:"hint,omitempty"`
	LogTail []string `json:"log_tail,omitempty"`
}

// Detach is the foreground half: it starts the background half with args
// (the watchdog's own, as given) and returns its report. tie, if set, is
// the process --tie names, resolved here.
func Detach(args []string, tie *Tie) (*DetachReport, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the watchdog's own binary to run in the background: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return nil, err
	}
	defer null.Close()
	env := append(os.Environ(), envReport+"=3")
	if tie != nil {
		env = append(env, envTie+"="+strconv.Itoa(tie.PID)+"."+strconv.FormatUint(tie.Ticks, 10))
	}
	_, err = syscall.ForkExec(self, args, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), w.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close() // the background half holds the only write end now
	if err != nil {
		return nil, fmt.Errorf("cannot start the background supervisor: %w", err)
	}
	// The background half is not waited for: it is reparented when this
	// process exits, and runs as long as its task does.
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return nil, fmt.Errorf("the background supervisor ended before it reported the start (see the registry and 'watchdog sweep')")
	}
	var rep wireReport
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("the background supervisor's report is garbled: %v", err)
	}
	out := rep.DetachReport
	out.Code, out.Msg, out.Hint, out.LogTail = rep.Code, rep.Msg, rep.Hint, rep.LogTail
	return &out, nil
}

// Background is the background half's side of the pipe; nil when this
// watchdog is not one.
type Background struct {
	pipe *os.File
	tie  *Tie
	sent bool
	log  io.Writer // the task's log, once there is one
}

// Stderr is where the background half's own messages go: the task's log
// once it is open (the caller is not there to read them), else nowhere
// (a failure before that is reported on the pipe).
func (b *Background) Stderr() io.Writer { return bgStderr{b} }

type bgStderr struct{ b *Background }

func (w bgStderr) Write(p []byte) (int, error) {
	if w.b.log != nil {
		return w.b.log.Write(p)
	}
	return len(p), nil
}

func (b *Background) logTo(w io.Writer) { b.log = w }

// BackgroundFromEnv returns the background half's pipe when this process
// is one (the environment says so), and removes the variables.
func BackgroundFromEnv() *Background {
	v, ok := os.LookupEnv(envReport)
	if !ok {
		return nil
	}
	os.Unsetenv(envReport)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	b := &Background{pipe: os.NewFile(uintptr(fd), "report")}
	syscall.CloseOnExec(fd)
	if t, ok := os.LookupEnv(envTie); ok {
		os.Unsetenv(envTie)
		if id, ok := supervise.ParseSupervisorTag(t); ok {
			b.tie = &Tie{PID: id.PID, Ticks: id.Ticks}
		}
	}
	return b
}

// Tie is the process --tie resolved to, from the foreground half.
func (b *Background) Tie() *Tie { return b.tie }

// Report sends the report, once; later reports are dropped.
func (b *Background) Report(rep DetachReport) {
	if b == nil || b.sent {
		return
	}
	b.sent = true
	w := wireReport{DetachReport: rep, Code: rep.Code, Msg: rep.Msg, Hint: rep.Hint, LogTail: rep.LogTail}
	line, _ := json.Marshal(w)
	_, _ = b.pipe.Write(append(line, '\n'))
	b.pipe.Close()
}

// Fail reports a run that ended before a report was sent: the start
// failed, or the task ended before it was ready.
func (b *Background) Fail(ee *ExitError) {
	b.Report(DetachReport{Code: ee.Code, Msg: ee.Msg, Hint: ee.Hint})
}

// WriteText prints a report as the caller reads it.
func (rep *DetachReport) WriteText(w io.Writer) {
	what := "started"
	if rep.Reused {
		what = "already running"
	}
	fmt.Fprintf(w, "%s %s (pid %d, run %s)\n", rep.ID, what, rep.PID, rep.RunID)
	if rep.ReadySeconds != nil {
		if rep.Port > 0 {
			fmt.Fprintf(w, "ready on port %d after %.2fs\n", rep.Port, *rep.ReadySeconds)
		} else {
			fmt.Fprintf(w, "ready after %.2fs\n", *rep.ReadySeconds)
		}
	}
	if rep.Log != "" {
		fmt.Fprintf(w, "log: %s\n", supervise.Escape(rep.Log))
	}
}
