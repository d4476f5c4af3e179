package launch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/watchdog-run/watchdog/registry"
	"github.com/watchdog-run/watchdog/supervise"
)

// A detached run (exec --detach) is two processes. The caller's watchdog
// (the foreground half) starts the watchdog again, with the same
// arguments, as the background half: in a session of its own, stdin,
// stdout and stderr from /dev/null, none of the caller's other
// descriptors, and a pipe on which it reports the start. The
// background half runs the task exactly as exec does, its output to the
// task's log alone, and reports once the start is recorded (or, with
// --ready-*, once the task is ready, or why it failed). The foreground
// half prints that report and exits; the task runs on, supervised.

// envReport names the background half's report pipe as FD:INODE: the
// descriptor and the pipe behind it. The background half believes it only
// when that descriptor is the write end of that very pipe, so a caller
// that sets the variable (or leaks it from an earlier run) cannot make a
// plain exec send its output to a log and write a report on whatever its
// descriptor 3 is. Both variables are removed from the environment before
// anything else reads it, so the command never inherits them.
const envReport = "WATCHDOG_DETACHED_REPORT"

// envTie carries --tie's process, resolved by the foreground half ("parent"
// is its parent, not the background half's), as PID.STARTTICKS.
const envTie = "WATCHDOG_DETACHED_TIE"

// reportFD is the background half's descriptor of the report pipe.
const reportFD = 3

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
// the process --tie names, resolved here. INT, TERM and HUP received while
// it waits are passed on to the background half, which passes them to
// the task: an interrupted wait for readiness ends the task rather than
// leave it running unannounced. A background half that ends without a
// report is a *BackgroundLost.
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
	ino, err := inode(w)
	if err != nil {
		w.Close()
		return nil, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return nil, err
	}
	defer null.Close()
	env := append(withoutDetachEnv(os.Environ()), envReport+"="+strconv.Itoa(reportFD)+":"+strconv.FormatUint(ino, 10))
	if tie != nil {
		env = append(env, envTie+"="+strconv.Itoa(tie.PID)+"."+strconv.FormatUint(tie.Ticks, 10))
	}
	closeInheritedOnExec()
	pid, err := syscall.ForkExec(self, args, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), w.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close() // the background half holds the only write end now
	if err != nil {
		return nil, fmt.Errorf("cannot start the background supervisor: %w", err)
	}
	// Unreaped, the child's identity stays readable (and its pid ours).
	ticks, _ := supervise.StartTicks(pid)
	stop := relaySignals(pid)
	line, err := bufio.NewReader(r).ReadBytes('\n')
	stop()
	if err != nil {
		// EOF: only the background half held the write end, so it has
		// ended (its task, if it started, runs on without it).
		return nil, &BackgroundLost{PID: pid, Ticks: ticks, How: reap(pid)}
	}
	// A background half that reported is not waited for: it is
	// reparented when this process exits, and runs as long as its task.
	var rep wireReport
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("the background supervisor's report is garbled: %v", err)
	}
	out := rep.DetachReport
	out.Code, out.Msg, out.Hint, out.LogTail = rep.Code, rep.Msg, rep.Hint, rep.LogTail
	return &out, nil
}

// BackgroundLost is Detach's error when the background half ended without
// a report (it was killed, say): whether the task started is for the
// registry to tell (FindBySupervisor).
type BackgroundLost struct {
	PID   int
	Ticks uint64
	How   string // how it ended: "was killed by signal KILL"
}

func (e *BackgroundLost) Error() string {
	return fmt.Sprintf("the background supervisor (pid %d) %s before it reported the start", e.PID, e.How)
}

// FindBySupervisor is the id of the running task whose recorded
// supervisor is pid, started at ticks; "" if none.
func FindBySupervisor(store *registry.Store, pid int, ticks uint64) (string, error) {
	r, err := store.Read()
	if err != nil {
		return "", err
	}
	for _, id := range r.IDs() {
		if status, _, ok := r.Peek(id); !ok || status != registry.StatusRunning {
			continue
		}
		t, err := r.Get(id)
		if err == nil && t != nil && t.Supervisor != nil && t.Supervisor.PID == pid && t.Supervisor.StartTicks == ticks {
			return id, nil
		}
	}
	return "", nil
}

// reap waits for the background half, which closed the report pipe
// without a report, and says how it ended.
func reap(pid int) string {
	how := make(chan string, 1)
	go func() {
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(pid, &ws, 0, nil)
			switch {
			case err == syscall.EINTR:
				continue
			case err != nil:
				how <- "ended"
			case ws.Signaled():
				how <- "was killed by signal " + supervise.SignalName(ws.Signal())
			default:
				how <- fmt.Sprintf("exited with status %d", ws.ExitStatus())
			}
			return
		}
	}()
	select {
	case s := <-how:
		return s
	case <-time.After(2 * time.Second):
		// Closed its pipe and runs on: never the watchdog's own doing.
		return "closed its report pipe"
	}
}

// relaySignals passes INT, TERM and HUP on to pid until stop is called.
func relaySignals(pid int) (stop func()) {
	c := make(chan os.Signal, 8)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-c:
				_ = syscall.Kill(pid, s.(syscall.Signal)) // our unreaped child: the pid is its
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(c)
		close(done)
	}
}

// withoutDetachEnv is env without the background half's variables, however
// often and wherever they appear.
func withoutDetachEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k != envReport && k != envTie {
			out = append(out, kv)
		}
	}
	return out
}

// closeInheritedOnExec marks every descriptor from 3 up close-on-exec.
// What the caller passed the watchdog beyond stdin, stdout and stderr (a
// pipe a shell's $(...) or a pipeline reads to its end, a jobserver) must
// not be held by the background half and its task for as long as they
// run. The foreground half exits soon; its own descriptors are
// close-on-exec already.
func closeInheritedOnExec() {
	ents, err := os.ReadDir("/dev/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// inode is the identity of the pipe behind f.
func inode(f *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return uint64(st.Ino), nil
}

// isReportPipe reports whether fd is the write end of the pipe whose
// inode is ino: the proof that this process is a background half.
func isReportPipe(fd int, ino uint64) bool {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || uint32(st.Mode)&unix.S_IFMT != unix.S_IFIFO || uint64(st.Ino) != ino {
		return false
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_ACCMODE == unix.O_WRONLY
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
// is one: the environment names the pipe, and the descriptor is its write
// end. It removes the variables in every case.
func BackgroundFromEnv() *Background {
	v, ok := os.LookupEnv(envReport)
	tie, tied := os.LookupEnv(envTie)
	os.Unsetenv(envReport)
	os.Unsetenv(envTie)
	if !ok {
		return nil
	}
	fd, ino, ok := parseReportEnv(v)
	if !ok || !isReportPipe(fd, ino) {
		return nil // not ours to write on, nor to close
	}
	syscall.CloseOnExec(fd)
	b := &Background{pipe: os.NewFile(uintptr(fd), "report")}
	if tied {
		if id, ok := supervise.ParseSupervisorTag(tie); ok {
			b.tie = &Tie{PID: id.PID, Ticks: id.Ticks}
		}
	}
	return b
}

// parseReportEnv reads envReport's FD:INODE.
func parseReportEnv(v string) (fd int, ino uint64, ok bool) {
	f, i, found := strings.Cut(v, ":")
	fd, err1 := strconv.Atoi(f)
	ino, err2 := strconv.ParseUint(i, 10, 64)
	return fd, ino, found && err1 == nil && err2 == nil && fd > 2
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
